// End to end against real Pebble (default 5 % nonce rejection left on): providers, auto
// certificates for every key algorithm, a 100-name certificate, renewal into a second version,
// export, revoke, and no secret in any response, log line or database column.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';

let pebble: PebbleHandle;
let ck: CertkeeperHandle;
let providerId: string;
let root: string;
const work = mkdtempSync(join(tmpdir(), 'ck-e2e-'));

/** Verifies leaf + chain against Pebble's issuing root with the OpenSSL CLI. */
function opensslVerify(leaf: string, chain: string): string {
  writeFileSync(join(work, 'root.pem'), root);
  writeFileSync(join(work, 'leaf.pem'), leaf);
  writeFileSync(join(work, 'chain.pem'), chain);
  return execFileSync('openssl', ['verify', '-CAfile', join(work, 'root.pem'), '-untrusted', join(work, 'chain.pem'), join(work, 'leaf.pem')], { encoding: 'utf8' });
}

async function issue(name: string, commonName: string, extra: Record<string, unknown> = {}) {
  const created = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name, provider: providerId, commonName, challengeType: 'http-01', ...extra } });
  assert.equal(created.status, 202, created.text);
  assert.equal(created.body.metadata.state, 'PROVISIONING');
  const done = await ck.waitFor(`/api/v1/auto-certificates/${created.body.id}`, (b: any) => b.metadata.state === 'AVAILABLE' || b.metadata.state === 'FAILED', 120_000);
  assert.equal(done.metadata.state, 'AVAILABLE', done.metadata.message);
  return done;
}

async function exportPem(id: string) {
  const res = await ck.api('POST', `/api/v1/certificates/${id}/export`, { format: 'pem', includePrivateKey: true });
  assert.equal(res.status, 200, res.text);
  return res.body as { certificate: string; certificateChain: string; fullchain: string; privateKey: string };
}

before(async () => {
  const httpPort = await freePort();
  pebble = await startPebble({ httpPort });
  root = await pebble.issuingRootPem();
  ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}` });
  const res = await ck.api('POST', '/api/v1/providers', { properties: { name: 'pebble', email: 'ops@example.com', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
  assert.equal(res.status, 202, res.text);
  providerId = res.body.id;
  const p = await ck.waitFor(`/api/v1/providers/${providerId}`, (b: any) => b.metadata.state !== 'PROVISIONING');
  assert.equal(p.metadata.state, 'AVAILABLE', p.metadata.message);
  assert.match(p.metadata.accountUrl, /^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
});

after(async () => {
  await ck?.stop();
  await pebble?.stop();
});

describe('issuance through Pebble', () => {
  for (const keyAlgorithm of ['ecdsa256', 'ecdsa384', 'rsa2048', 'rsa3072', 'rsa4096']) {
    test(`${keyAlgorithm}: issued, verifies against Pebble's root, key matches`, async () => {
      const cn = `${keyAlgorithm}.e2e.test`;
      const ac = await issue(`site-${keyAlgorithm}`, cn, { keyAlgorithm, subjectAlternativeNames: [`www.${cn}`] });
      const certId = ac.metadata.lastIssuedCertificate;
      const cert = await ck.api('GET', `/api/v1/certificates/${certId}`);
      assert.equal(cert.status, 200);
      assert.equal(cert.body.metadata.state, 'AVAILABLE');
      assert.equal(cert.body.metadata.source, 'acme');
      assert.equal(cert.body.metadata.keyAlgorithm, keyAlgorithm);
      assert.deepEqual([...cert.body.metadata.subjectAlternativeNames].sort(), [cn, `www.${cn}`].sort());
      assert.match(cert.body.properties.name, new RegExp(`^${cn.replace(/\./g, '\\.')}_\\d{8}T\\d{6}Z$`));
      assert.equal(cert.body.properties.privateKey, undefined, 'reading never returns the key');
      assert.match(opensslVerify(cert.body.properties.certificate, cert.body.properties.certificateChain), /leaf\.pem: OK/);
      const exported = await exportPem(certId);
      const pub = createPublicKey(createPrivateKey(exported.privateKey)).export({ type: 'spki', format: 'der' });
      assert.deepEqual(new X509Certificate(exported.certificate).publicKey.export({ type: 'spki', format: 'der' }), pub);
    });
  }

  test('a 100-name certificate', async () => {
    const sans = Array.from({ length: 99 }, (_, i) => `n${i}.hundred.test`);
    const ac = await issue('hundred', 'hundred.test', { subjectAlternativeNames: sans });
    const cert = await ck.api('GET', `/api/v1/certificates/${ac.metadata.lastIssuedCertificate}`);
    assert.equal(cert.body.metadata.subjectAlternativeNames.length, 100);
    assert.match(opensslVerify(cert.body.properties.certificate, cert.body.properties.certificateChain), /OK/);
  });

  test('an IP address certificate (RFC 8738) when a profile is set', async () => {
    const ac = await issue('ip-cert', 'ip.e2e.test', { subjectAlternativeNames: ['127.0.0.1'], profile: 'default' });
    const cert = await ck.api('GET', `/api/v1/certificates/${ac.metadata.lastIssuedCertificate}`);
    assert.deepEqual([...cert.body.metadata.subjectAlternativeNames].sort(), ['127.0.0.1', 'ip.e2e.test']);
    assert.match(opensslVerify(cert.body.properties.certificate, cert.body.properties.certificateChain), /OK/);
  });

  test('renewal yields a second version; the first stays listed as SUPERSEDED', async () => {
    const ac = await issue('renew-me', 'renew.e2e.test');
    const first = ac.metadata.lastIssuedCertificate;
    const firstKey = (await exportPem(first)).privateKey;
    const res = await ck.api('POST', `/api/v1/auto-certificates/${ac.id}/renew`, { rekey: true });
    assert.equal(res.status, 202, res.text);
    const renewed = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, (b: any) => b.metadata.lastIssuedCertificate !== first && b.metadata.state === 'AVAILABLE', 120_000);
    const second = renewed.metadata.lastIssuedCertificate;
    const list = await ck.api('GET', `/api/v1/certificates?filter.commonName=renew.e2e.test`);
    assert.equal(list.body.total, 2);
    const byId = new Map(list.body.items.map((c: any) => [c.id, c]));
    const old = byId.get(first) as any;
    assert.equal(old.metadata.state, 'SUPERSEDED');
    assert.equal((byId.get(second) as any).metadata.state, 'AVAILABLE');
    assert.equal(old.metadata.lastIssuedCertificate, second, 'the old version points at the newest');
    const expectedDeletion = new Date(Date.parse(old.metadata.notAfter) + 30 * 86_400_000).toISOString();
    assert.equal(old.metadata.deleteAfter, expectedDeletion, 'deleted 30 days after its own expiry');
    assert.notEqual((await exportPem(second)).privateKey, firstKey, 'rekey made a new key');
  });

  test('reuse key policy keeps the key across a renewal', async () => {
    const ac = await issue('reuse-me', 'reuse.e2e.test', { keyPolicy: 'reuse' });
    const first = ac.metadata.lastIssuedCertificate;
    await ck.api('POST', `/api/v1/auto-certificates/${ac.id}/renew`, {});
    const renewed = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, (b: any) => b.metadata.lastIssuedCertificate !== first && b.metadata.state === 'AVAILABLE', 120_000);
    assert.equal((await exportPem(renewed.metadata.lastIssuedCertificate)).privateKey, (await exportPem(first)).privateKey);
  });

  test('revoke marks the version REVOKED at the CA and in the repository', async () => {
    const ac = await issue('revoke-me', 'revoke.e2e.test');
    const id = ac.metadata.lastIssuedCertificate;
    const res = await ck.api('POST', `/api/v1/certificates/${id}/revoke`, { reason: 'keyCompromise' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.metadata.state, 'REVOKED');
    assert.equal(res.body.metadata.revocationReason, 'keyCompromise');
    const again = await ck.api('POST', `/api/v1/certificates/${id}/revoke`, { reason: 'keyCompromise' });
    assert.equal(again.status, 409);
    const events = await ck.api('GET', `/api/v1/events?filter.type=certificate.revoked`);
    assert.ok(events.body.items.some((e: any) => e.properties.subjectId === id));
  });

  test('revoke signed by the certificate\'s own key (RFC 8555 §7.6), and of an imported copy naming its provider', async () => {
    const ac = await issue('revoke-by-key', 'revoke-key.e2e.test');
    const id = ac.metadata.lastIssuedCertificate;
    const res = await ck.api('POST', `/api/v1/certificates/${id}/revoke`, { reason: 'superseded', signWithCertificateKey: true });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.metadata.state, 'REVOKED');
    // An imported copy of a certificate this CA issued: revoked with its own key through the named provider.
    const other = await issue('revoke-imported', 'revoke-imported.e2e.test');
    const pem = await exportPem(other.metadata.lastIssuedCertificate);
    const imported = await ck.api('POST', '/api/v1/certificates', { properties: { name: 'copy', certificate: pem.certificate, certificateChain: pem.certificateChain, privateKey: pem.privateKey } });
    assert.equal(imported.status, 201, imported.text);
    const noProvider = await ck.api('POST', `/api/v1/certificates/${imported.body.id}/revoke`, { reason: 'cessationOfOperation' });
    assert.equal(noProvider.status, 400);
    assert.equal(noProvider.body.errors[0].field, 'provider');
    const byKey = await ck.api('POST', `/api/v1/certificates/${imported.body.id}/revoke`, { reason: 'cessationOfOperation', provider: 'pebble' });
    assert.equal(byKey.status, 200, byKey.text);
    assert.equal(byKey.body.metadata.state, 'REVOKED');
    // The CA now knows the original is revoked too: revoking it answers alreadyRevoked, which is success.
    const original = await ck.api('POST', `/api/v1/certificates/${other.metadata.lastIssuedCertificate}/revoke`, {});
    assert.equal(original.status, 200, original.text);
  });

  test('a name the CA cannot validate fails with the CA\'s reason, and its tokens are cleaned up', async () => {
    // Point the name at 127.0.0.2, where nothing answers: Pebble's VA gets "connection refused".
    const add = await fetch(`${pebble.challtestsrv!.managementUrl}/add-a`, { method: 'POST', body: JSON.stringify({ host: 'unreachable.e2e.test.', addresses: ['127.0.0.2'] }) });
    assert.equal(add.status, 200);
    const created = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'unreachable', provider: providerId, commonName: 'unreachable.e2e.test', challengeType: 'http-01' } });
    assert.equal(created.status, 202);
    const done = await ck.waitFor(`/api/v1/auto-certificates/${created.body.id}`, (b: any) => b.metadata.state === 'FAILED', 120_000);
    assert.match(done.metadata.message, /unreachable\.e2e\.test/);
    assert.match(done.metadata.message, /connection|refused|127\.0\.0\.2/i);
    assert.equal(done.metadata.failureCount, 1);
    const validations = await ck.api('GET', `/api/v1/auto-certificates/${created.body.id}/validations`);
    assert.equal(validations.body.total, 0, 'no token left published');
    const events = await ck.api('GET', `/api/v1/events?filter.type=certificate.renewal_failed&filter.subjectId=${created.body.id}`);
    assert.equal(events.body.total, 1);
  });

  test('no private key, account key or EAB secret in any response, log line or database column', async () => {
    const keys: string[] = [];
    const certs = await ck.api('GET', '/api/v1/certificates?limit=1000');
    for (const c of certs.body.items) keys.push((await exportPem(c.id)).privateKey);
    const exportedBodies = ck.responses();
    // Responses other than explicit key exports must not contain keys: count occurrences.
    const keyBodies = exportedBodies.split('\n').filter((r) => r.includes('PRIVATE KEY'));
    assert.ok(keyBodies.every((r) => r.includes('"privateKey"') && r.includes('"fullchain"')), 'only export responses carry keys');
    const logs = ck.logs();
    assert.ok(!logs.includes('PRIVATE KEY'), 'no PEM key in logs');
    for (const k of keys) {
      const b64 = k.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
      assert.ok(!logs.includes(b64.slice(0, 40)), 'no key body in logs');
    }
    // Through the server's own store: the same check on SQLite and on PostgreSQL.
    const db = ck.server.ctx.db.kysely;
    for (const table of ['providers', 'certificates', 'orders', 'auto_certificates', 'jobs', 'events', 'http01_tokens'] as const) {
      for (const row of await db.selectFrom(table).selectAll().execute()) {
        const text = JSON.stringify(row);
        assert.ok(!text.includes('PRIVATE KEY'), `${table} holds a plaintext key`);
        for (const k of keys) assert.ok(!text.includes(k.split('\n')[1]!.slice(0, 40)), `${table} holds key material`);
      }
    }
    const p = await db.selectFrom('providers').select('account_key_enc').executeTakeFirstOrThrow();
    assert.match(p.account_key_enc, /^ck1\./, 'account key is a vault envelope');
    assert.ok(readFileSync(join(ck.dataDir, 'master.key'), 'utf8').length > 0);
  });
});
