// Deployment end to end, as an operator sets it up: real Pebble, a real nginx from Debian on a
// loopback port, and `certkeeper agent` as its own process (bin/certkeeper.js over dist/). The
// agent deploys each issued version, reloads nginx, and the probe and this test see the new serial;
// a renewal reaches nginx; a failing reload restores the previous files and reports FAILED with
// the command's output; the agent answers http-01 for its host while certkeeper's own responder is
// off; and a key generated on the agent never reaches the server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { makeCert, scratch, startNginx, type TestNginx } from '../agent/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const work = scratch('ck-e2e-deploy-');
let pebble: PebbleHandle;
let ck: CertkeeperHandle;
let nginx: TestNginx;
let http01Port: number;
const agents: ChildProcess[] = [];
const agentOutput = new Map<string, () => string>();

/** The serial nginx serves on its port, for `serverName`. */
function servedSerial(port: number, serverName: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: serverName, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial.toLowerCase().replace(/^0+/, ''));
    });
    socket.once('error', reject);
  });
}
const norm = (serial: string) => serial.toLowerCase().replace(/[^0-9a-f]/g, '').replace(/^0+/, '');

/** Creates an agent and starts `certkeeper agent` for it with the one-time token. */
async function startAgent(name: string, props: Record<string, unknown> = {}, args: string[] = []): Promise<string> {
  const created = await ck.api('POST', '/api/v1/agents', { properties: { name, ...props } });
  assert.equal(created.status, 201, created.text);
  const stateDir = join(work.dir, `agent-${name}`);
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'certkeeper.js'), 'agent', '--server', ck.url, '--state-dir', stateDir, ...args], {
    cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CERTKEEPER_AGENT_TOKEN: created.body.metadata.enrolmentToken }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  agents.push(child);
  agentOutput.set(name, () => out);
  const online = await ck.waitFor(`/api/v1/agents/${created.body.id}`, (b: any) => b.metadata.state === 'ONLINE', 30_000).catch((err) => {
    throw new Error(`agent ${name} did not come online: ${err.message}\n${out}`);
  });
  assert.equal(online.metadata.state, 'ONLINE');
  return created.body.id as string;
}

async function createProvider(): Promise<string> {
  const res = await ck.api('POST', '/api/v1/providers', { properties: { name: 'pebble', email: 'ops@example.com', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
  assert.equal(res.status, 202, res.text);
  const p = await ck.waitFor(`/api/v1/providers/${res.body.id}`, (b: any) => b.metadata.state !== 'PROVISIONING');
  assert.equal(p.metadata.state, 'AVAILABLE', p.metadata.message);
  return res.body.id;
}

/** Waits until the deployment of `certificateId` to `targetId` is no longer PENDING. */
async function deploymentOf(certificateId: string, targetId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await ck.api('GET', `/api/v1/deployments?filter.certificate=${certificateId}&filter.target=${targetId}`);
    const d = list.body.items[0];
    if (d && d.metadata.state !== 'PENDING') return d;
    if (Date.now() > deadline) throw new Error(`deployment of ${certificateId} to ${targetId} still ${d?.metadata.state ?? 'absent'}: ${d?.metadata.message}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function issued(id: string): Promise<any> {
  const done = await ck.waitFor(`/api/v1/auto-certificates/${id}`, (b: any) => ['AVAILABLE', 'FAILED'].includes(b.metadata.state) && b.metadata.lastIssuedCertificate, 120_000);
  assert.equal(done.metadata.state, 'AVAILABLE', done.metadata.message);
  return done;
}

before(async () => {
  http01Port = await freePort();
  pebble = await startPebble({ httpPort: http01Port });
  // Placeholder files nginx starts with, replaced by the agent.
  const placeholder = makeCert('placeholder.deploy.test');
  writeFileSync(join(work.dir, 'fullchain.pem'), placeholder.material.fullchainPem);
  writeFileSync(join(work.dir, 'key.pem'), placeholder.material.privateKeyPem!, { mode: 0o600 });
  nginx = await startNginx(work.dir, join(work.dir, 'fullchain.pem'), join(work.dir, 'key.pem'));
});

after(async () => {
  for (const a of agents) {
    if (a.exitCode === null) {
      a.kill('SIGTERM');
      await new Promise((r) => a.once('exit', r));
    }
  }
  await ck?.stop();
  await nginx?.stop();
  await pebble?.stop();
  work.remove();
});

describe('agent deployment with nginx', () => {
  let providerId: string;
  let autoId: string;
  let targetId: string;

  before(async () => {
    ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${http01Port}` });
    providerId = await createProvider();
    await startAgent('web-1');
  });

  test('an issued certificate is deployed by the agent, nginx is reloaded and serves it', async () => {
    const target = await ck.api('POST', '/api/v1/deployment-targets', { properties: {
      name: 'web-1-nginx', type: 'agent', agent: 'web-1',
      settings: { fullchainPath: join(work.dir, 'fullchain.pem'), keyPath: join(work.dir, 'key.pem'), reloadCommand: nginx.reloadCommand, probe: { host: '127.0.0.1', port: nginx.port, serverName: 'site.deploy.test' } },
    } });
    assert.equal(target.status, 201, target.text);
    targetId = target.body.id;
    const created = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'site', provider: providerId, commonName: 'site.deploy.test', challengeType: 'http-01', deploymentTargets: ['web-1-nginx'] } });
    assert.equal(created.status, 202, created.text);
    autoId = created.body.id;
    assert.deepEqual(created.body.properties.deploymentTargets, [targetId]);
    const ac = await issued(autoId);
    const dep = await deploymentOf(ac.metadata.lastIssuedCertificate, targetId);
    assert.equal(dep.metadata.state, 'DEPLOYED', `${dep.metadata.message}\n${dep.metadata.output}\n${agentOutput.get('web-1')!()}`);
    const version = await ck.api('GET', `/api/v1/certificates/${ac.metadata.lastIssuedCertificate}`);
    const serial = norm(version.body.metadata.serialNumber);
    assert.equal(norm(dep.metadata.servedSerial), serial, 'the probe saw the new serial');
    assert.equal(await servedSerial(nginx.port, 'site.deploy.test'), serial, 'nginx serves the issued certificate');
    assert.equal(statSync(join(work.dir, 'key.pem')).mode & 0o777, 0o600);
    assert.ok(!existsSync(join(work.dir, 'key.pem.certkeeper-bak')), 'backups are removed after success');
    const events = await ck.api('GET', `/api/v1/events?filter.type=deployment.succeeded&filter.subjectId=${dep.id}`);
    assert.equal(events.body.total, 1);
  });

  test('a renewal reaches nginx', async () => {
    const before = await ck.api('GET', `/api/v1/auto-certificates/${autoId}`);
    const old = before.body.metadata.lastIssuedCertificate;
    const renew = await ck.api('POST', `/api/v1/auto-certificates/${autoId}/renew`, { rekey: true });
    assert.equal(renew.status, 202, renew.text);
    const ac = await ck.waitFor(`/api/v1/auto-certificates/${autoId}`, (b: any) => b.metadata.lastIssuedCertificate !== old && b.metadata.state === 'AVAILABLE', 120_000);
    const dep = await deploymentOf(ac.metadata.lastIssuedCertificate, targetId);
    assert.equal(dep.metadata.state, 'DEPLOYED', `${dep.metadata.message}\n${dep.metadata.output}`);
    const version = await ck.api('GET', `/api/v1/certificates/${ac.metadata.lastIssuedCertificate}`);
    assert.equal(await servedSerial(nginx.port, 'site.deploy.test'), norm(version.body.metadata.serialNumber));
    // Redeploying without re-issuing: the target already serves it, so it is skipped.
    const again = await ck.api('POST', `/api/v1/auto-certificates/${autoId}/deploy`);
    assert.equal(again.status, 202, again.text);
    const skipped = await ck.waitFor(`/api/v1/deployments/${again.body.items[0].id}`, (b: any) => b.metadata.state !== 'PENDING', 60_000);
    assert.equal(skipped.metadata.state, 'DEPLOYED');
    assert.match(skipped.metadata.message, /already/i);
  });

  test('a failing reload restores the previous files and reports FAILED with the command\'s output', async () => {
    const dir = join(work.dir, 'other');
    const existing = makeCert('previous.deploy.test');
    mkdirSync(dir);
    writeFileSync(join(dir, 'fullchain.pem'), existing.material.fullchainPem);
    const target = await ck.api('POST', '/api/v1/deployment-targets', { properties: {
      name: 'web-1-broken', type: 'agent', agent: 'web-1',
      settings: { fullchainPath: join(dir, 'fullchain.pem'), keyPath: join(dir, 'key.pem'), reloadCommand: 'echo "nginx: [emerg] cannot load certificate" >&2; exit 1' },
    } });
    assert.equal(target.status, 201, target.text);
    const ac = await ck.api('GET', `/api/v1/auto-certificates/${autoId}`);
    const res = await ck.api('POST', `/api/v1/certificates/${ac.body.metadata.lastIssuedCertificate}/deploy`, { targets: ['web-1-broken'] });
    assert.equal(res.status, 202, res.text);
    const dep = await ck.waitFor(`/api/v1/deployments/${res.body.items[0].id}`, (b: any) => b.metadata.state !== 'PENDING', 60_000);
    assert.equal(dep.metadata.state, 'FAILED');
    assert.match(dep.metadata.output, /cannot load certificate/);
    assert.match(dep.metadata.message, /exit|code 1/i);
    assert.ok(dep.metadata.nextAttemptAt, 'it is retried later');
    assert.equal(readFileSync(join(dir, 'fullchain.pem'), 'utf8'), existing.material.fullchainPem, 'the previous file is back');
    assert.ok(!existsSync(join(dir, 'key.pem')), 'a file that did not exist before is removed again');
    assert.deepEqual(readdirSync(dir), ['fullchain.pem'], 'no temporary or backup file is left');
    const failed = await ck.api('GET', `/api/v1/events?filter.type=deployment.failed&filter.subjectId=${dep.id}`);
    assert.equal(failed.body.total, 1);
  });

  test('pull: the active version as a PEM bundle with an ETag; 304 when unchanged; the key only for those allowed', async () => {
    const ac = await ck.api('GET', `/api/v1/auto-certificates/${autoId}`);
    const res = await fetch(`${ck.url}/api/v1/auto-certificates/${autoId}/certificate`, { headers: { authorization: `Bearer ${ck.token}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/pem-certificate-chain');
    const body = await res.text();
    const version = await ck.api('GET', `/api/v1/certificates/${ac.body.metadata.lastIssuedCertificate}`);
    assert.ok(body.startsWith(version.body.properties.certificate), 'leaf first');
    assert.ok(body.includes(version.body.properties.certificateChain), 'then the chain');
    assert.ok(!body.includes('PRIVATE KEY'));
    const etag = res.headers.get('etag')!;
    assert.match(etag, /^"[0-9a-f]+"$/);
    const cached = await fetch(`${ck.url}/api/v1/auto-certificates/${autoId}/certificate`, { headers: { authorization: `Bearer ${ck.token}`, 'if-none-match': etag } });
    assert.equal(cached.status, 304);
    const viewer = await ck.api('POST', '/api/v1/tokens', { properties: { name: 'lb-viewer', role: 'viewer' } });
    const denied = await fetch(`${ck.url}/api/v1/auto-certificates/${autoId}/certificate?includePrivateKey=true`, { headers: { authorization: `Bearer ${viewer.body.properties.token}` } });
    assert.equal(denied.status, 403);
    const consumer = await ck.api('POST', '/api/v1/tokens', { properties: { name: 'lb', role: 'consumer', scope: { autoCertificates: ['site'], includePrivateKey: true } } });
    const withKey = await fetch(`${ck.url}/api/v1/auto-certificates/${autoId}/certificate?includePrivateKey=true`, { headers: { authorization: `Bearer ${consumer.body.properties.token}` } });
    assert.equal(withKey.status, 200);
    const pem = await withKey.text();
    const key = createPrivateKey(pem.slice(pem.indexOf('-----BEGIN PRIVATE KEY')));
    assert.ok(new X509Certificate(pem).checkPrivateKey(key), 'the key belongs to the certificate');
    assert.notEqual(withKey.headers.get('etag'), etag, 'the bundle with the key has its own ETag');
    const audit = await ck.api('GET', '/api/v1/events?filter.type=certificate.private_key_exported&filter.actor=token:lb');
    assert.equal(audit.body.total, 1, 'pulling the key is audited');
  });
});

describe('http-01 answered by the agent, and keys that never leave it', () => {
  let providerId: string;

  before(async () => {
    await ck.stop();
    // certkeeper's own responder is off: only the agent can answer Pebble's http-01 requests.
    ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: 'off' });
    providerId = await createProvider();
    await startAgent('edge', { http01Names: ['*.edge.test'] }, ['--http01-listen', `127.0.0.1:${http01Port}`]);
  });

  test('the agent serves the http-01 challenge of a name mapped to it', async () => {
    const created = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'edge-a', provider: providerId, commonName: 'a.edge.test', subjectAlternativeNames: ['b.edge.test'], challengeType: 'http-01' } });
    assert.equal(created.status, 202, created.text);
    const ac = await issued(created.body.id);
    const version = await ck.api('GET', `/api/v1/certificates/${ac.metadata.lastIssuedCertificate}`);
    assert.deepEqual(version.body.metadata.subjectAlternativeNames.sort(), ['a.edge.test', 'b.edge.test']);
  });

  test('a key generated on the agent: the server never holds it, the agent deploys with it, nginx serves it', async () => {
    const dir = join(work.dir, 'agent-key');
    mkdirSync(dir);
    const target = await ck.api('POST', '/api/v1/deployment-targets', { properties: {
      name: 'edge-nginx', type: 'agent', agent: 'edge',
      settings: { fullchainPath: join(work.dir, 'fullchain.pem'), keyPath: join(work.dir, 'key.pem'), reloadCommand: nginx.reloadCommand, probe: { host: '127.0.0.1', port: nginx.port, serverName: 'k.edge.test' } },
    } });
    assert.equal(target.status, 201, target.text);
    const created = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'edge-k', provider: providerId, commonName: 'k.edge.test', challengeType: 'http-01', keyAlgorithm: 'ecdsa384', keyAgent: 'edge', deploymentTargets: ['edge-nginx'] } });
    assert.equal(created.status, 202, created.text);
    const ac = await issued(created.body.id);
    const certId = ac.metadata.lastIssuedCertificate;
    const dep = await deploymentOf(certId, target.body.id);
    assert.equal(dep.metadata.state, 'DEPLOYED', `${dep.metadata.message}\n${dep.metadata.output}\n${agentOutput.get('edge')!()}`);
    const version = await ck.api('GET', `/api/v1/certificates/${certId}`);
    assert.equal(await servedSerial(nginx.port, 'k.edge.test'), norm(version.body.metadata.serialNumber), 'nginx serves it with the agent\'s key');
    // The key on the agent's host belongs to the certificate; the server has no key for it.
    const keyPem = readFileSync(join(work.dir, 'key.pem'), 'utf8');
    assert.ok(new X509Certificate(version.body.properties.certificate).checkPrivateKey(createPrivateKey(keyPem)));
    assert.equal(createPublicKey(keyPem).asymmetricKeyDetails?.namedCurve, 'secp384r1');
    const exported = await ck.api('POST', `/api/v1/certificates/${certId}/export`, { format: 'pem', includePrivateKey: true });
    assert.equal(exported.status, 409, exported.text);
    // Straight from the store (SQLite or PostgreSQL): no sealed key for this version or its order.
    const kysely = ck.server.ctx.db.kysely;
    const row = await kysely.selectFrom('certificates').select(['private_key_enc', 'agent_key_id']).where('id', '=', certId).executeTakeFirstOrThrow();
    assert.equal(row.private_key_enc, '', 'no sealed key is stored for this version');
    assert.ok(row.agent_key_id);
    const order = await kysely.selectFrom('orders').select(['key_enc', 'csr_pem']).where('certificate_id', '=', certId).executeTakeFirstOrThrow();
    assert.equal(order.key_enc, null, 'the order never held a key');
    assert.match(order.csr_pem ?? '', /BEGIN CERTIFICATE REQUEST/);
    assert.ok(!ck.logs().includes(keyPem.split('\n')[1]!), 'the key is not in the server\'s logs');
  });
});
