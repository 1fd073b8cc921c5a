// certkeeper's own HTTPS (docs/tls.md): a PEM file pair replaced by an external renewer, and an
// auto certificate issued by real Pebble, each swapped into the running listener without a
// restart; until the auto certificate is issued a self-signed placeholder is served.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeChain, type TestChain } from '../harness/openssl-ca.js';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';

const work = mkdtempSync(join(tmpdir(), 'ck-self-tls-'));
const handles: { stop(): Promise<void> }[] = [];
after(async () => {
  for (const h of handles.reverse()) await h.stop();
});

/** Trust for a connection: a CA and the name to check, or none (the placeholder). */
interface Trust {
  ca?: string;
  servername?: string;
}

/** Lower-case hex without leading zeros, for comparing serials from different parsers. */
const serialOf = (hex: string) => hex.toLowerCase().replace(/^0+/, '');

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** One fresh TLS handshake with the server: what it presented and whether `trust` accepts it. */
function handshake(url: string, trust: Trust = {}): Promise<{ cert: PeerCertificate; authorized: boolean; error: string | null; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port: portOf(url), rejectUnauthorized: false, ...trust }, () => {
      const cert = socket.getPeerCertificate();
      const error = socket.authorizationError ? String(socket.authorizationError) : null;
      resolve({ cert, authorized: socket.authorized, error, protocol: socket.getProtocol() });
      socket.end();
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
  text: string;
  /** Serial of the certificate on the connection that carried this response. */
  servedSerial: string;
}

/** A JSON request over HTTPS; a fresh connection unless `agent` keeps one alive. */
function call(ck: CertkeeperHandle, method: string, path: string, body?: unknown, opts: Trust & { agent?: Agent; headers?: Record<string, string> } = {}): Promise<Res> {
  const { agent, headers = {}, ...trust } = opts;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(ck.url + path, {
      method,
      agent: agent ?? false,
      ...(trust.ca ? { ca: trust.ca, servername: trust.servername } : { rejectUnauthorized: false }),
      headers: { authorization: `Bearer ${ck.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    }, (res) => {
      const servedSerial = serialOf((res.socket as TLSSocket).getPeerCertificate().serialNumber);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let parsed: any = text;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, headers: res.headers, body: parsed, text, servedSerial });
      });
    });
    req.once('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Polls `path` until `done(body)`; fails after `timeoutMs`. */
async function waitFor(ck: CertkeeperHandle, path: string, done: (b: any) => boolean, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: Res | undefined;
  while (Date.now() < deadline) {
    last = await call(ck, 'GET', path);
    if (last.status === 200 && done(last.body)) return last.body;
    await sleep(200);
  }
  throw new Error(`timed out waiting on ${path}; last answer: ${last?.status} ${last?.text.slice(0, 2000)}`);
}

/** Opens new connections until one presents `serial`; the swap is polled every 5 s, so 30 s is plenty. */
async function waitForServedSerial(url: string, serial: string, trust: Trust = {}, timeoutMs = 30_000): Promise<PeerCertificate> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    const { cert } = await handshake(url, trust);
    seen = serialOf(cert.serialNumber);
    if (seen === serialOf(serial)) return cert;
    await sleep(200);
  }
  throw new Error(`new connections still get serial ${seen}, not ${serialOf(serial)}, after ${timeoutMs} ms`);
}

async function waitForLog(ck: CertkeeperHandle, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(ck.logs())) {
    if (Date.now() > deadline) throw new Error(`no log line matched ${pattern}`);
    await sleep(100);
  }
}

/** Replaces `file` atomically, as a renewer should. */
function replace(file: string, text: string): void {
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
}

/** A stretch of the key's private part (past the constant PKCS#8 prefix), for leak checks. */
const keySecret = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('').slice(50, 90);

describe('certkeeper over HTTPS with a certificate it manages', () => {
  test('a file pair: served, replaced on disk, swapped in without a restart', { timeout: 120_000 }, async () => {
    const name = 'ck-self.e2e.test';
    const first: TestChain = makeChain(name);
    const certFile = join(work, 'tls.crt');
    const keyFile = join(work, 'tls.key');
    writeFileSync(certFile, first.leafPem + first.intermediatePem);
    writeFileSync(keyFile, first.leafKeyPem);
    const ck = await startCertkeeper({ CERTKEEPER_TLS_CERT_FILE: certFile, CERTKEEPER_TLS_KEY_FILE: keyFile });
    handles.push(ck);
    const server = ck.server;
    assert.match(ck.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const firstTrust = { ca: first.rootPem, servername: name };

    const h1 = await handshake(ck.url, firstTrust);
    assert.equal(h1.authorized, true, h1.error ?? '');
    assert.equal(serialOf(h1.cert.serialNumber), serialOf(new X509Certificate(first.leafPem).serialNumber));
    assert.match(h1.protocol ?? '', /^TLSv1\.[23]$/);
    // TLS 1.1 is refused by the server, even from a client willing to speak it.
    await assert.rejects(handshake(ck.url, { ...firstTrust, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' } as Trust));
    assert.equal((await call(ck, 'GET', '/healthz', undefined, firstTrust)).status, 200);
    assert.equal((await call(ck, 'GET', '/api/v1/auto-certificates', undefined, firstTrust)).status, 200);

    // Fastify sees the request as https, so the session cookie of a login is Secure.
    const invited = await call(ck, 'POST', '/api/v1/users', { properties: { email: 'tls-user@example.com', role: 'viewer' } }, firstTrust);
    assert.equal(invited.status, 201, invited.text);
    const password = 'correct horse battery staple';
    const activated = await call(ck, 'POST', '/api/v1/users/activate', { invitation: invited.body.properties.invitation.token, password }, firstTrust);
    assert.equal(activated.status, 200, activated.text);
    const login = await call(ck, 'POST', '/api/v1/sessions', { email: 'tls-user@example.com', password }, { ...firstTrust, headers: { authorization: '' } });
    assert.equal(login.status, 201, login.text);
    assert.match(String(login.headers['set-cookie']), /; Secure/);

    // A keep-alive connection opened before the swap.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await call(ck, 'GET', '/healthz', undefined, { ...firstTrust, agent: keepAlive });
    assert.equal(before.status, 200);

    // A renewer writes the new certificate first, then its key: the half-written state is refused
    // and the old certificate stays; once the key matches, new connections get the new one.
    const second = makeChain(name);
    const secondSerial = new X509Certificate(second.leafPem).serialNumber;
    replace(certFile, second.leafPem + second.intermediatePem);
    await waitForLog(ck, /does not belong to the first certificate of CERTKEEPER_TLS_CERT_FILE/);
    assert.equal(serialOf((await handshake(ck.url, firstTrust)).cert.serialNumber), serialOf(h1.cert.serialNumber), 'a mismatched pair is not served');
    replace(keyFile, second.leafKeyPem);
    const secondTrust = { ca: second.rootPem, servername: name };
    await waitForServedSerial(ck.url, secondSerial, secondTrust);
    const h2 = await handshake(ck.url, secondTrust);
    assert.equal(h2.authorized, true, h2.error ?? '');
    assert.equal((await call(ck, 'GET', '/healthz', undefined, secondTrust)).status, 200);

    // Same server object, same listener; the connection from before still works on the old certificate.
    assert.equal(ck.server, server);
    assert.equal(serialOf(ck.server.tls?.served().serialNumber ?? ''), serialOf(secondSerial));
    const still = await call(ck, 'GET', '/healthz', undefined, { ...firstTrust, agent: keepAlive });
    assert.equal(still.status, 200);
    assert.equal(still.servedSerial, before.servedSerial, 'the existing connection kept its session');
    keepAlive.destroy();

    const logs = ck.logs();
    assert.match(logs, new RegExp(`now serving certificate ${name} \\(serial 0*${serialOf(secondSerial)},`));
    assert.ok(!logs.includes('PRIVATE KEY'), 'no key in the logs');
    assert.ok(!logs.includes(keySecret(first.leafKeyPem)) && !logs.includes(keySecret(second.leafKeyPem)), 'no key in the logs');
  });

  test('a file pair whose key does not belong to its certificate is refused at start, naming the variables', async () => {
    const chain = makeChain('mismatch.e2e.test');
    const certFile = join(work, 'mismatch.crt');
    const keyFile = join(work, 'mismatch.key');
    writeFileSync(certFile, chain.leafPem + chain.intermediatePem);
    writeFileSync(keyFile, chain.otherKeyPem);
    await assert.rejects(startCertkeeper({ CERTKEEPER_TLS_CERT_FILE: certFile, CERTKEEPER_TLS_KEY_FILE: keyFile }),
      (e: Error) => e.name === 'ConfigError' && /CERTKEEPER_TLS_KEY_FILE .* does not belong to the first certificate of CERTKEEPER_TLS_CERT_FILE/.test(e.message) && !e.message.includes('PRIVATE KEY'));
    writeFileSync(keyFile, 'not a key');
    await assert.rejects(startCertkeeper({ CERTKEEPER_TLS_CERT_FILE: certFile, CERTKEEPER_TLS_KEY_FILE: keyFile }), /CERTKEEPER_TLS_KEY_FILE/);
  });

  test('an auto certificate: placeholder first, then the Pebble-issued version, then its renewal', { timeout: 300_000 }, async () => {
    const httpPort = await freePort();
    const pebble: PebbleHandle = await startPebble({ httpPort });
    handles.push(pebble);
    const ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}`, CERTKEEPER_TLS_AUTO_CERTIFICATE: 'self' });
    handles.push(ck);
    const server = ck.server;
    assert.match(ck.url, /^https:\/\//);

    // No auto certificate "self" yet: a self-signed placeholder, with a warning naming the variable.
    const placeholder = await handshake(ck.url);
    assert.equal(placeholder.authorized, false);
    assert.match(String(placeholder.cert.subject.CN), /placeholder/);
    assert.deepEqual(placeholder.cert.issuer, placeholder.cert.subject);
    assert.match(ck.logs(), /CERTKEEPER_TLS_AUTO_CERTIFICATE=self: the default tenant has no auto certificate named \\?"self\\?" yet; serving a temporary self-signed certificate/);

    // Set it up through the API, over HTTPS with the placeholder.
    const provider = await call(ck, 'POST', '/api/v1/providers', { properties: { name: 'pebble', email: 'ops@example.com', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
    assert.equal(provider.status, 202, provider.text);
    const p = await waitFor(ck, `/api/v1/providers/${provider.body.id}`, (b) => b.metadata.state !== 'PROVISIONING');
    assert.equal(p.metadata.state, 'AVAILABLE', p.metadata.message);
    const created = await call(ck, 'POST', '/api/v1/auto-certificates', { properties: { name: 'self', provider: provider.body.id, commonName: 'self.e2e.test', challengeType: 'http-01' } });
    assert.equal(created.status, 202, created.text);
    const issued = await waitFor(ck, `/api/v1/auto-certificates/${created.body.id}`, (b) => b.metadata.state === 'AVAILABLE' || b.metadata.state === 'FAILED');
    assert.equal(issued.metadata.state, 'AVAILABLE', issued.metadata.message);
    const firstId = issued.metadata.lastIssuedCertificate;
    const firstVersion = await call(ck, 'GET', `/api/v1/certificates/${firstId}`);
    const firstSerial: string = firstVersion.body.metadata.serialNumber;

    // New connections get the issued certificate, which verifies against Pebble's issuing root.
    const trust = { ca: await pebble.issuingRootPem(), servername: 'self.e2e.test' };
    await waitForServedSerial(ck.url, firstSerial);
    const h1 = await handshake(ck.url, trust);
    assert.equal(h1.authorized, true, h1.error ?? '');
    assert.equal(serialOf(h1.cert.serialNumber), serialOf(firstSerial));
    assert.equal((await call(ck, 'GET', '/healthz', undefined, trust)).status, 200);

    // Renewal: the new version replaces the first for new connections, in the same process.
    const renew = await call(ck, 'POST', `/api/v1/auto-certificates/${created.body.id}/renew`, {}, trust);
    assert.equal(renew.status, 202, renew.text);
    const renewed = await waitFor(ck, `/api/v1/auto-certificates/${created.body.id}`, (b) => b.metadata.lastIssuedCertificate !== firstId && b.metadata.state === 'AVAILABLE');
    const secondVersion = await call(ck, 'GET', `/api/v1/certificates/${renewed.metadata.lastIssuedCertificate}`);
    const secondSerial: string = secondVersion.body.metadata.serialNumber;
    assert.notEqual(serialOf(secondSerial), serialOf(firstSerial));
    await waitForServedSerial(ck.url, secondSerial, trust);
    const h2 = await handshake(ck.url, trust);
    assert.equal(h2.authorized, true, h2.error ?? '');
    assert.equal(ck.server, server);

    const logs = ck.logs();
    assert.match(logs, new RegExp(`now serving certificate ${firstVersion.body.properties.name} \\(serial 0*${serialOf(firstSerial)},`));
    assert.match(logs, new RegExp(`now serving certificate ${secondVersion.body.properties.name} \\(serial 0*${serialOf(secondSerial)},`));
    assert.ok(!logs.includes('PRIVATE KEY'), 'no key in the logs');
  });
});
