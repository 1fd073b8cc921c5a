// No secret in the logs: a real `certkeeper serve` process at log level trace, driven through a
// representative session (EAB provider at Pebble, DNS zones whose APIs echo their credentials,
// notification channels, certificate import and export with keys, users, logins, API tokens,
// bad requests that echo input). Then every secret used is looked for in the whole captured log.
// Needs the build (`node scripts/ensure-built.mjs`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeChain, makePkcs12 } from '../harness/openssl-ca.js';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startServeProcess, type ServeProcess } from '../harness/serve-process.js';

const secret = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;
const S = {
  adminToken: secret('adm'),
  masterKey: randomBytes(32).toString('base64'),
  eabSecret: randomBytes(32).toString('base64url'),
  wrongEabSecret: randomBytes(32).toString('base64url'),
  pdnsApiKey: secret('pdns'),
  ionosToken: secret('ionos'),
  tsigSecret: randomBytes(32).toString('base64'),
  awsSecretAccessKey: secret('aws'),
  webhookSecret: secret('hook'),
  webhookPath: secret('path'),
  ntfyToken: secret('ntfy'),
  smtpPassword: secret('smtp'),
  p12Password: secret('p12'),
  exportPassword: secret('exp'),
  userPassword: `${secret('pw')}-Aa1!`,
  newPassword: `${secret('npw')}-Aa1!`,
  wrongPassword: `${secret('wpw')}-Aa1!`,
  bogusInvitation: secret('cki_'),
  bogusBearer: secret('ckt_'),
};
/** Secrets the server hands out during the session (invitation, session cookie, CSRF token, API token). */
const issued: Record<string, string> = {};

let pebble: PebbleHandle;
let proc: ServeProcess;
let echo: Server;
let api: string;
let dataDir: string;
const logFile = join(mkdtempSync(join(tmpdir(), 'ck-logs-')), 'certkeeper.log');
const chain = makeChain('logs.example.com', ['www.logs.example.com']);
/** The base64 lines of a private key PEM, less any that the (public) certificate also holds: an EC key embeds its public key. */
const keyLines = (pem: string, publicPem: string) => pem.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----') && !publicPem.includes(l));

/** What the echo server received (to show the secrets did travel). */
const received: string[] = [];

/** A vendor API that answers every call with an error quoting the credentials it was sent. */
function startEcho(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(`${req.url} ${JSON.stringify(req.headers)} ${body}`);
      res.writeHead(req.url?.includes('/hooks/') ? 500 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `refused ${req.method} ${req.url}: key ${req.headers['x-api-key'] ?? ''} auth ${req.headers.authorization ?? ''} body ${body}` }));
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  // An empty header value means "send none" (public calls and cookie sessions carry no bearer token).
  const all = Object.fromEntries(Object.entries({ authorization: `Bearer ${S.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }).filter(([, v]) => v !== ''));
  const res = await fetch(`${api}${path}`, {
    method,
    headers: all,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: any = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

async function waitState(path: string, done: (state: string) => boolean): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const r = await call('GET', path);
    if (r.status === 200 && done(r.body.metadata.state)) return r.body;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${path} did not reach the state`);
}

before(async () => {
  pebble = await startPebble({ httpPort: await freePort(), eab: { 'kid-1': S.eabSecret } });
  echo = await startEcho();
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  dataDir = mkdtempSync(join(tmpdir(), 'ck-data-'));
  proc = await startServeProcess({
    CERTKEEPER_LISTEN: `127.0.0.1:${port}`,
    CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${await freePort()}`,
    CERTKEEPER_DATA_DIR: dataDir,
    CERTKEEPER_ADMIN_TOKEN: S.adminToken,
    CERTKEEPER_MASTER_KEY: S.masterKey,
    CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1',
    CERTKEEPER_LOG_LEVEL: 'trace',
  }, api);
});

after(async () => {
  await proc?.stop();
  await pebble?.stop();
  echo?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('a representative session leaves no secret in the log', async () => {
  const echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;

  // Providers: EAB at Pebble (AVAILABLE), and a wrong EAB secret (FAILED: the error path logs more).
  const p = await call('POST', '/api/v1/providers', { properties: { name: 'pebble', email: 'ops@example.com', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem, externalAccountBinding: { keyId: 'kid-1', keySecret: S.eabSecret } } });
  assert.equal(p.status, 202, JSON.stringify(p.body));
  assert.equal((await waitState(`/api/v1/providers/${p.body.id}`, (s) => s !== 'PROVISIONING')).metadata.state, 'AVAILABLE');
  const bad = await call('POST', '/api/v1/providers', { properties: { name: 'pebble-bad', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem, externalAccountBinding: { keyId: 'kid-1', keySecret: S.wrongEabSecret } } });
  assert.equal(bad.status, 202);
  assert.equal((await waitState(`/api/v1/providers/${bad.body.id}`, (s) => s !== 'PROVISIONING')).metadata.state, 'FAILED');

  // DNS zones whose checks fail against an API that quotes the credentials back.
  const zones = [
    { zoneName: 'pdns.example', provider: 'powerdns', settings: { apiUrl: echoUrl }, credentials: { apiKey: S.pdnsApiKey } },
    { zoneName: 'ionos.example', provider: 'ionos', settings: { apiUrl: echoUrl }, credentials: { token: S.ionosToken } },
    { zoneName: 'aws.example', provider: 'route53', settings: { endpoint: echoUrl, hostedZoneId: 'Z1' }, credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: S.awsSecretAccessKey } },
    { zoneName: 'bind.example', provider: 'rfc2136', settings: { nameserver: '127.0.0.1:1', tsigKeyName: 'k', timeoutSeconds: 1 }, credentials: { tsigSecret: S.tsigSecret } },
  ];
  for (const z of zones) {
    const r = await call('POST', '/api/v1/dns-zones', { properties: z });
    assert.ok(r.status === 201 || r.status === 202, `${z.provider}: ${r.status} ${JSON.stringify(r.body)}`);
    await call('POST', `/api/v1/dns-zones/${r.body.id}/check`);
  }

  // Notification channels with secrets, each tested (the deliveries fail and are logged).
  const channels = [
    { name: 'hook', type: 'webhook', settings: { preset: 'generic', url: `${echoUrl}/hooks/${S.webhookPath}` }, credentials: { secret: S.webhookSecret } },
    { name: 'ntfy', type: 'webhook', settings: { preset: 'ntfy', url: `${echoUrl}/hooks/ntfy` }, credentials: { token: S.ntfyToken } },
    { name: 'mail', type: 'email', settings: { to: ['ops@example.com'], from: 'ck@example.com', smtpHost: '127.0.0.1', smtpPort: 1, starttls: 'never' }, credentials: { smtpUser: 'ck', smtpPassword: S.smtpPassword } },
  ];
  for (const c of channels) {
    const r = await call('POST', '/api/v1/notification-channels', { properties: c });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await call('POST', `/api/v1/notification-channels/${r.body.id}/test`);
  }

  // Certificates: PEM and PKCS#12 import with keys, export with the key (PEM and PKCS#12).
  const imp = await call('POST', '/api/v1/certificates', { properties: { name: 'logs', certificate: chain.leafPem, certificateChain: chain.intermediatePem, privateKey: chain.leafKeyPem } });
  assert.equal(imp.status, 201, JSON.stringify(imp.body));
  const other = makeChain('p12.logs.example.com');
  assert.equal((await call('POST', '/api/v1/certificates', { properties: { pkcs12: makePkcs12(other, S.p12Password).toString('base64'), password: S.p12Password } })).status, 201);
  assert.equal((await call('POST', '/api/v1/certificates', { properties: { pkcs12: makePkcs12(other, S.p12Password).toString('base64'), password: S.wrongPassword } })).status, 422);
  assert.equal((await call('POST', '/api/v1/certificates', { properties: { certificate: chain.leafPem, privateKey: chain.otherKeyPem } })).status, 422);
  const pem = await call('POST', `/api/v1/certificates/${imp.body.id}/export`, { format: 'pem', includePrivateKey: true });
  assert.equal(pem.status, 200);
  assert.equal((await call('POST', `/api/v1/certificates/${imp.body.id}/export`, { format: 'pkcs12', includePrivateKey: true, password: S.exportPassword })).status, 200);

  // Users: invitation, activation, login (cookie + CSRF), a password change, failed logins.
  const u = await call('POST', '/api/v1/users', { properties: { email: 'alice@example.com', role: 'operator' } });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  issued.invitation = u.body.properties.invitation.token;
  assert.equal((await call('POST', '/api/v1/users/activate', { invitation: issued.invitation, password: S.userPassword }, { authorization: '' })).status, 200);
  assert.equal((await call('POST', '/api/v1/users/activate', { invitation: S.bogusInvitation, password: S.userPassword }, { authorization: '' })).status >= 400, true);
  assert.equal((await call('POST', '/api/v1/sessions', { email: 'alice@example.com', password: S.wrongPassword }, { authorization: '' })).status, 401);
  const login = await call('POST', '/api/v1/sessions', { email: 'alice@example.com', password: S.userPassword }, { authorization: '' });
  assert.equal(login.status, 201, JSON.stringify(login.body));
  issued.session = /certkeeper_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')![1]!;
  issued.csrf = login.body.properties.csrfToken;
  const cookie = { authorization: '', cookie: `certkeeper_session=${issued.session}` };
  assert.equal((await call('GET', '/api/v1/me', undefined, cookie)).status, 200);
  assert.equal((await call('POST', '/api/v1/me/password', { currentPassword: S.userPassword, newPassword: S.newPassword }, { ...cookie, 'x-csrf-token': issued.csrf! })).status, 204);
  assert.equal((await call('POST', '/api/v1/me/password', { currentPassword: S.userPassword, newPassword: S.newPassword }, { ...cookie, 'x-csrf-token': S.bogusBearer })).status, 403);

  // API tokens: create one, use it, and a bogus one.
  const t = await call('POST', '/api/v1/tokens', { properties: { name: 'ci', role: 'viewer' } });
  assert.equal(t.status, 201, JSON.stringify(t.body));
  issued.apiToken = t.body.properties.token;
  assert.equal((await call('GET', '/api/v1/certificates', undefined, { authorization: `Bearer ${issued.apiToken}` })).status, 200);
  assert.equal((await call('GET', '/api/v1/certificates', undefined, { authorization: `Bearer ${S.bogusBearer}` })).status, 401);

  // Bad requests whose answers echo the input.
  await call('POST', '/api/v1/sessions', `{"email": "alice@example.com", "password": ${S.wrongPassword}}`, { authorization: '' });
  await call('POST', '/api/v1/sessions', `{"email": "alice@example.com", "password": "${S.wrongPassword}"`, { authorization: '' });
  await call('POST', '/api/v1/providers', { properties: { name: 'x', server: 'not a url', externalAccountBinding: { keyId: 'k', keySecret: S.wrongEabSecret, extra: S.wrongEabSecret } } });
  await call('POST', '/api/v1/dns-zones', { properties: { zoneName: 'bad..example', provider: 'powerdns', settings: { apiUrl: echoUrl }, credentials: { apiKey: S.pdnsApiKey, nope: S.pdnsApiKey } } });
  await call('POST', '/api/v1/certificates', { properties: { certificate: 'garbage', privateKey: chain.leafKeyPem, password: S.p12Password } });
  await call('POST', '/api/v1/users/activate', { invitation: S.bogusInvitation, password: S.wrongPassword, extra: S.wrongPassword }, { authorization: '' });

  // Let the deliveries' retries and the checks log, then stop the server so every line is out.
  await new Promise((r) => setTimeout(r, 1500));
  for (const name of ['pdnsApiKey', 'ionosToken', 'ntfyToken', 'webhookPath'] as const) {
    assert.ok(received.some((r) => r.includes(S[name])), `${name} was sent to the (echoing) API`);
  }
  await proc.stop();
  writeFileSync(logFile, proc.output());
  const log = readFileSync(logFile, 'utf8');
  assert.ok(log.split('\n').length > 100, `the log has lines (${log.length} characters)`);
  assert.match(log, /"level":10|"level":20/, 'trace or debug lines were written');

  const wanted: [string, string][] = [
    ...Object.entries(S),
    ...Object.entries(issued),
    ...keyLines(chain.leafKeyPem, chain.leafPem).map((l, i): [string, string] => [`imported private key line ${i}`, l]),
    ...keyLines(other.leafKeyPem, other.leafPem).map((l, i): [string, string] => [`PKCS#12 private key line ${i}`, l]),
  ];
  const found = wanted.filter(([, value]) => log.includes(value)).map(([name, value]) => {
    const at = log.indexOf(value);
    return `${name}: …${log.slice(Math.max(0, at - 200), at + value.length + 40)}…`;
  });
  assert.deepEqual(found, [], `secrets found in ${logFile}:\n${found.join('\n\n')}`);
});
