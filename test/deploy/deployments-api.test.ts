// Deployment through the REST API, without a CA: agents (enrolment, credential, online state,
// revocation), deployment targets (validation, write-only credentials), deployments of an imported
// certificate to an agent (driven here by hand through the agent protocol, as `certkeeper agent`
// does) and to the agentless `script` target (run by the server's worker), retries, and events.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';

const work = mkdtempSync(join(tmpdir(), 'ck-deploy-api-'));
let ck: CertkeeperHandle;
let certificateId: string;
let serial: string;

/** A self-signed certificate and key made with the OpenSSL CLI, imported as a user would. */
function selfSigned(cn: string): { cert: string; key: string } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', `/CN=${cn}`,
    '-addext', `subjectAltName=DNS:${cn}`, '-keyout', join(work, `${cn}.key`), '-out', join(work, `${cn}.crt`)], { stdio: 'ignore' });
  return { cert: readFileSync(join(work, `${cn}.crt`), 'utf8'), key: readFileSync(join(work, `${cn}.key`), 'utf8') };
}

/** Calls the agent protocol with an agent's credential. */
async function agentCall(credential: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${ck.url}/api/v1/agent${path}`, {
    method, headers: { authorization: `Bearer ${credential}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}

async function enrol(name: string) {
  const created = await ck.api('POST', '/api/v1/agents', { properties: { name } });
  assert.equal(created.status, 201, created.text);
  const res = await fetch(`${ck.url}/api/v1/agent/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: created.body.metadata.enrolmentToken, hostname: `${name}.example.net`, version: '0.0.0-test', platform: 'linux-x64' }) });
  assert.equal(res.status, 200);
  const body = await res.json() as { agentId: string; credential: string };
  return { id: created.body.id as string, token: created.body.metadata.enrolmentToken as string, credential: body.credential };
}

before(async () => {
  ck = await startCertkeeper();
  const { cert, key } = selfSigned('www.deploy.test');
  serial = new X509Certificate(cert).serialNumber.toLowerCase();
  const imported = await ck.api('POST', '/api/v1/certificates', { properties: { name: 'www', certificate: cert, privateKey: key } });
  assert.equal(imported.status, 201, imported.text);
  certificateId = imported.body.id;
});
after(async () => {
  await ck?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('agents', () => {
  test('the enrolment token is shown once, works once, and becomes the agent\'s own credential', async () => {
    const created = await ck.api('POST', '/api/v1/agents', { properties: { name: 'web-1', description: 'front web server', http01Names: ['*.Example.COM', 'www.example.org'] } });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.metadata.enrolmentToken, /^cke_/);
    assert.equal(created.body.metadata.state, 'PENDING');
    assert.deepEqual(created.body.properties.http01Names, ['*.example.com', 'www.example.org']);
    const read = await ck.api('GET', `/api/v1/agents/${created.body.id}`);
    assert.equal(read.body.metadata.enrolmentToken, undefined, 'a read never shows the token');
    const dup = await ck.api('POST', '/api/v1/agents', { properties: { name: 'web-1' } });
    assert.equal(dup.status, 409);
    const badNames = await ck.api('POST', '/api/v1/agents', { properties: { name: 'x', http01Names: ['not a name'] } });
    assert.equal(badNames.status, 400);
    assert.equal(badNames.body.errors[0].field, 'properties.http01Names[0]');

    const facts = { token: created.body.metadata.enrolmentToken, hostname: 'web-1.example.net', version: '1.2.3', platform: 'linux-x64' };
    const ok = await fetch(`${ck.url}/api/v1/agent/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(facts) });
    assert.equal(ok.status, 200);
    const { credential, agentId } = await ok.json() as { credential: string; agentId: string };
    assert.equal(agentId, created.body.id);
    assert.match(credential, /^cka_/);
    const again = await fetch(`${ck.url}/api/v1/agent/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(facts) });
    assert.equal(again.status, 401, 'a used enrolment token is dead');

    const beat = await agentCall(credential, 'POST', '/heartbeat', { hostname: 'web-1.example.net', version: '1.2.4', platform: 'linux-x64', http01: 'listen 0.0.0.0:80' });
    assert.equal(beat.status, 204, beat.text);
    const online = await ck.api('GET', `/api/v1/agents/${agentId}`);
    assert.equal(online.body.metadata.state, 'ONLINE');
    assert.equal(online.body.metadata.version, '1.2.4');
    assert.equal(online.body.metadata.hostname, 'web-1.example.net');

    // An API token does not open the agent protocol, and a credential does not open the API.
    assert.equal((await agentCall(ck.token, 'GET', '/work?wait=0')).status, 401);
    assert.equal((await fetch(`${ck.url}/api/v1/agents`, { headers: { authorization: `Bearer ${credential}` } })).status, 401);

    const revoked = await ck.api('POST', `/api/v1/agents/${agentId}/revoke`);
    assert.equal(revoked.body.metadata.state, 'REVOKED');
    const refused = await agentCall(credential, 'GET', '/work?wait=0');
    assert.equal(refused.status, 401);
    assert.match(refused.body.detail, /revoked/);
    // A new enrolment token brings it back with a new credential.
    const reissued = await ck.api('POST', `/api/v1/agents/${agentId}/enrolment-token`);
    assert.match(reissued.body.metadata.enrolmentToken, /^cke_/);
    const back = await fetch(`${ck.url}/api/v1/agent/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...facts, token: reissued.body.metadata.enrolmentToken }) });
    assert.equal(back.status, 200);
    const second = (await back.json() as { credential: string }).credential;
    assert.notEqual(second, credential);
    assert.equal((await agentCall(second, 'GET', '/work?wait=0')).status, 200);
    assert.equal((await agentCall(credential, 'GET', '/work?wait=0')).status, 401, 'the old credential stays dead');
    const events = await ck.api('GET', `/api/v1/events?filter.subjectId=${agentId}`);
    assert.ok(events.body.items.some((e: any) => e.properties.type === 'agent.enrolled'), JSON.stringify(events.body.items.map((e: any) => e.properties.type)));
    assert.ok(!ck.logs().includes(credential) && !ck.logs().includes(second), 'no credential in the logs');
  });
});

describe('deployment targets', () => {
  test('agent targets are validated field by field; credentials are write-only', async () => {
    const agent = await ck.api('POST', '/api/v1/agents', { properties: { name: 'files-1' } });
    const bad = await ck.api('POST', '/api/v1/deployment-targets', { properties: { name: 't', type: 'agent', agent: 'files-1', settings: { certificatePath: 'relative.pem', mode: 'rw', pkcs12Path: '/etc/x.p12', probe: { host: 'h', port: 70000 }, colour: 'red' } } });
    assert.equal(bad.status, 400, bad.text);
    const fields = bad.body.errors.map((e: any) => e.field).sort();
    assert.deepEqual(fields, ['properties.credentials.pkcs12Password', 'properties.settings.certificatePath', 'properties.settings.colour', 'properties.settings.mode', 'properties.settings.probe.port']);
    const noAgent = await ck.api('POST', '/api/v1/deployment-targets', { properties: { name: 't', type: 'agent', agent: 'nobody', settings: { fullchainPath: '/x/fullchain.pem' } } });
    assert.equal(noAgent.status, 400);
    assert.equal(noAgent.body.errors[0].field, 'properties.agent');
    const unknown = await ck.api('POST', '/api/v1/deployment-targets', { properties: { name: 't', type: 'ftp' } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.errors[0].message, /agent, .*ssh/);
    const ok = await ck.api('POST', '/api/v1/deployment-targets', { properties: { name: 'files', type: 'agent', agent: agent.body.id, settings: { fullchainPath: '/srv/tls/fullchain.pem', keyPath: '/srv/tls/key.pem', pkcs12Path: '/srv/tls/site.p12' }, credentials: { pkcs12Password: 'hunter2-secret' } } });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.body.metadata.credentialsSet, ['pkcs12Password']);
    assert.ok(!JSON.stringify(ok.body).includes('hunter2-secret'));
    const listed = await ck.api('GET', '/api/v1/deployment-targets?filter.type=agent');
    assert.ok(listed.body.items.some((t: any) => t.id === ok.body.id));
    assert.ok(!listed.text.includes('hunter2-secret'));
    // A credential sent as null is removed (the others are kept); the PKCS#12 file then lacks its password.
    const unset = await ck.api('PATCH', `/api/v1/deployment-targets/${ok.body.id}`, { properties: { credentials: { pkcs12Password: null } } });
    assert.equal(unset.status, 400, unset.text);
    assert.equal(unset.body.errors[0].field, 'properties.credentials.pkcs12Password');
    const noP12 = await ck.api('PATCH', `/api/v1/deployment-targets/${ok.body.id}`, { properties: { settings: { fullchainPath: '/srv/tls/fullchain.pem', keyPath: '/srv/tls/key.pem' }, credentials: { pkcs12Password: null } } });
    assert.equal(noP12.status, 200, noP12.text);
    assert.deepEqual(noP12.body.metadata.credentialsSet, [], 'removed, not kept as an empty string');
    const typeChange = await ck.api('PATCH', `/api/v1/deployment-targets/${ok.body.id}`, { properties: { type: 'script' } });
    assert.equal(typeChange.status, 400);
    const inUse = await ck.api('DELETE', `/api/v1/agents/${agent.body.id}`);
    assert.equal(inUse.status, 409, 'an agent used by a target cannot be deleted');
  });
});

describe('deployments', () => {
  test('an imported certificate deployed to an agent: the agent gets the material, reports, and the deployment says DEPLOYED', async () => {
    const a = await enrol('web-2');
    const target = await ck.api('POST', '/api/v1/deployment-targets', { properties: { name: 'web-2-nginx', type: 'agent', agent: a.id, settings: { fullchainPath: '/etc/nginx/tls/fullchain.pem', keyPath: '/etc/nginx/tls/key.pem', reloadCommand: 'systemctl reload nginx' } } });
    assert.equal(target.status, 201, target.text);
    // The agent is waiting in a long poll when the deployment is requested: it is answered at once.
    const started = Date.now();
    const polling = agentCall(a.credential, 'GET', '/work?wait=20');
    await new Promise((r) => setTimeout(r, 300));
    const requested = await ck.api('POST', `/api/v1/certificates/${certificateId}/deploy`, { targets: ['web-2-nginx'] });
    assert.equal(requested.status, 202, requested.text);
    assert.equal(requested.body.items.length, 1);
    const depId = requested.body.items[0].id;
    assert.equal(requested.body.items[0].metadata.state, 'PENDING');
    const work = await polling;
    assert.equal(work.status, 200, work.text);
    assert.ok(Date.now() - started < 5_000, 'the long poll was woken, not timed out');
    assert.equal(work.body.deployments.length, 1);
    const item = work.body.deployments[0];
    assert.equal(item.id, depId);
    assert.equal(item.target.settings.fullchainPath, '/etc/nginx/tls/fullchain.pem');
    assert.equal(item.material.serialNumber.toLowerCase().replace(/^0+/, ''), serial.replace(/^0+/, ''));
    assert.match(item.material.privateKeyPem, /BEGIN PRIVATE KEY/, 'a target with a key file gets the key');
    // Leased: a second poll does not hand it out again.
    const second = await agentCall(a.credential, 'GET', '/work?wait=0');
    assert.equal(second.body.deployments.length, 0);
    // Another agent cannot report on it.
    const other = await enrol('web-3');
    const stolen = await agentCall(other.credential, 'POST', `/deployments/${depId}/result`, { state: 'DEPLOYED', message: 'no' });
    assert.equal(stolen.status, 409);
    const reported = await agentCall(a.credential, 'POST', `/deployments/${depId}/result`, { state: 'DEPLOYED', message: 'written 2 files; reloaded; probe saw the new serial', output: 'reload ok', servedSerial: serial });
    assert.equal(reported.status, 204, reported.text);
    const dep = await ck.api('GET', `/api/v1/deployments/${depId}`);
    assert.equal(dep.body.metadata.state, 'DEPLOYED');
    assert.equal(dep.body.metadata.output, 'reload ok');
    assert.equal(dep.body.metadata.servedSerial, serial);
    assert.equal(dep.body.metadata.attempts, 1);
    const events = await ck.api('GET', `/api/v1/events?filter.type=deployment.succeeded`);
    assert.ok(events.body.items.some((e: any) => e.properties.subjectId === depId));
  });

  test('a failed agent attempt is FAILED with the output and retried with backoff; retry brings it back at once', async () => {
    const a = await enrol('web-4');
    await ck.api('POST', '/api/v1/deployment-targets', { properties: { name: 'web-4-files', type: 'agent', agent: 'web-4', settings: { certificatePath: '/srv/cert.pem' } } });
    const requested = await ck.api('POST', `/api/v1/certificates/${certificateId}/deploy`, { targets: ['web-4-files'] });
    const depId = requested.body.items[0].id;
    const work = await agentCall(a.credential, 'GET', '/work?wait=5');
    assert.equal(work.body.deployments[0].id, depId);
    assert.equal(work.body.deployments[0].material.privateKeyPem, undefined, 'no key for a target that writes no key');
    await agentCall(a.credential, 'POST', `/deployments/${depId}/result`, { state: 'FAILED', message: 'reload command exited with code 3', output: 'boom' });
    const failed = await ck.api('GET', `/api/v1/deployments/${depId}`);
    assert.equal(failed.body.metadata.state, 'FAILED');
    assert.match(failed.body.metadata.message, /exited with code 3 \(attempt 1 of 10; next at /);
    assert.equal(failed.body.metadata.output, 'boom');
    assert.ok(Date.parse(failed.body.metadata.nextAttemptAt) > Date.now() + 30_000);
    assert.equal((await agentCall(a.credential, 'GET', '/work?wait=0')).body.deployments.length, 0, 'not before its next attempt');
    const retried = await ck.api('POST', `/api/v1/deployments/${depId}/retry`);
    assert.equal(retried.status, 202, retried.text);
    const again = await agentCall(a.credential, 'GET', '/work?wait=5');
    assert.equal(again.body.deployments[0]?.id, depId);
  });

  test('the script target runs on the server with the files in its environment; a failing script reports its output', async () => {
    const out = join(work, 'script-out');
    const good = await ck.api('POST', '/api/v1/deployment-targets', { properties: { name: 'copy', type: 'script', settings: { command: `cp "$CERTKEEPER_FULLCHAIN_FILE" '${out}.pem' && echo "deployed $CERTKEEPER_SERIAL_NUMBER"` } } });
    assert.equal(good.status, 201, good.text);
    const bad = await ck.api('POST', '/api/v1/deployment-targets', { properties: { name: 'broken', type: 'script', settings: { command: 'echo "cannot reach the load balancer" >&2; exit 7' } } });
    assert.equal(bad.status, 201, bad.text);
    const requested = await ck.api('POST', `/api/v1/certificates/${certificateId}/deploy`, { targets: ['copy', 'broken'] });
    assert.equal(requested.body.items.length, 2);
    const [okId, badId] = requested.body.items.map((i: any) => i.id);
    const ok = await ck.waitFor(`/api/v1/deployments/${okId}`, (b: any) => b.metadata.state !== 'PENDING', 20_000);
    assert.equal(ok.metadata.state, 'DEPLOYED', ok.metadata.message);
    assert.match(ok.metadata.output, /deployed/);
    assert.ok(existsSync(`${out}.pem`));
    assert.equal(new X509Certificate(readFileSync(`${out}.pem`)).serialNumber.toLowerCase(), serial);
    const failed = await ck.waitFor(`/api/v1/deployments/${badId}`, (b: any) => b.metadata.state !== 'PENDING', 20_000);
    assert.equal(failed.metadata.state, 'FAILED');
    assert.match(failed.metadata.output, /cannot reach the load balancer/);
    assert.ok(failed.metadata.nextAttemptAt, 'it will be tried again');
    const failedEvents = await ck.api('GET', '/api/v1/events?filter.type=deployment.failed');
    assert.ok(failedEvents.body.items.some((e: any) => e.properties.subjectId === badId));
    // Retry runs the next attempt now, not when the failed attempt's backoff comes due.
    const retried = await ck.api('POST', `/api/v1/deployments/${badId}/retry`);
    assert.equal(retried.status, 202, retried.text);
    const again = await ck.waitFor(`/api/v1/deployments/${badId}`, (b: any) => b.metadata.state === 'FAILED' && b.metadata.lastModifiedDate !== failed.metadata.lastModifiedDate, 15_000);
    assert.equal(again.metadata.attempts, 1, 'retry starts the count again');
    const events = await ck.api('GET', `/api/v1/events?filter.type=deployment.failed&filter.subjectId=${badId}`);
    assert.equal(events.body.total, 2, 'the retried attempt ran');
  });

  test('bad requests name the field at fault', async () => {
    const unknownTarget = await ck.api('POST', `/api/v1/certificates/${certificateId}/deploy`, { targets: ['nope'] });
    assert.equal(unknownTarget.status, 400);
    assert.equal(unknownTarget.body.errors[0].field, 'targets[0]');
    const missing = await ck.api('POST', '/api/v1/certificates/00000000-0000-0000-0000-000000000000/deploy', { targets: ['copy'] });
    assert.equal(missing.status, 404);
    const filterBad = await ck.api('GET', '/api/v1/deployments?filter.colour=red');
    assert.equal(filterBad.status, 400);
  });
});
