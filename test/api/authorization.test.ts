// The authorization matrix: every route of the API (taken from the served OpenAPI document, so a
// new route cannot go untested) × every role (admin, operator, viewer, consumer). Allowed calls are
// never 401/403; denied calls are 403 forbidden problems and change nothing. Tenant isolation: an
// admin of tenant B gets for every object of tenant A the very 404 a missing id gets, finds none of
// them in its lists, cannot reference them, and changes none of them. Consumer scope, token expiry
// and revocation, sessions, HEAD and /metrics complete the picture.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCertkeeper, type ApiResponse, type CertkeeperHandle } from '../harness/certkeeper.js';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { makeChain, type TestChain } from '../harness/openssl-ca.js';
import { startWebhookReceiver, type WebhookReceiver } from '../notify/webhook-receiver.js';
import { cliRunner, expectOk } from '../cli/run-cli.js';

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
/** `agent`: the agent protocol, open to an agent's credential only: every API token and session gets 401. */
type Need = 'read' | 'operate' | 'administer' | 'public' | 'agent';
type Kind = 'provider' | 'dnsZone' | 'autoCertificate' | 'certificate' | 'channel' | 'token' | 'user' | 'agent' | 'deploymentTarget' | 'deployment';
type MatrixRole = 'admin' | 'operator' | 'viewer' | 'consumer';

interface Row {
  method: Method;
  /** The path as the OpenAPI document spells it. */
  route: string;
  /** What the route needs (docs/access.md), written down here independently of the code. */
  need: Need;
  /** A consumer token scoped to auto certificate X (without the private key) may call it. */
  consumer?: boolean;
  /** Tells apart several rows of one route (export with or without the key). */
  variant?: string;
  /** What `{id}` names. */
  target?: Kind;
  /** An allowed call changes or removes its target: it gets a fresh object instead of the shared one. */
  mutates?: boolean;
  body?: () => unknown;
  /** Statuses an allowed call must answer with; default: anything but 401, 403, 404 and 5xx (502 passes). */
  expect?: number[];
}

let seq = 0;
const uniq = (prefix: string) => `${prefix}-${++seq}`;
const DEAD_CA = 'https://127.0.0.1:1/directory';
const PASSWORD = 'a long passphrase for the matrix 42';
const fixtures = fileURLToPath(new URL('../dns/fixtures/exec/', import.meta.url));
const zoneStore = mkdtempSync(join(tmpdir(), 'ck-authz-zones-'));
const execSettings = { command: join(fixtures, 'txt-store.mjs'), environment: [`CK_STORE_DIR=${zoneStore}`] };

let chain: TestChain;
let rx: WebhookReceiver;
const importBody = () => ({ properties: { name: uniq('imported'), certificate: chain.leafPem, certificateChain: chain.intermediatePem, privateKey: chain.leafKeyPem } });

const ROWS: Row[] = [
  { method: 'GET', route: '/api/v1/providers', need: 'read' },
  { method: 'POST', route: '/api/v1/providers', need: 'administer', body: () => ({ properties: { name: uniq('provider'), server: DEAD_CA } }) },
  { method: 'GET', route: '/api/v1/providers/{id}', need: 'read', target: 'provider' },
  { method: 'PATCH', route: '/api/v1/providers/{id}', need: 'administer', target: 'provider', mutates: true, body: () => ({ properties: { name: uniq('renamed') } }) },
  { method: 'DELETE', route: '/api/v1/providers/{id}', need: 'administer', target: 'provider', mutates: true },

  { method: 'GET', route: '/api/v1/auto-certificates', need: 'read', consumer: true },
  { method: 'POST', route: '/api/v1/auto-certificates', need: 'operate', body: () => { const n = uniq('ac'); return { properties: { name: n, provider: 'silent', commonName: `${n}.authz.example`, challengeType: 'http-01' } }; } },
  { method: 'GET', route: '/api/v1/auto-certificates/{id}', need: 'read', consumer: true, target: 'autoCertificate' },
  { method: 'PATCH', route: '/api/v1/auto-certificates/{id}', need: 'operate', target: 'autoCertificate', mutates: true, body: () => ({ properties: { name: uniq('renamed') } }) },
  { method: 'DELETE', route: '/api/v1/auto-certificates/{id}', need: 'operate', target: 'autoCertificate', mutates: true },
  { method: 'POST', route: '/api/v1/auto-certificates/{id}/renew', need: 'operate', target: 'autoCertificate', mutates: true, body: () => ({ rekey: true }) },
  { method: 'POST', route: '/api/v1/auto-certificates/{id}/pause', need: 'operate', target: 'autoCertificate', mutates: true },
  { method: 'POST', route: '/api/v1/auto-certificates/{id}/resume', need: 'operate', target: 'autoCertificate', mutates: true },
  { method: 'GET', route: '/api/v1/auto-certificates/{id}/validations', need: 'read', target: 'autoCertificate' },
  { method: 'POST', route: '/api/v1/auto-certificates/{id}/verify', need: 'operate', target: 'autoCertificate', mutates: true, body: () => ({ force: true }) },

  { method: 'GET', route: '/api/v1/certificates', need: 'read', consumer: true },
  { method: 'POST', route: '/api/v1/certificates', need: 'operate', body: importBody },
  { method: 'GET', route: '/api/v1/certificates/{id}', need: 'read', consumer: true, target: 'certificate' },
  { method: 'DELETE', route: '/api/v1/certificates/{id}', need: 'operate', target: 'certificate', mutates: true },
  { method: 'POST', route: '/api/v1/certificates/{id}/revoke', need: 'operate', target: 'certificate', mutates: true, body: () => ({ reason: 'superseded' }) },
  { method: 'POST', route: '/api/v1/certificates/{id}/export', need: 'read', consumer: true, target: 'certificate', body: () => ({ format: 'pem' }) },
  { method: 'POST', route: '/api/v1/certificates/{id}/export', variant: 'with the private key', need: 'operate', target: 'certificate', body: () => ({ format: 'pem', includePrivateKey: true }) },
  { method: 'POST', route: '/api/v1/certificates/{id}/export', variant: 'as PKCS#12', need: 'operate', target: 'certificate', body: () => ({ format: 'pkcs12', password: 'export-pw' }) },

  { method: 'GET', route: '/api/v1/dns-zones', need: 'read' },
  { method: 'POST', route: '/api/v1/dns-zones', need: 'administer', body: () => ({ properties: { zoneName: `${uniq('zone')}.authz.example`, provider: 'exec', settings: execSettings } }) },
  { method: 'GET', route: '/api/v1/dns-zones/{id}', need: 'read', target: 'dnsZone' },
  { method: 'PATCH', route: '/api/v1/dns-zones/{id}', need: 'administer', target: 'dnsZone', mutates: true, body: () => ({ properties: { enabled: false } }) },
  { method: 'DELETE', route: '/api/v1/dns-zones/{id}', need: 'administer', target: 'dnsZone', mutates: true },
  { method: 'POST', route: '/api/v1/dns-zones/{id}/check', need: 'administer', target: 'dnsZone', mutates: true },

  { method: 'GET', route: '/api/v1/notification-channels', need: 'read' },
  { method: 'POST', route: '/api/v1/notification-channels', need: 'administer', body: () => ({ properties: { name: uniq('channel'), type: 'webhook', events: ['certificate.revoked'], settings: { url: `${rx.url}/fresh` } } }) },
  { method: 'GET', route: '/api/v1/notification-channels/{id}', need: 'read', target: 'channel' },
  { method: 'PATCH', route: '/api/v1/notification-channels/{id}', need: 'administer', target: 'channel', mutates: true, body: () => ({ properties: { enabled: false } }) },
  { method: 'DELETE', route: '/api/v1/notification-channels/{id}', need: 'administer', target: 'channel', mutates: true },
  { method: 'POST', route: '/api/v1/notification-channels/{id}/test', need: 'administer', target: 'channel', mutates: true },
  { method: 'GET', route: '/api/v1/notification-channels/{id}/deliveries', need: 'read', target: 'channel' },
  { method: 'GET', route: '/api/v1/notification-channels/{id}/deliveries/{deliveryId}', need: 'read', target: 'channel' },

  { method: 'GET', route: '/api/v1/events', need: 'read' },

  { method: 'GET', route: '/api/v1/tokens', need: 'administer' },
  { method: 'POST', route: '/api/v1/tokens', need: 'administer', body: () => ({ properties: { name: uniq('token'), role: 'viewer' } }) },
  { method: 'GET', route: '/api/v1/tokens/{id}', need: 'administer', target: 'token' },
  { method: 'DELETE', route: '/api/v1/tokens/{id}', need: 'administer', target: 'token', mutates: true },

  { method: 'GET', route: '/api/v1/users', need: 'administer' },
  { method: 'POST', route: '/api/v1/users', need: 'administer', body: () => ({ properties: { email: `${uniq('user')}@a.authz.example`, role: 'viewer' } }) },
  { method: 'GET', route: '/api/v1/users/{id}', need: 'administer', target: 'user' },
  { method: 'PATCH', route: '/api/v1/users/{id}', need: 'administer', target: 'user', mutates: true, body: () => ({ properties: { role: 'operator' } }) },
  { method: 'DELETE', route: '/api/v1/users/{id}', need: 'administer', target: 'user', mutates: true },
  { method: 'POST', route: '/api/v1/users/activate', need: 'public', body: () => ({ invitation: 'cki_not-an-invitation-at-all', password: PASSWORD }), expect: [404] },

  { method: 'POST', route: '/api/v1/sessions', need: 'public', body: () => ({ email: SESSION_USER, password: PASSWORD }), expect: [201] },
  // With a token instead of a session these answer 409 operation_not_allowed: allowed, but nothing to do.
  { method: 'DELETE', route: '/api/v1/sessions', need: 'read' },
  { method: 'DELETE', route: '/api/v1/sessions/current', need: 'read' },
  { method: 'GET', route: '/api/v1/me', need: 'read', consumer: true },
  { method: 'POST', route: '/api/v1/me/password', need: 'read', body: () => ({ currentPassword: PASSWORD, newPassword: `${PASSWORD} and more` }) },

  { method: 'POST', route: '/api/v1/auto-certificates/{id}/deploy', need: 'operate', target: 'autoCertificate', expect: [202, 409] },
  { method: 'GET', route: '/api/v1/auto-certificates/{id}/certificate', need: 'read', consumer: true, target: 'autoCertificate', expect: [200] },
  { method: 'POST', route: '/api/v1/certificates/{id}/deploy', need: 'operate', target: 'certificate', body: () => ({ targets: [A.deploymentTargetName] }), expect: [202] },

  { method: 'GET', route: '/api/v1/agents', need: 'read' },
  { method: 'POST', route: '/api/v1/agents', need: 'administer', body: () => ({ properties: { name: uniq('agent') } }) },
  { method: 'GET', route: '/api/v1/agents/{id}', need: 'read', target: 'agent' },
  { method: 'PATCH', route: '/api/v1/agents/{id}', need: 'administer', target: 'agent', mutates: true, body: () => ({ properties: { description: uniq('changed') } }) },
  { method: 'DELETE', route: '/api/v1/agents/{id}', need: 'administer', target: 'agent', mutates: true },
  { method: 'POST', route: '/api/v1/agents/{id}/enrolment-token', need: 'administer', target: 'agent', mutates: true },
  { method: 'POST', route: '/api/v1/agents/{id}/revoke', need: 'administer', target: 'agent', mutates: true },

  { method: 'GET', route: '/api/v1/deployment-targets', need: 'read' },
  { method: 'POST', route: '/api/v1/deployment-targets', need: 'administer', body: () => ({ properties: { name: uniq('target'), type: 'script', settings: { command: 'true' } } }) },
  { method: 'GET', route: '/api/v1/deployment-targets/{id}', need: 'read', target: 'deploymentTarget' },
  { method: 'PATCH', route: '/api/v1/deployment-targets/{id}', need: 'administer', target: 'deploymentTarget', mutates: true, body: () => ({ properties: { enabled: false } }) },
  { method: 'DELETE', route: '/api/v1/deployment-targets/{id}', need: 'administer', target: 'deploymentTarget', mutates: true },

  { method: 'GET', route: '/api/v1/deployments', need: 'read' },
  { method: 'GET', route: '/api/v1/deployments/{id}', need: 'read', target: 'deployment' },
  { method: 'POST', route: '/api/v1/deployments/{id}/retry', need: 'operate', target: 'deployment', mutates: true, expect: [202, 409] },

  { method: 'POST', route: '/api/v1/agent/enrol', need: 'agent', body: () => ({ token: 'cke_not-an-enrolment-token', hostname: 'h', version: '1', platform: 'p' }) },
  { method: 'POST', route: '/api/v1/agent/heartbeat', need: 'agent', body: () => ({ hostname: 'h', version: '1', platform: 'p' }) },
  { method: 'GET', route: '/api/v1/agent/work', need: 'agent' },
  { method: 'POST', route: '/api/v1/agent/deployments/{id}/result', need: 'agent', body: () => ({ state: 'DEPLOYED', message: 'm' }) },
  { method: 'POST', route: '/api/v1/agent/http-01/ack', need: 'agent', body: () => ({ tokens: [] }) },
  { method: 'POST', route: '/api/v1/agent/csr/{id}', need: 'agent', body: () => ({ csr: 'x'.repeat(200) }) },
];

const RANK: Record<Exclude<MatrixRole, 'consumer'>, number> = { viewer: 0, operator: 1, admin: 2 };
const NEEDS: Record<Exclude<Need, 'public' | 'agent'>, number> = { read: 0, operate: 1, administer: 2 };
const COLLECTION: Record<Kind, string> = {
  provider: 'providers', dnsZone: 'dns-zones', autoCertificate: 'auto-certificates', certificate: 'certificates',
  channel: 'notification-channels', token: 'tokens', user: 'users',
  agent: 'agents', deploymentTarget: 'deployment-targets', deployment: 'deployments',
};

function allowedFor(row: Row, role: MatrixRole): boolean {
  if (row.need === 'public') return true;
  if (row.need === 'agent') return false;
  if (role === 'consumer') return row.consumer === true;
  return RANK[role] >= NEEDS[row.need];
}

const label = (row: Row) => `${row.method} ${row.route}${row.variant ? ` (${row.variant})` : ''}`;
const fill = (row: Row, id?: string, deliveryId?: string) =>
  row.route.replace('{id}', encodeURIComponent(id ?? 'none')).replace('{deliveryId}', encodeURIComponent(deliveryId ?? ''));

// ---------------------------------------------------------------------------------------------
// The installation: tenant A (the default tenant) with one object of every kind, tenant B
// ---------------------------------------------------------------------------------------------

const SESSION_USER = 'session-operator@a.authz.example';
let ck: CertkeeperHandle;
let pebble: PebbleHandle;
/** A CA that accepts connections and never answers: its provider stays PROVISIONING, and usable. */
const silentSockets = new Set<Socket>();
const silent = createNetServer((socket) => {
  silentSockets.add(socket.on('error', () => undefined).on('close', () => silentSockets.delete(socket)));
});

/** Tenant A's shared objects (X is the consumer's auto certificate, Y one outside its scope). */
const A = {
  provider: '', providerName: 'pebble-a', dnsZone: '', zoneName: 'victim-zone.authz.example',
  autoCertificate: '', autoCertificateName: 'x', certificate: '',
  y: '', yCertificate: '', imported: '',
  channel: '', channelName: 'victim-channel', delivery: '',
  token: '', tokenName: 'victim-token', user: '', userEmail: 'victim@a.authz.example',
  agent: '', agentName: 'victim-agent', deploymentTarget: '', deploymentTargetName: 'victim-target', deployment: '',
};
const TOKEN_NAMES: Record<MatrixRole, string> = { admin: 'admin-a', operator: 'operator-a', viewer: 'viewer-a', consumer: 'consumer-a' };
const tokens = {} as Record<MatrixRole, string>;
let consumerWithKey = '';
let expiring = { id: '', token: '', expiresAt: 0 };
let tenantB = { id: '', token: '' };

type Cred = { bearer: string } | { cookie: string; csrf?: string } | undefined;

/** One call as `cred` (no credentials when undefined). */
async function request<T = any>(cred: Cred, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  if (cred && 'bearer' in cred) headers.authorization = `Bearer ${cred.bearer}`;
  if (cred && 'cookie' in cred) {
    headers.cookie = cred.cookie;
    if (cred.csrf) headers['x-csrf-token'] = cred.csrf;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(ck.url + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let parsed: any = text;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}
const as = (token: string): Cred => ({ bearer: token });
/** The bootstrap admin of tenant A (CERTKEEPER_ADMIN_TOKEN); sets up and inspects. */
const root = (method: string, path: string, body?: unknown) => request(as(ck.token), method, path, body);

async function created(res: ApiResponse, status = 201): Promise<string> {
  assert.equal(res.status, status, res.text);
  return res.body.id as string;
}

/** Fresh objects of tenant A for allowed calls that change or remove their target. */
const fresh: Record<Kind, () => Promise<string>> = {
  provider: async () => created(await root('POST', '/api/v1/providers', { properties: { name: uniq('fresh'), server: DEAD_CA } }), 202),
  dnsZone: async () => created(await root('POST', '/api/v1/dns-zones', { properties: { zoneName: `${uniq('fresh')}.authz.example`, provider: 'exec', settings: execSettings } })),
  autoCertificate: async () => {
    const n = uniq('fresh');
    return created(await root('POST', '/api/v1/auto-certificates', { properties: { name: n, provider: 'silent', commonName: `${n}.authz.example`, challengeType: 'http-01' } }), 202);
  },
  certificate: async () => created(await root('POST', '/api/v1/certificates', importBody())),
  channel: async () => created(await root('POST', '/api/v1/notification-channels', { properties: { name: uniq('fresh'), type: 'webhook', events: ['certificate.revoked'], settings: { url: `${rx.url}/fresh` } } })),
  token: async () => created(await root('POST', '/api/v1/tokens', { properties: { name: uniq('fresh'), role: 'viewer' } })),
  user: async () => created(await root('POST', '/api/v1/users', { properties: { email: `${uniq('fresh')}@a.authz.example`, role: 'viewer' } })),
  agent: async () => created(await root('POST', '/api/v1/agents', { properties: { name: uniq('fresh') } })),
  deploymentTarget: async () => created(await root('POST', '/api/v1/deployment-targets', { properties: { name: uniq('fresh'), type: 'script', settings: { command: 'true' } } })),
  deployment: async () => {
    const res = await root('POST', `/api/v1/certificates/${A.imported}/deploy`, { targets: [A.deploymentTargetName] });
    assert.equal(res.status, 202, res.text);
    return res.body.items[0].id as string;
  },
};
const shared = (kind: Kind): string => A[kind];

/** What a change would show in: the object itself, or for a creation the collection. */
function probeOf(row: Row, path: string): string | undefined {
  if (row.target) return /^\/api\/v1\/[a-z-]+\/[^/]+/.exec(path)![0];
  if (row.method === 'POST' && /^\/api\/v1\/[a-z-]+$/.test(row.route) && row.need !== 'public') return row.route;
  return undefined;
}

/** The parts of an object (or collection) that a change through the API would alter. */
async function snapshot(path: string) {
  const res = await root('GET', path.includes('?') || !/^\/api\/v1\/[a-z-]+$/.test(path) ? path : `${path}?limit=1000`);
  if (res.status !== 200) return { status: res.status };
  if (res.body.type === 'collection') return { status: 200, total: res.body.total, ids: res.body.items.map((i: any) => i.id).sort() };
  return { status: 200, state: res.body.metadata?.state, lastModifiedBy: res.body.metadata?.lastModifiedBy, properties: res.body.properties };
}

/** How many events name `actor`: a denied call must add none. */
async function eventsBy(actor: string): Promise<number> {
  const res = await root('GET', `/api/v1/events?limit=1&filter.actor=${encodeURIComponent(actor)}`);
  assert.equal(res.status, 200, res.text);
  return res.body.total as number;
}

/** Why `res` is not the 403 problem a denied call must answer, or undefined when it is. */
function notForbidden(res: ApiResponse): string | undefined {
  if (res.status !== 403) return `answered ${res.status} instead of 403: ${res.text.slice(0, 300)}`;
  if (!/^application\/problem\+json/.test(res.headers.get('content-type') ?? '')) return `403 with content-type ${res.headers.get('content-type')}`;
  if (res.body?.code !== 'forbidden' || res.body?.type !== 'urn:certkeeper:problem:forbidden' || res.body?.status !== 403) return `403 but not a forbidden problem: ${res.text.slice(0, 300)}`;
  if (typeof res.body.detail !== 'string' || res.body.detail.length < 10) return '403 without a detail';
  return undefined;
}

/** A 404 with every occurrence of `ids` masked, to compare "another tenant's" with "none". */
function masked(res: ApiResponse, ids: string[]) {
  let text = res.text;
  for (const id of ids) text = text.split(encodeURIComponent(id)).join('<id>').split(id).join('<id>');
  return { status: res.status, contentType: res.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
}

function assertNotFound(res: ApiResponse, what: string) {
  assert.equal(res.status, 404, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  assert.equal(res.body.code, 'not_found', what);
}

/** A (status, body) pair that must look alike whether the id is another tenant's or nobody's. */
function assertSameAnswer(theirs: ApiResponse, theirIds: string[], none: ApiResponse, noneIds: string[], what: string) {
  assert.deepEqual(masked(theirs, theirIds), masked(none, noneIds), `${what}: another tenant's object answers differently from a missing one`);
}

before(async () => {
  chain = makeChain('imported.authz.example');
  rx = await startWebhookReceiver();
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const httpPort = await freePort();
  pebble = await startPebble({ httpPort });
  ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}` });

  // Providers: Pebble (AVAILABLE, stable), and one whose CA never answers (PROVISIONING, usable).
  A.provider = await created(await root('POST', '/api/v1/providers', { properties: { name: A.providerName, email: 'ops@a.authz.example', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } }), 202);
  const p = await ck.waitFor(`/api/v1/providers/${A.provider}`, (b: any) => b.metadata.state !== 'PROVISIONING');
  assert.equal(p.metadata.state, 'AVAILABLE', p.metadata.message);

  // X and Y, each with one issued certificate.
  const issue = async (name: string) => {
    const id = await created(await root('POST', '/api/v1/auto-certificates', { properties: { name, provider: A.provider, commonName: `${name}.authz.test`, challengeType: 'http-01' } }), 202);
    const done = await ck.waitFor(`/api/v1/auto-certificates/${id}`, (b: any) => b.metadata.state === 'AVAILABLE' || b.metadata.state === 'FAILED', 60_000);
    assert.equal(done.metadata.state, 'AVAILABLE', done.metadata.message);
    return { id, certificate: done.metadata.lastIssuedCertificate as string };
  };
  const [x, y] = await Promise.all([issue(A.autoCertificateName), issue('y')]);
  A.autoCertificate = x!.id;
  A.certificate = x!.certificate;
  A.y = y!.id;
  A.yCertificate = y!.certificate;
  await created(await root('POST', '/api/v1/providers', { properties: { name: 'silent', server: `https://127.0.0.1:${(silent.address() as AddressInfo).port}/dir` } }), 202);

  A.imported = await created(await root('POST', '/api/v1/certificates', importBody()));
  A.dnsZone = await created(await root('POST', '/api/v1/dns-zones', { properties: { zoneName: A.zoneName, provider: 'exec', settings: execSettings } }));
  A.channel = await created(await root('POST', '/api/v1/notification-channels', { properties: { name: A.channelName, type: 'webhook', events: ['user.activated'], settings: { url: `${rx.url}/a` } } }));
  A.user = await created(await root('POST', '/api/v1/users', { properties: { email: A.userEmail, role: 'viewer' } }));
  A.token = await created(await root('POST', '/api/v1/tokens', { properties: { name: A.tokenName, role: 'viewer' } }));
  A.agent = await created(await root('POST', '/api/v1/agents', { properties: { name: A.agentName } }));
  A.deploymentTarget = await created(await root('POST', '/api/v1/deployment-targets', { properties: { name: A.deploymentTargetName, type: 'script', settings: { command: 'true' } } }));
  A.deployment = await fresh.deployment();
  assert.equal((await root('PATCH', `/api/v1/auto-certificates/${A.autoCertificate}`, { properties: { deploymentTargets: [A.deploymentTargetName] } })).status, 200);

  for (const role of ['admin', 'operator', 'viewer'] as const) {
    const res = await root('POST', '/api/v1/tokens', { properties: { name: TOKEN_NAMES[role], role } });
    assert.equal(res.status, 201, res.text);
    tokens[role] = res.body.properties.token;
  }
  const consumer = await root('POST', '/api/v1/tokens', { properties: { name: TOKEN_NAMES.consumer, role: 'consumer', scope: { autoCertificates: [A.autoCertificateName] } } });
  assert.equal(consumer.status, 201, consumer.text);
  tokens.consumer = consumer.body.properties.token;
  const withKey = await root('POST', '/api/v1/tokens', { properties: { name: 'consumer-key-a', role: 'consumer', scope: { autoCertificates: [A.autoCertificateName], includePrivateKey: true } } });
  assert.equal(withKey.status, 201, withKey.text);
  consumerWithKey = withKey.body.properties.token;
  const expiresAt = Date.now() + 4000;
  const exp = await root('POST', '/api/v1/tokens', { properties: { name: 'expiring', role: 'viewer', expiresAt: new Date(expiresAt).toISOString() } });
  assert.equal(exp.status, 201, exp.text);
  expiring = { id: exp.body.id, token: exp.body.properties.token, expiresAt };
  assert.equal((await request(as(expiring.token), 'GET', '/api/v1/me')).status, 200, 'valid before it expires');

  // An operator who logs in with a password; activating makes the one delivery of the channel.
  const invited = await root('POST', '/api/v1/users', { properties: { email: SESSION_USER, role: 'operator' } });
  assert.equal(invited.status, 201, invited.text);
  const activated = await request(undefined, 'POST', '/api/v1/users/activate', { invitation: invited.body.properties.invitation.token, password: PASSWORD });
  assert.equal(activated.status, 200, activated.text);
  for (let i = 0; i < 100; i++) {
    await ck.server.notifications.dispatcher.runOnce();
    const d = (await root('GET', `/api/v1/notification-channels/${A.channel}/deliveries`)).body.items[0];
    if (d?.metadata.state === 'DELIVERED') {
      A.delivery = d.id;
      break;
    }
    await sleep(50);
  }
  assert.ok(A.delivery, 'the channel has a delivery');

  // Tenant B, made by the platform CLI on the same database.
  const cli = cliRunner(() => ({ CERTKEEPER_DATA_DIR: ck.dataDir, CERTKEEPER_DATABASE_URL: ck.databaseUrl }));
  const out = JSON.parse(await expectOk(cli, ['admin', 'create-tenant', 'tenant-b', '--admin-email', 'boss@b.authz.example', '--token', 'b-admin', '--json']));
  tenantB = { id: out.tenant.id, token: out.token };
  assert.ok(tenantB.token, 'the CLI printed an admin token of tenant B');
});

after(async () => {
  await ck?.stop();
  await pebble?.stop();
  await rx?.close();
  silent.close();
  for (const socket of silentSockets) socket.destroy();
});

// ---------------------------------------------------------------------------------------------

describe('the table covers the API', () => {
  test('every route of the OpenAPI document has a row, and every row a route', async () => {
    const doc = (await request(undefined, 'GET', '/api/v1/openapi.json')).body;
    const served = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const m of Object.keys(ops)) if (['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].includes(m)) served.add(`${m.toUpperCase()} ${path}`);
    }
    const table = new Set(ROWS.map((r) => `${r.method} ${r.route}`));
    const missing = [...served].filter((r) => !table.has(r));
    assert.deepEqual(missing, [], `routes without a row in the authorization matrix of ${fileURLToPath(import.meta.url)}: add one each`);
    assert.deepEqual([...table].filter((r) => !served.has(r)), [], 'rows for routes the server does not have');
  });
});

describe('the matrix: roles of tenant A', () => {
  for (const role of ['admin', 'operator', 'viewer', 'consumer'] as const) {
    test(`${role}: allowed calls are never 401/403; the others are 403 forbidden and change nothing`, async (t) => {
      const problems: string[] = [];
      const seen: string[] = [];
      const actor = `token:${TOKEN_NAMES[role]}`;
      for (const row of ROWS) {
        const allowed = allowedFor(row, role);
        const id = row.target ? (allowed && row.mutates ? await fresh[row.target]() : shared(row.target)) : undefined;
        const path = fill(row, id, A.delivery);
        const probe = allowed ? undefined : probeOf(row, path);
        const before = probe ? await snapshot(probe) : undefined;
        const eventsBefore = allowed ? 0 : await eventsBy(actor);
        const res = await request(as(tokens[role]), row.method, path, row.body?.());
        seen.push(`${res.status} ${label(row)}`);
        if (allowed) {
          const bad = row.expect ? !row.expect.includes(res.status)
            : [401, 403, 404].includes(res.status) || (res.status >= 500 && res.status !== 502);
          if (bad) problems.push(`${label(row)} is allowed for ${role} but answered ${res.status}: ${res.text.slice(0, 300)}`);
          continue;
        }
        const why = row.need === 'agent'
          ? (res.status === 401 && res.body?.code === 'unauthorized' ? undefined : `answered ${res.status} instead of 401: ${res.text.slice(0, 300)}`)
          : notForbidden(res);
        if (why) problems.push(`${label(row)} must be ${row.need === 'agent' ? 'refused (an agent credential only)' : 'forbidden'} for ${role}: ${why}`);
        if (probe) {
          const after = await snapshot(probe);
          const [was, is] = [JSON.stringify(before), JSON.stringify(after)];
          if (is !== was) problems.push(`${label(row)} denied to ${role} changed ${probe}: ${was.slice(0, 200)} → ${is.slice(0, 200)}`);
        }
        const eventsAfter = await eventsBy(actor);
        if (eventsAfter !== eventsBefore) problems.push(`${label(row)} denied to ${role} left ${eventsAfter - eventsBefore} event(s) in the audit log`);
      }
      t.diagnostic(seen.join('; '));
      assert.deepEqual(problems, []);
    });
  }

  test('HEAD of a GET route is checked like the GET', async () => {
    const problems: string[] = [];
    for (const row of ROWS.filter((r) => r.method === 'GET')) {
      for (const role of ['admin', 'operator', 'viewer', 'consumer'] as const) {
        const path = fill(row, row.target ? shared(row.target) : undefined, A.delivery);
        const res = await fetch(ck.url + path, { method: 'HEAD', headers: { authorization: `Bearer ${tokens[role]}` } });
        const expected = allowedFor(row, role) ? 200 : row.need === 'agent' ? 401 : 403;
        if (res.status !== expected) problems.push(`HEAD ${row.route} as ${role}: ${res.status}, expected ${expected}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('without credentials, or with an unknown token, every non-public route answers 401', async () => {
    const problems: string[] = [];
    for (const row of ROWS.filter((r) => r.need !== 'public')) {
      const path = fill(row, row.target ? shared(row.target) : undefined, A.delivery);
      for (const cred of [undefined, as('ck_not-a-token-of-anyone')]) {
        const res = await request(cred, row.method, path, row.body?.());
        if (res.status !== 401 || res.body?.code !== 'unauthorized') problems.push(`${label(row)} ${cred ? 'with an unknown token' : 'without credentials'}: ${res.status}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});

describe('tenant isolation', () => {
  const B = () => as(tenantB.token);
  /** Every shared object of tenant A, as an admin of A sees it. */
  const snapshotA = async () => {
    const out: Record<string, unknown> = {};
    for (const kind of Object.keys(COLLECTION) as Kind[]) out[kind] = await snapshot(`/api/v1/${COLLECTION[kind]}/${A[kind]}`);
    out.y = await snapshot(`/api/v1/auto-certificates/${A.y}`);
    out.yCertificate = await snapshot(`/api/v1/certificates/${A.yCertificate}`);
    out.imported = await snapshot(`/api/v1/certificates/${A.imported}`);
    out.delivery = await snapshot(`/api/v1/notification-channels/${A.channel}/deliveries/${A.delivery}`);
    for (const kind of Object.keys(COLLECTION) as Kind[]) out[`${kind}s`] = (await snapshot(`/api/v1/${COLLECTION[kind]}`) as any).ids;
    return out;
  };
  let before: Record<string, unknown>;

  test('the admin of tenant B is an admin of B only', async () => {
    before = await snapshotA();
    const me = await request(B(), 'GET', '/api/v1/me');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.role, 'admin');
    assert.equal(me.body.tenant.id, tenantB.id);
    assert.notEqual(tenantB.id, 'default');
  });

  test('every route with an id answers for an object of tenant A exactly as for a missing one (404)', async () => {
    for (const row of ROWS.filter((r) => r.target)) {
      const kind = row.target!;
      const theirs = await request(B(), row.method, fill(row, A[kind], A.delivery), row.body?.());
      const ids = [randomUUID(), randomUUID()] as const;
      const none = await request(B(), row.method, fill(row, ids[0], ids[1]), row.body?.());
      assertNotFound(theirs, `${label(row)} on tenant A's ${kind}`);
      assertSameAnswer(theirs, [A[kind], A.delivery], none, [...ids], label(row));
    }
    // X's sibling, the other certificates, and the ids that users and tokens also answer to.
    for (const [path, id] of [['/api/v1/auto-certificates/', A.y], ['/api/v1/certificates/', A.yCertificate], ['/api/v1/certificates/', A.imported],
      ['/api/v1/users/', A.userEmail], ['/api/v1/tokens/', A.tokenName], ['/api/v1/tokens/', TOKEN_NAMES.admin]] as const) {
      const theirs = await request(B(), 'GET', path + encodeURIComponent(id));
      const other = id.includes('@') ? 'nobody@b.authz.example' : uniq('nothing');
      assertNotFound(theirs, `${path}${id}`);
      assertSameAnswer(theirs, [id], await request(B(), 'GET', path + encodeURIComponent(other)), [other], `GET ${path}{id}`);
    }
  });

  test('a channel of tenant B does not reach a delivery of tenant A', async () => {
    const mine = await created(await request(B(), 'POST', '/api/v1/notification-channels', { properties: { name: A.channelName, type: 'webhook', events: ['*'], settings: { url: `${rx.url}/b` } } }));
    const missing = randomUUID();
    const theirs = await request(B(), 'GET', `/api/v1/notification-channels/${mine}/deliveries/${A.delivery}`);
    assertNotFound(theirs, 'a delivery of tenant A under a channel of B');
    assertSameAnswer(theirs, [A.delivery], await request(B(), 'GET', `/api/v1/notification-channels/${mine}/deliveries/${missing}`), [missing], 'deliveries');
  });

  test('the lists of tenant B hold none of tenant A\'s objects, whatever the filter', async () => {
    const idsOfA = [A.provider, A.dnsZone, A.autoCertificate, A.y, A.certificate, A.yCertificate, A.imported, A.channel, A.token, A.user, A.delivery, A.agent, A.deploymentTarget, A.deployment];
    for (const row of ROWS.filter((r) => r.method === 'GET' && !r.target && r.route !== '/api/v1/me' && r.need !== 'agent')) {
      const res = await request(B(), 'GET', `${row.route}?limit=1000`);
      assert.equal(res.status, 200, `${row.route}: ${res.text}`);
      for (const id of idsOfA) assert.ok(!res.text.includes(id), `${row.route} of tenant B shows ${id} of tenant A`);
      for (const name of [A.providerName, A.zoneName, A.userEmail, A.tokenName, TOKEN_NAMES.admin, 'x.authz.test', A.agentName, A.deploymentTargetName]) {
        assert.ok(!res.text.includes(name), `${row.route} of tenant B shows "${name}" of tenant A`);
      }
    }
    const filtered: [string, number][] = [
      [`/api/v1/providers?filter.name=${A.providerName}`, 0],
      [`/api/v1/dns-zones?filter.zoneName=${A.zoneName}`, 0],
      [`/api/v1/auto-certificates?filter.name=${A.autoCertificateName}`, 0],
      [`/api/v1/certificates?filter.autoCertificate=${A.autoCertificate}`, 0],
      ['/api/v1/certificates?filter.commonName=x.authz.test', 0],
      [`/api/v1/tokens?filter.name=${A.tokenName}`, 0],
      [`/api/v1/users?filter.email=${encodeURIComponent(A.userEmail)}`, 0],
      [`/api/v1/events?filter.subjectId=${A.autoCertificate}`, 0],
      [`/api/v1/events?filter.subjectId=${A.user}`, 0],
      [`/api/v1/events?filter.actor=${encodeURIComponent(`token:${TOKEN_NAMES.admin}`)}`, 0],
    ];
    for (const [path, total] of filtered) {
      const res = await request(B(), 'GET', path);
      assert.equal(res.status, 200, `${path}: ${res.text}`);
      assert.equal(res.body.total, total, `${path} in tenant B`);
    }
  });

  test('tenant B cannot reference tenant A\'s objects, and reuses their names freely', async () => {
    // An auto certificate of B naming A's provider, by id or by name: as if it did not exist.
    const autoWith = (provider: string) => request(B(), 'POST', '/api/v1/auto-certificates', { properties: { name: uniq('b'), provider, commonName: 'b.authz.example', challengeType: 'http-01' } });
    for (const [theirs, none] of [[A.provider, randomUUID()], [A.providerName, uniq('no-provider')]] as const) {
      const a = await autoWith(theirs);
      assert.equal(a.status, 400, a.text);
      assertSameAnswer(a, [theirs], await autoWith(none), [none], 'an auto certificate naming a provider of tenant A');
    }
    // A consumer token of B scoped to A's auto certificate: refused as for a missing name.
    const consumerFor = (name: string) => request(B(), 'POST', '/api/v1/tokens', { properties: { name: uniq('b-consumer'), role: 'consumer', scope: { autoCertificates: [name] } } });
    const none = uniq('no-auto-certificate');
    const scoped = await consumerFor(A.autoCertificateName);
    assert.equal(scoped.status, 400, scoped.text);
    assertSameAnswer(scoped, [A.autoCertificateName], await consumerFor(none), [none], 'a consumer scope naming an auto certificate of tenant A');
    // Revoking B's own certificate through A's provider: as if it did not exist.
    const mine = await created(await request(B(), 'POST', '/api/v1/certificates', importBody()));
    const revokeWith = (provider: string) => request(B(), 'POST', `/api/v1/certificates/${mine}/revoke`, { provider });
    const noProvider = randomUUID();
    const rv = await revokeWith(A.provider);
    assert.equal(rv.status, 400, rv.text);
    assertSameAnswer(rv, [A.provider], await revokeWith(noProvider), [noProvider], 'revoking through a provider of tenant A');
    // Names are per tenant: B uses A's names without a conflict that would give A's away.
    assert.equal((await request(B(), 'POST', '/api/v1/providers', { properties: { name: A.providerName, server: DEAD_CA } })).status, 202);
    assert.equal((await request(B(), 'POST', '/api/v1/providers', { properties: { name: 'silent', server: `https://127.0.0.1:${(silent.address() as AddressInfo).port}/dir` } })).status, 202);
    const ac = await request(B(), 'POST', '/api/v1/auto-certificates', { properties: { name: A.autoCertificateName, provider: 'silent', commonName: 'x.authz.test', challengeType: 'http-01' } });
    assert.equal(ac.status, 202, ac.text);
    assert.equal((await request(B(), 'POST', '/api/v1/dns-zones', { properties: { zoneName: A.zoneName, provider: 'exec', settings: execSettings } })).status, 201);
    assert.equal((await request(B(), 'POST', '/api/v1/tokens', { properties: { name: A.tokenName, role: 'viewer' } })).status, 201);
    // B's consumer token scoped to B's "x" sees B's x, never A's.
    const bConsumer = await request(B(), 'POST', '/api/v1/tokens', { properties: { name: uniq('b-consumer'), role: 'consumer', scope: { autoCertificates: [A.autoCertificateName] } } });
    assert.equal(bConsumer.status, 201, bConsumer.text);
    const seen = await request(as(bConsumer.body.properties.token), 'GET', '/api/v1/auto-certificates');
    assert.deepEqual(seen.body.items.map((i: any) => i.id), [ac.body.id]);
    assertNotFound(await request(as(bConsumer.body.properties.token), 'GET', `/api/v1/auto-certificates/${A.autoCertificate}`), 'A\'s x through B\'s consumer');
    assertNotFound(await request(as(bConsumer.body.properties.token), 'POST', `/api/v1/certificates/${A.certificate}/export`, { format: 'pem' }), 'A\'s certificate through B\'s consumer');
  });

  test('a user\'s e-mail address of tenant A does not show through tenant B', async () => {
    const invite = (email: string) => request(B(), 'POST', '/api/v1/users', { properties: { email, role: 'viewer' } });
    const other = `${uniq('nobody')}@b.authz.example`;
    const theirs = await invite(A.userEmail);
    const none = await invite(other);
    assert.equal(theirs.status, none.status, `inviting tenant A's ${A.userEmail} answers ${theirs.status} (${theirs.body?.detail}), a new address ${none.status}`);
  });

  test('no event of tenant A reaches a channel of tenant B', async () => {
    // Something happens in A after B's "*" channel exists; every channel gets its deliveries made.
    const ac = await fresh.autoCertificate();
    await request(as(tokens.operator), 'POST', `/api/v1/auto-certificates/${ac}/pause`);
    const tok = await fresh.token();
    for (let i = 0; i < 3; i++) await ck.server.notifications.dispatcher.runOnce();
    await rx.waitFor('/b', 1);
    await sleep(200);
    const secretsOfA = [ac, tok, A.autoCertificate, A.provider, A.user, A.token, A.channel, TOKEN_NAMES.operator, TOKEN_NAMES.admin];
    const atB = rx.at('/b');
    assert.ok(atB.length > 0, 'B\'s channel does receive B\'s own events');
    for (const req of atB) for (const s of secretsOfA) assert.ok(!req.body.includes(s), `B's channel received ${s} of tenant A: ${req.body.slice(0, 300)}`);
  });

  test('/metrics covers every tenant: tenant B may not scrape it', async () => {
    const scrape = (token: string) => fetch(`${ck.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await scrape(tenantB.token)).status, 403);
    assert.equal((await scrape(tokens.consumer)).status, 403);
    assert.equal((await scrape(tokens.viewer)).status, 200);
  });

  test('after all this, tenant A\'s objects are as they were, and no event of A names B', async () => {
    const now = await snapshotA();
    // The lists of A grew by the fresh objects made above (by A's own admin), nothing else.
    for (const kind of Object.keys(COLLECTION) as Kind[]) {
      const was = before[`${kind}s`] as string[];
      const is = now[`${kind}s`] as string[];
      assert.deepEqual(was.filter((id) => !is.includes(id)), [], `an object of A's ${COLLECTION[kind]} went away`);
      delete before[`${kind}s`];
      delete now[`${kind}s`];
    }
    assert.deepEqual(now, before);
    assert.equal(await eventsBy('token:b-admin'), 0);
  });
});

describe('consumer tokens', () => {
  const C = () => as(tokens.consumer);
  const K = () => as(consumerWithKey);

  test('the lists hold X and its certificates only', async () => {
    const acs = await request(C(), 'GET', '/api/v1/auto-certificates?limit=1000');
    assert.equal(acs.status, 200, acs.text);
    assert.deepEqual(acs.body.items.map((i: any) => i.id), [A.autoCertificate]);
    assert.equal(acs.body.total, 1);
    assert.equal((await request(C(), 'GET', '/api/v1/auto-certificates?filter.name=y')).body.total, 0);
    const certs = await request(C(), 'GET', '/api/v1/certificates?limit=1000');
    assert.equal(certs.status, 200, certs.text);
    assert.ok(certs.body.items.length >= 1);
    assert.ok(certs.body.items.some((i: any) => i.id === A.certificate));
    for (const i of certs.body.items) assert.equal(i.metadata.autoCertificate, A.autoCertificate, `${i.id} is not a version of X`);
    assert.equal(certs.body.total, certs.body.items.length);
    assert.equal((await request(C(), 'GET', `/api/v1/certificates?filter.autoCertificate=${A.y}`)).body.total, 0);
    assert.equal((await request(C(), 'GET', '/api/v1/certificates?filter.source=imported')).body.total, 0);
    const me = await request(C(), 'GET', '/api/v1/me');
    assert.equal(me.body.role, 'consumer');
    assert.deepEqual(me.body.scope, { autoCertificates: [A.autoCertificateName], includePrivateKey: false });
  });

  test('X and its certificate are readable; Y, its certificate and imported ones answer as missing', async () => {
    assert.equal((await request(C(), 'GET', `/api/v1/auto-certificates/${A.autoCertificate}`)).status, 200);
    assert.equal((await request(C(), 'GET', `/api/v1/certificates/${A.certificate}`)).status, 200);
    for (const [path, id] of [['/api/v1/auto-certificates/', A.y], ['/api/v1/certificates/', A.yCertificate], ['/api/v1/certificates/', A.imported]] as const) {
      const missing = randomUUID();
      const theirs = await request(C(), 'GET', path + id);
      assertNotFound(theirs, `${path}${id}`);
      assertSameAnswer(theirs, [id], await request(C(), 'GET', path + missing), [missing], `GET ${path}{id} out of scope`);
      // Export out of scope: 404 too, with or without the key, never a 403 that would tell it exists.
      for (const body of [{ format: 'pem' }, { format: 'pem', includePrivateKey: true }]) {
        if (path.includes('auto-')) continue;
        const ex = await request(K(), 'POST', `${path}${id}/export`, body);
        assertNotFound(ex, `export of ${id} out of scope`);
        assertSameAnswer(ex, [id], await request(K(), 'POST', `${path}${missing}/export`, body), [missing], 'export out of scope');
        assertNotFound(await request(C(), 'POST', `${path}${id}/export`, body), `export of ${id} out of scope`);
      }
    }
  });

  test('export: the certificate always, the key only with includePrivateKey, and audited', async () => {
    const plain = await request(C(), 'POST', `/api/v1/certificates/${A.certificate}/export`, { format: 'pem' });
    assert.equal(plain.status, 200, plain.text);
    assert.match(plain.body.certificate, /BEGIN CERTIFICATE/);
    assert.equal(plain.body.privateKey, undefined);
    const events = await eventsBy(`token:${TOKEN_NAMES.consumer}`);
    for (const body of [{ format: 'pem', includePrivateKey: true }, { format: 'pkcs12', password: 'export-pw' }]) {
      const denied = await request(C(), 'POST', `/api/v1/certificates/${A.certificate}/export`, body);
      assert.equal(notForbidden(denied), undefined);
      assert.match(denied.body.detail, /includePrivateKey/);
    }
    assert.equal(await eventsBy(`token:${TOKEN_NAMES.consumer}`), events, 'the refused exports left no event');
    const keyed = await request(K(), 'POST', `/api/v1/certificates/${A.certificate}/export`, { format: 'pem', includePrivateKey: true });
    assert.equal(keyed.status, 200, keyed.text);
    assert.match(keyed.body.privateKey, /BEGIN (EC )?PRIVATE KEY/);
    const p12 = await fetch(`${ck.url}/api/v1/certificates/${A.certificate}/export`, { method: 'POST', headers: { authorization: `Bearer ${consumerWithKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ format: 'pkcs12', password: 'export-pw' }) });
    assert.equal(p12.status, 200);
    assert.equal(p12.headers.get('content-type'), 'application/x-pkcs12');
    const audit = await root('GET', `/api/v1/events?filter.type=certificate.private_key_exported&filter.actor=token:consumer-key-a&filter.subjectId=${A.certificate}`);
    assert.equal(audit.body.total, 2);
  });

  test('the viewer exports without the key only', async () => {
    const plain = await request(as(tokens.viewer), 'POST', `/api/v1/certificates/${A.certificate}/export`, { format: 'pem' });
    assert.equal(plain.status, 200, plain.text);
    assert.equal(plain.body.privateKey, undefined);
    const keyed = await request(as(tokens.viewer), 'POST', `/api/v1/certificates/${A.certificate}/export`, { format: 'pem', includePrivateKey: true });
    assert.equal(notForbidden(keyed), undefined);
    assert.ok(!keyed.text.includes('PRIVATE KEY'));
  });
});

describe('sessions carry the user\'s role, read on every request', () => {
  test('an operator logged in may operate, not administer; demoted, it may no longer operate', async () => {
    const login = await request(undefined, 'POST', '/api/v1/sessions', { email: SESSION_USER, password: PASSWORD });
    assert.equal(login.status, 201, login.text);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const session = { cookie, csrf: login.body.properties.csrfToken as string };
    assert.equal((await request(session, 'GET', '/api/v1/me')).body.role, 'operator');
    const ac = await fresh.autoCertificate();
    assert.equal((await request(session, 'POST', `/api/v1/auto-certificates/${ac}/pause`)).status, 200);
    assert.equal(notForbidden(await request({ cookie }, 'POST', `/api/v1/auto-certificates/${ac}/resume`)), undefined, 'no CSRF token: 403');
    const providers = (await snapshot('/api/v1/providers')) as any;
    assert.equal(notForbidden(await request(session, 'POST', '/api/v1/providers', { properties: { name: uniq('p'), server: DEAD_CA } })), undefined);
    assert.deepEqual(await snapshot('/api/v1/providers'), providers);
    const user = (await root('GET', `/api/v1/users/${encodeURIComponent(SESSION_USER)}`)).body;
    assert.equal((await root('PATCH', `/api/v1/users/${user.id}`, { properties: { role: 'viewer' } })).status, 200);
    assert.equal(notForbidden(await request(session, 'POST', `/api/v1/auto-certificates/${ac}/resume`)), undefined, 'demoted at once');
    assert.equal((await request(session, 'GET', `/api/v1/auto-certificates/${ac}`)).status, 200);
  });
});

describe('tokens end', () => {
  test('a revoked token answers 401 at once', async () => {
    const made = await root('POST', '/api/v1/tokens', { properties: { name: uniq('revoked'), role: 'operator' } });
    const token = made.body.properties.token as string;
    assert.equal((await request(as(token), 'GET', '/api/v1/me')).status, 200);
    assert.equal((await root('DELETE', `/api/v1/tokens/${made.body.id}`)).status, 204);
    const res = await request(as(token), 'GET', '/api/v1/me');
    assert.equal(res.status, 401, res.text);
    assert.equal(res.body.code, 'unauthorized');
    assert.equal((await request(as(token), 'POST', `/api/v1/auto-certificates/${A.autoCertificate}/pause`)).status, 401);
  });

  test('an expired token answers 401 and reads EXPIRED', async () => {
    const wait = expiring.expiresAt - Date.now() + 100;
    if (wait > 0) await sleep(wait);
    const res = await request(as(expiring.token), 'GET', '/api/v1/me');
    assert.equal(res.status, 401, res.text);
    assert.equal(res.body.code, 'unauthorized');
    assert.equal((await root('GET', `/api/v1/tokens/${expiring.id}`)).body.metadata.state, 'EXPIRED');
  });
});
