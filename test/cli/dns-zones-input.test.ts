// The input rules of `dns-zones create|update`, in-process: how --setting values are typed,
// --settings-json, credentials from flags and files, and zone names as the server stores them;
// and the block of a zone, which never shows credentials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '../../src/cli/api-client.js';
import { CliError } from '../../src/cli/cli-config.js';
import { dnsZoneBlock, normaliseZoneName } from '../../src/cli/dns-zones-commands.js';
import { credentialsOf, parseSettingsJson, settingsOf, settingValue } from '../../src/cli/key-values.js';

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
