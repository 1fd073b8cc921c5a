// The input rules of `dns-zones create|update` (and `notification-channels create|update`, which
// share them), in-process: how --setting values are typed, list and text keys, --setting-file,
// --settings-json, editing the current settings, credentials from flags and files, and zone names
// as the server stores them; and the block of a zone, which never shows credentials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '../../src/cli/api-client.js';
import { CliError } from '../../src/cli/cli-config.js';
import { dnsZoneBlock, normaliseZoneName } from '../../src/cli/dns-zones-commands.js';
import { credentialsFrom, credentialsOf, editedSettings, parseSettingsJson, settingsFrom, settingsOf, settingValue } from '../../src/cli/key-values.js';

test('--setting values: true/false and plain decimal numbers are typed, everything else is text', () => {
  assert.equal(settingValue('true'), true);
  assert.equal(settingValue('false'), false);
  assert.equal(settingValue('60'), 60);
  assert.equal(settingValue('-1'), -1);
  assert.equal(settingValue('0'), 0);
  assert.equal(settingValue('2.5'), 2.5);
  for (const text of ['True', 'yes', '0123', '1e3', '0x10', '12345678901234567890', '1.', '.5', ' 5', '', 'hmac-sha256', '127.0.0.1:53', 'http://127.0.0.1:8081']) {
    assert.equal(settingValue(text), text, `"${text}" stays text`);
  }
  assert.deepEqual(settingsOf(['nameserver=127.0.0.1:53', 'timeoutSeconds=30', 'flag=true', 'eq=a=b', 'empty=']), { nameserver: '127.0.0.1:53', timeoutSeconds: 30, flag: true, eq: 'a=b', empty: '' });
  assert.throws(() => settingsOf(['a=1', 'a=2']), (e: unknown) => e instanceof CliError && /--setting a is given twice/.test(e.message));
  assert.throws(() => settingsOf(['=x']), /--setting expects key=value, got "=x"/);
});

test('--settings-json must be a JSON object', () => {
  assert.deepEqual(parseSettingsJson('{"serverId":"1","args":["--quiet"]}'), { serverId: '1', args: ['--quiet'] });
  assert.throws(() => parseSettingsJson('{nope'), /--settings-json is not valid JSON/);
  assert.throws(() => parseSettingsJson('[1]'), /--settings-json must be a JSON object/);
  assert.throws(() => parseSettingsJson('null'), /--settings-json must be a JSON object/);
});

test('credentials: values are text, files lose one trailing line break, a key goes once, errors never echo a value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-cli-cred-'));
  try {
    writeFileSync(join(dir, 'secret'), 'c2VjcmV0\n');
    writeFileSync(join(dir, 'pem'), 'line 1\nline 2\n\n');
    assert.deepEqual(credentialsOf(['apiKey=123', 'token=a=b'], [`tsigSecret=${join(dir, 'secret')}`, `pem=${join(dir, 'pem')}`]), { apiKey: '123', token: 'a=b', tsigSecret: 'c2VjcmV0', pem: 'line 1\nline 2\n' });
    assert.throws(() => credentialsOf(['apiKey=1'], [`apiKey=${join(dir, 'secret')}`]), /credential apiKey is given twice/);
    assert.throws(() => credentialsOf([], [`k=${join(dir, 'missing')}`]), /cannot read credential k file .*missing: no such file/);
    assert.throws(() => credentialsOf(['s3cretWithoutKey'], []), (e: unknown) => e instanceof CliError && e.message === '--credential expects key=value');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('setting shapes (notification channels): list keys take one entry per --setting, text keys stay text; --setting-file reads text', () => {
  const shapes = { lists: ['to'], text: ['chatId'] };
  assert.deepEqual(settingsOf(['to=a@example.com', 'chatId=-100123', 'to=B <b@example.com>', 'smtpPort=25'], shapes), { to: ['a@example.com', 'B <b@example.com>'], chatId: '-100123', smtpPort: 25 });
  assert.throws(() => settingsOf(['chatId=1', 'chatId=2'], shapes), /--setting chatId is given twice/);
  const dir = mkdtempSync(join(tmpdir(), 'ck-cli-setting-'));
  try {
    writeFileSync(join(dir, 'url'), 'https://hooks.example.com/T0/B0/x\n');
    writeFileSync(join(dir, 'num'), '42\n');
    assert.deepEqual(settingsFrom({ setting: ['preset=slack'], settingFile: [`url=${join(dir, 'url')}`, `n=${join(dir, 'num')}`], settingsJson: '{"url": "old", "keep": 1}' }), { url: 'https://hooks.example.com/T0/B0/x', keep: 1, preset: 'slack', n: '42' });
    assert.throws(() => settingsFrom({ setting: ['url=x'], settingFile: [`url=${join(dir, 'url')}`] }), /--setting url is given twice \(--setting-file\)/);
    assert.throws(() => settingsFrom({ settingFile: [`url=${join(dir, 'missing')}`] }), /cannot read setting url file .*missing: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('edited settings: --setting and --unset-setting edit the current ones, --settings-json replaces them, no flag changes nothing', async () => {
  const current = async () => ({ to: ['a@example.com'], from: 'ck@example.com', smtpPort: 587 });
  assert.equal(await editedSettings({}, current, 'channel'), undefined);
  assert.deepEqual(await editedSettings({ setting: ['to=b@example.com', 'to=c@example.com'], unsetSetting: ['smtpPort'] }, current, 'channel', { lists: ['to'] }), { to: ['b@example.com', 'c@example.com'], from: 'ck@example.com' });
  assert.deepEqual(await editedSettings({ settingsJson: '{"x": 1}', setting: ['y=2'] }, () => assert.fail('not read'), 'channel'), { x: 1, y: 2 });
  await assert.rejects(editedSettings({ unsetSetting: ['nope'] }, current, 'channel'), /--unset-setting nope: the channel has no setting nope/);
  await assert.rejects(editedSettings({ setting: ['from=x@example.com'], unsetSetting: ['from'] }, current, 'channel'), /--setting from and --unset-setting from contradict each other/);
});

test('credentials of a create or update: none given, given, or cleared', () => {
  assert.equal(credentialsFrom({}), undefined);
  assert.deepEqual(credentialsFrom({ credential: ['secret=0123456789abcdef'] }), { secret: '0123456789abcdef' });
  assert.deepEqual(credentialsFrom({ clearCredentials: true }), {});
  assert.throws(() => credentialsFrom({ clearCredentials: true, credential: ['a=b'] }), /--clear-credentials excludes --credential and --credential-file/);
});

test('zone names are looked up as the server stores them', () => {
  assert.equal(normaliseZoneName('Example.COM.'), 'example.com');
  assert.equal(normaliseZoneName('bücher.example'), 'xn--bcher-kva.example');
});

test('a zone block: zone, provider, state, message, last check first; settings one a line; credentials only as set or none', () => {
  const res: Resource = {
    id: 'z1', type: 'dns-zone', href: '/api/v1/dns-zones/z1',
    metadata: { state: 'AVAILABLE', message: 'ok', lastCheck: '2026-11-26T01:30:00.000Z', credentialsSet: true, createdDate: '2026-11-26T01:00:00.000Z' },
    properties: { zoneName: 'example.com', provider: 'rfc2136', settings: { nameserver: '127.0.0.1:53', tsigKeyName: 'k' }, credentials: { tsigSecret: 'LEAK' }, enabled: true, resolvers: [], propagationTimeoutSeconds: 300, extraDelaySeconds: 0 },
  };
  const text = dnsZoneBlock(res);
  assert.match(text, /^id:\s+z1\nzone:\s+example\.com\nprovider:\s+rfc2136\nstate:\s+AVAILABLE\nmessage:\s+ok\nlast check:\s+2026-11-26T01:30:00Z\n/);
  assert.match(text, /^settings:\s+nameserver=127\.0\.0\.1:53\n\s+tsigKeyName=k$/m);
  assert.match(text, /^credentials:\s+set \(write-only, never shown\)$/m);
  assert.match(text, /^created date:\s+2026-11-26T01:00:00Z$/m);
  assert.doesNotMatch(text, /LEAK|tsigSecret/);
});
