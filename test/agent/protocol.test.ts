// The agent's protocol loop (runAgent) against a fake of the server's agent endpoints: enrolment
// and the stored credential, heartbeats, http-01 sets and their acks, CSR answers, deployment
// results, retries, 409 drops, stopping after the deployment in hand, and exit code 3 on 401.
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAgent, AGENT_EXIT, type AgentOptions } from '../../src/agent/main.js';
import { freePort } from '../harness/ports.js';
import { makeChain } from '../harness/openssl-ca.js';
import { captureLogger, deploymentWork, makeCert, scratch, type TestCert } from './fixtures.js';
import { FakeAgentServer } from './fake-server.js';

const FAST = { baseMs: 20, capMs: 100 };

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

describe('agent protocol loop', () => {
  let fake: FakeAgentServer;
  let s: ReturnType<typeof scratch>;
  let cert: TestCert;
  const certs: TestCert[] = [];
  beforeEach(async () => {
    fake = new FakeAgentServer();
    await fake.start();
    s = scratch();
    cert = certs[0] ??= makeCert('proto.test');
  });
  afterEach(async () => {
    await fake.stop();
    s.remove();
  });

  const options = (log: ReturnType<typeof captureLogger>, extra: Partial<AgentOptions> = {}): AgentOptions => ({
    server: fake.url, stateDir: join(s.dir, 'state'), logger: log.logger,
    pollWaitSeconds: 1, heartbeatIntervalMs: 200, retryTiming: FAST, version: '9.9.9-test', ...extra,
  });

  it('enrols, stores a 0600 credential, does the work, and exits 3 when the credential is revoked', async () => {
    const log = captureLogger();
    const http01Port = await freePort();
    const certificatePath = join(s.dir, 'out', 'cert.pem');
    const dep = deploymentWork(cert.material, { certificatePath, fullchainPath: join(s.dir, 'out', 'fullchain.pem') });
    fake.http01 = [{ kind: 'http-01', identifier: 'proto.test', token: 'tokenOne', keyAuthorization: 'tokenOne.thumb' }];
    fake.pendingCsr = [{ kind: 'csr', id: 'csr-9', keyId: 'k9', keyAlgorithm: 'ecdsa256', commonName: 'proto.test', names: ['www.proto.test'] }];
    fake.pendingDeployments = [dep];

    const running = runAgent(options(log, { token: fake.enrolmentToken, http01Listen: { host: '127.0.0.1', port: http01Port } }), new AbortController().signal);

    await fake.waitFor('the deployment result', () => fake.results.has(dep.id));
    await fake.waitFor('the http-01 ack', () => fake.acks.length > 0);
    await fake.waitFor('the CSR', () => fake.csrs.length > 0);
    await fake.waitFor('two heartbeats', () => fake.heartbeats.length >= 2);

    // Enrolment: once, with the facts about this host; the credential stored 0600.
    assert.equal(fake.enrolments.length, 1);
    assert.equal(fake.enrolments[0]!.version, '9.9.9-test');
    assert.equal(fake.enrolments[0]!.platform, `${process.platform}-${process.arch}`);
    const credFile = join(s.dir, 'state', 'credential');
    assert.equal(readFileSync(credFile, 'utf8').trim(), fake.credential);
    assert.equal(statSync(credFile).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(join(s.dir, 'state', 'agent.json'), 'utf8')).agentId, 'agent-1');
    // Every later call carries the credential.
    for (const c of fake.calls.filter((c) => !c.path.startsWith('/api/v1/agent/enrol'))) assert.equal(c.bearer, fake.credential, `${c.method} ${c.path}`);
    assert.equal(fake.heartbeats[0]!.http01, `listen 127.0.0.1:${http01Port}`);
    assert.equal(fake.heartbeats[0]!.version, '9.9.9-test');

    // The deployment's result, and its files.
    const result = fake.results.get(dep.id)!;
    assert.equal(result.state, 'DEPLOYED', result.message);
    assert.equal(readFileSync(certificatePath, 'utf8'), cert.material.certificatePem);
    // http-01: served, then acknowledged with exactly its tokens.
    assert.deepEqual(fake.acks[0], ['tokenOne']);
    assert.deepEqual(await httpGet(http01Port, '/.well-known/acme-challenge/tokenOne'), { status: 200, body: 'tokenOne.thumb' });
    // A new set: the old token goes, the new one is acked.
    fake.http01 = [{ kind: 'http-01', identifier: 'proto.test', token: 'tokenTwo', keyAuthorization: 'tokenTwo.thumb' }];
    await fake.waitFor('the second ack', () => fake.acks.some((a) => a[0] === 'tokenTwo'));
    assert.equal((await httpGet(http01Port, '/.well-known/acme-challenge/tokenOne')).status, 404);
    assert.equal((await httpGet(http01Port, '/.well-known/acme-challenge/tokenTwo')).status, 200);
    // The CSR: verified by openssl, key kept by the agent, never sent.
    const { csr } = fake.csrs[0]!;
    execFileSync('openssl', ['req', '-verify', '-noout'], { input: csr, stdio: ['pipe', 'ignore', 'ignore'] });
    assert.match(execFileSync('openssl', ['req', '-noout', '-text'], { input: csr, encoding: 'utf8' }), /DNS:proto\.test, DNS:www\.proto\.test/);
    assert.ok(existsSync(join(s.dir, 'state', 'keys', 'k9.pem')));
    for (const c of fake.calls) assert.doesNotMatch(JSON.stringify(c.body ?? ''), /PRIVATE KEY/);

    // Revoked: the next call is refused, the agent ends with exit code 3, without spinning.
    fake.revoked = true;
    const t0 = Date.now();
    assert.equal(await running, AGENT_EXIT.REFUSED);
    assert.ok(Date.now() - t0 < 5000);
    const refusedCalls = fake.calls.filter((c) => c.status === 401);
    assert.ok(refusedCalls.length <= 3, `stopped after the first refusals (${refusedCalls.length})`);
    assert.match(log.text(), /refused the agent credential[^"]*revoked[^"]*delete [^"]*credential/);
    // Never the token or the credential in the log.
    assert.ok(!log.text().includes(fake.enrolmentToken));
    assert.ok(!log.text().includes(fake.credential));
    assert.deepEqual(fake.protocolErrors, []);
    // The listener is closed.
    await assert.rejects(httpGet(http01Port, '/.well-known/acme-challenge/tokenTwo'));
  });

  it('starts with the stored credential (no enrolment) and stops with 0 when aborted', async () => {
    const log = captureLogger();
    const stateDir = join(s.dir, 'state');
    execFileSync('mkdir', ['-p', stateDir]);
    writeFileSync(join(stateDir, 'credential'), `${fake.credential}\n`, { mode: 0o600 });
    const stop = new AbortController();
    const running = runAgent(options(log, { token: 'cke_ignored_when_a_credential_is_stored' }), stop.signal);
    await fake.waitFor('a work poll', () => fake.callsTo('/api/v1/agent/work').length >= 2);
    assert.equal(fake.enrolments.length, 0);
    assert.equal(fake.heartbeats[0]!.http01, 'off');
    const t0 = Date.now();
    stop.abort();
    assert.equal(await running, AGENT_EXIT.OK);
    assert.ok(Date.now() - t0 < 2000, 'the long poll is abandoned at once');
    assert.deepEqual(fake.protocolErrors, []);
  });

  it('takes a credential given as --token (cka_…) without enrolling or storing it', async () => {
    const log = captureLogger();
    const stop = new AbortController();
    const running = runAgent(options(log, { token: fake.credential }), stop.signal);
    await fake.waitFor('a heartbeat', () => fake.heartbeats.length > 0);
    stop.abort();
    assert.equal(await running, AGENT_EXIT.OK);
    assert.equal(fake.enrolments.length, 0);
    assert.ok(!existsSync(join(s.dir, 'state', 'credential')));
  });

  it('a refused enrolment token ends with 3 and stores nothing', async () => {
    const log = captureLogger();
    const code = await runAgent(options(log, { token: 'cke_wrong' }), new AbortController().signal);
    assert.equal(code, AGENT_EXIT.REFUSED);
    assert.ok(!existsSync(join(s.dir, 'state', 'credential')));
    assert.match(log.text(), /not a valid enrolment token \(this enrolment token is unknown, used or expired/);
    assert.ok(!log.text().includes('cke_wrong'));
  });

  it('no credential and no token: exit 2 with what to give', async () => {
    const log = captureLogger();
    assert.equal(await runAgent(options(log), new AbortController().signal), AGENT_EXIT.CONFIG);
    assert.match(log.text(), /no credential in .*credential and no enrolment token: give --token/);
  });

  it('retries 503s with backoff, drops a result the server answers 409, and keeps going', async () => {
    const log = captureLogger();
    fake.failWork = 3;
    const dep1 = deploymentWork(cert.material, { certificatePath: join(s.dir, 'out', 'a.pem') });
    const dep2 = deploymentWork(cert.material, { certificatePath: join(s.dir, 'out', 'b.pem') });
    fake.pendingDeployments = [dep1];
    fake.resultStatus = (id) => (id === dep1.id ? 409 : 204);
    const stop = new AbortController();
    const running = runAgent(options(log, { token: fake.enrolmentToken }), stop.signal);
    await fake.waitFor('the 409', () => fake.calls.some((c) => c.status === 409));
    assert.equal(fake.calls.filter((c) => c.status === 503).length, 3);
    fake.pendingDeployments = [dep2];
    await fake.waitFor('the second result', () => fake.results.has(dep2.id));
    assert.ok(!fake.results.has(dep1.id));
    assert.match(log.text(), /took this deployment back/);
    assert.match(log.text(), /polling for work failed; retrying/);
    // One result post for the 409: it is not retried.
    assert.equal(fake.callsTo(`/api/v1/agent/deployments/${dep1.id}/result`).length, 1);
    stop.abort();
    assert.equal(await running, AGENT_EXIT.OK);
  });

  it('keeps retrying while the server is unreachable, and stops at once when aborted', async () => {
    const log = captureLogger();
    const stateDir = join(s.dir, 'state');
    execFileSync('mkdir', ['-p', stateDir]);
    writeFileSync(join(stateDir, 'credential'), fake.credential, { mode: 0o600 });
    const deadPort = await freePort();
    const stop = new AbortController();
    const running = runAgent(options(log, { server: `http://127.0.0.1:${deadPort}` }), stop.signal);
    await new Promise((r) => setTimeout(r, 600));
    stop.abort();
    assert.equal(await running, AGENT_EXIT.OK);
    const retries = log.lines.filter((l) => String(l.msg).includes('failed; retrying'));
    assert.ok(retries.length >= 3, `retried (${retries.length})`);
    assert.ok(retries.length < 40, 'with backoff, not a busy loop');
  });

  it('a stop during a deployment finishes it, reports it, then exits 0', async () => {
    const log = captureLogger();
    const started = join(s.dir, 'started');
    const dep = deploymentWork(cert.material, { certificatePath: join(s.dir, 'out', 'c.pem'), reloadCommand: `touch ${started}; sleep 1` });
    fake.pendingDeployments = [dep];
    const stop = new AbortController();
    const running = runAgent(options(log, { token: fake.enrolmentToken }), stop.signal);
    await fake.waitFor('the reload to start', () => existsSync(started));
    stop.abort();
    const pollsAtStop = fake.callsTo('/api/v1/agent/work').length;
    assert.equal(await running, AGENT_EXIT.OK);
    assert.equal(fake.results.get(dep.id)?.state, 'DEPLOYED');
    assert.equal(fake.callsTo('/api/v1/agent/work').length, pollsAtStop, 'no poll after the stop');
  });

  it('a stop whose grace period runs out interrupts the deployment and rolls it back', async () => {
    const log = captureLogger();
    const started = join(s.dir, 'started');
    const target = join(s.dir, 'out', 'd.pem');
    execFileSync('mkdir', ['-p', join(s.dir, 'out')]);
    writeFileSync(target, 'previous\n');
    const dep = deploymentWork(cert.material, { certificatePath: target, reloadCommand: `[ -n "$CERTKEEPER_ROLLBACK" ] && exit 0; touch ${started}; sleep 30` });
    fake.pendingDeployments = [dep];
    const stop = new AbortController();
    const running = runAgent(options(log, { token: fake.enrolmentToken, shutdownGraceMs: 300 }), stop.signal);
    await fake.waitFor('the reload to start', () => existsSync(started));
    stop.abort();
    assert.equal(await running, AGENT_EXIT.OK);
    assert.equal(readFileSync(target, 'utf8'), 'previous\n');
    assert.ok(!existsSync(`${target}.certkeeper-bak`));
  });
});

describe('agent over HTTPS with --ca-file', () => {
  it('trusts the server only with the extra CA', async () => {
    const chain = makeChain('localhost');
    const fake = new FakeAgentServer();
    await fake.start({ cert: chain.leafPem + chain.intermediatePem, key: chain.leafKeyPem });
    const s = scratch();
    try {
      // Without the CA: the TLS handshake fails (retried), no request reaches the server.
      const untrusting = captureLogger();
      const stop1 = new AbortController();
      const r1 = runAgent({ server: fake.url, token: fake.enrolmentToken, stateDir: join(s.dir, 'a'), logger: untrusting.logger, retryTiming: FAST, version: 't' }, stop1.signal);
      await new Promise((r) => setTimeout(r, 500));
      stop1.abort();
      assert.equal(await r1, AGENT_EXIT.OK);
      assert.equal(fake.calls.length, 0);
      assert.match(untrusting.text(), /unable to get local issuer certificate","msg":"enrolment failed; retrying"/);

      // With it: enrolment and polling work.
      const log = captureLogger();
      const stop2 = new AbortController();
      const r2 = runAgent({ server: fake.url, token: fake.enrolmentToken, stateDir: join(s.dir, 'b'), logger: log.logger, caPem: chain.rootPem, retryTiming: FAST, pollWaitSeconds: 1, version: 't' }, stop2.signal);
      await fake.waitFor('a work poll', () => fake.callsTo('/api/v1/agent/work').length > 0);
      stop2.abort();
      assert.equal(await r2, AGENT_EXIT.OK);
      assert.equal(fake.enrolments.length, 1);
      assert.doesNotMatch(log.text(), /plain http/);
    } finally {
      await fake.stop();
      s.remove();
    }
  });
});

describe('certkeeper agent (the CLI command)', () => {
  const ROOT = fileURLToPath(new URL('../../', import.meta.url));
  const s = scratch();
  const fake = new FakeAgentServer();
  after(async () => {
    await fake.stop();
    s.remove();
  });

  const runCli = (args: string[], env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'run.ts'), 'agent', ...args], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    void exited.then(() => clearTimeout(timer));
    return { child, exited, output: () => out };
  };

  it('enrols from a token file, stops with 0 on SIGTERM, and exits 3 once revoked', async () => {
    await fake.start();
    const tokenFile = join(s.dir, 'token');
    writeFileSync(tokenFile, `${fake.enrolmentToken}\n`, { mode: 0o600 });
    const stateDir = join(s.dir, 'state');

    const first = runCli(['--server', fake.url, '--token-file', tokenFile, '--log-level', 'debug'], { CERTKEEPER_AGENT_STATE_DIR: stateDir });
    await fake.waitFor('a heartbeat', () => fake.heartbeats.length > 0, 60_000);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    assert.equal(statSync(join(stateDir, 'credential')).mode & 0o777, 0o600);
    assert.ok(!first.output().includes(fake.enrolmentToken));
    assert.ok(!first.output().includes(fake.credential));

    fake.revoked = true;
    const second = runCli([], { CERTKEEPER_AGENT_SERVER: fake.url, CERTKEEPER_AGENT_STATE_DIR: stateDir });
    assert.equal(await second.exited, 3, second.output());
    assert.match(second.output(), /refused the agent credential/);
    assert.equal(fake.enrolments.length, 1);
  });

  it('bad settings exit 2 with a message', async () => {
    const r = runCli(['--server', 'ftp://x', '--state-dir', join(s.dir, 'x')]);
    assert.equal(await r.exited, 2);
    assert.match(r.output(), /certkeeper agent: --server "ftp:\/\/x" is not an http\(s\) URL/);
  });
});
