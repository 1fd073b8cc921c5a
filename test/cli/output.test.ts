// Formatting and settings of the CLI, in-process: tables, blocks, errors, and where the server
// and token come from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, ConnectionError, normaliseServerUrl, type Resource } from '../../src/cli/api-client.js';
import { CliError, cliConfigPath, resolveConnection, tokenHint } from '../../src/cli/cli-config.js';
import { formatValue, humanise, printError, renderBlock, renderTable, resourcePairs, type Streams } from '../../src/cli/output.js';

function capture(): Streams & { stdout: string; stderr: string } {
  const s = { stdout: '', stderr: '', out: (t: string) => void (s.stdout += t), err: (t: string) => void (s.stderr += t) };
  return s;
}

test('renderTable aligns columns under their headers', () => {
  const text = renderTable([{ a: 'x', b: 'longer value', c: null }, { a: 'wider cell', b: 'y', c: ['p', 'q'] }], [
    { header: 'A', value: (r) => r.a },
    { header: 'B', value: (r) => r.b },
    { header: 'C', value: (r) => r.c },
  ]);
  assert.equal(text, [
    'A           B             C',
    'x           longer value  -',
    'wider cell  y             p, q',
    '',
  ].join('\n'));
});

test('renderBlock aligns values and indents continuation lines', () => {
  assert.equal(renderBlock([['id', 'abc'], ['long label', 'one\ntwo'], ['n', 3]]), 'id:         abc\nlong label: one\n            two\nn:          3\n');
});

test('formatValue: dates lose milliseconds, nothing is "-", objects are key=value without secrets', () => {
  assert.equal(formatValue('2026-11-26T01:30:00.123Z'), '2026-11-26T01:30:00Z');
  assert.equal(formatValue(null), '-');
  assert.equal(formatValue([]), '-');
  assert.equal(formatValue({ keyId: 'kid-1', keySecret: 's3cret' }), 'keyId=kid-1');
  assert.equal(humanise('subjectAlternativeNames'), 'subject alternative names');
  assert.equal(humanise('fingerprintSha256'), 'fingerprint sha256');
});

test('resourcePairs puts id, name, state and message first and never a private key', () => {
  const res: Resource = {
    id: 'i', type: 'certificate', href: '/x',
    metadata: { createdDate: 'd', state: 'AVAILABLE', message: 'ok' },
    properties: { name: 'n', certificate: 'PEM', privateKey: '-----BEGIN PRIVATE KEY-----' },
  };
  const pairs = resourcePairs(res, ['certificate']);
  assert.deepEqual(pairs.map(([k]) => k), ['id', 'name', 'state', 'message', 'created date']);
});

test('printError: detail, one line per field error, the 401 hint, and the problem on stdout with --json', () => {
  const s = capture();
  const body = JSON.stringify({ status: 400, detail: 'the request has 1 invalid field(s)', code: 'validation_failed', errors: [{ field: 'properties.name', message: 'required' }] });
  const code = printError(s, new ApiError(400, JSON.parse(body), body), { json: true });
  assert.equal(code, 1);
  assert.equal(s.stderr, 'error: the request has 1 invalid field(s)\n  - properties.name: required\n');
  assert.deepEqual(JSON.parse(s.stdout), JSON.parse(body));

  const u = capture();
  printError(u, new ApiError(401, { status: 401, detail: 'send a token' }, ''), { hint401: tokenHint('none', '/h/cli.yaml') });
  assert.match(u.stderr, /^error: send a token\nhint: no API token was given; set it with --token, the CERTKEEPER_TOKEN/);
  assert.equal(u.stdout, '');

  const c = capture();
  assert.equal(printError(c, new ConnectionError('cannot connect')), 1);
  assert.equal(printError(c, new CliError('timed out', 2)), 2);
  assert.equal(c.stderr, 'error: cannot connect\nerror: timed out\n');
});

test('resolveConnection: flag, then CERTKEEPER_TOKEN, then CERTKEEPER_ADMIN_TOKEN, then the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-cli-config-'));
  try {
    const file = join(dir, 'cli.yaml');
    writeFileSync(file, 'server: http://file.example:8080\ntoken: from-file\n');
    const env = { CERTKEEPER_CLI_CONFIG: file };
    assert.deepEqual(resolveConnection({}, env), { server: 'http://file.example:8080', token: 'from-file', tokenSource: 'config', configPath: file });
    assert.equal(resolveConnection({}, { ...env, CERTKEEPER_ADMIN_TOKEN: 'adm' }).token, 'adm');
    assert.equal(resolveConnection({}, { ...env, CERTKEEPER_ADMIN_TOKEN: 'adm', CERTKEEPER_TOKEN: 'tok' }).tokenSource, 'CERTKEEPER_TOKEN');
    const flagged = resolveConnection({ token: 'f', server: 'http://flag:1' }, { ...env, CERTKEEPER_TOKEN: 'tok', CERTKEEPER_SERVER: 'http://env:2' });
    assert.deepEqual([flagged.server, flagged.token, flagged.tokenSource], ['http://flag:1', 'f', 'flag']);
    assert.equal(resolveConnection({}, { ...env, CERTKEEPER_SERVER: 'http://env:2' }).server, 'http://env:2');
    assert.deepEqual(resolveConnection({}, { CERTKEEPER_CLI_CONFIG: join(dir, 'missing.yaml') }), { server: 'http://127.0.0.1:8080', token: null, tokenSource: 'none', configPath: join(dir, 'missing.yaml') });
    writeFileSync(file, 'token: [1, 2]\n');
    assert.throws(() => resolveConnection({}, env), /"token" must be a string/);
    assert.equal(cliConfigPath({ HOME: '/home/u' }), '/home/u/.config/certkeeper/cli.yaml');
    assert.equal(cliConfigPath({ HOME: '/home/u', XDG_CONFIG_HOME: '/x' }), '/x/certkeeper/cli.yaml');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('normaliseServerUrl drops a trailing slash and /api/v1, and refuses non-http URLs', () => {
  assert.equal(normaliseServerUrl('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080');
  assert.equal(normaliseServerUrl('https://ck.example.com/certkeeper/api/v1/'), 'https://ck.example.com/certkeeper');
  assert.throws(() => normaliseServerUrl('ftp://x'), /not an http/);
  assert.throws(() => normaliseServerUrl('localhost:8080x'), ConnectionError);
});
