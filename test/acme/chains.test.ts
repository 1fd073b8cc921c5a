// Preferred chain selection (RFC 8555 §7.4.2 `Link: rel="alternate"`) against Pebble with an
// alternate root; validation is switched off (PEBBLE_VA_ALWAYS_VALID) to keep this file quick.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcmeClient, generateAccountKey, type AcmeOrder } from '../../src/acme/index.js';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { opensslCsr, opensslVerify, pemBlocks } from './openssl.js';

let pebble: PebbleHandle;
let dir: string;
let client: AcmeClient;
let certUrl: string;
const requested: string[] = [];

function issuerCn(pem: string): string {
  const m = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(pem).issuer);
  assert.ok(m?.[1]);
  return m[1];
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-chains-test-'));
  pebble = await startPebble({ httpPort: await freePort(), env: { PEBBLE_ALTERNATE_ROOTS: '1', PEBBLE_VA_ALWAYS_VALID: '1' } });
  client = new AcmeClient({
    directoryUrl: pebble.directoryUrl, accountKey: await generateAccountKey(), caCertificates: pebble.tlsCaPem,
    onRequest: (_m, url) => void requested.push(url),
  });
  await client.registerAccount({ termsOfServiceAgreed: true });
  const names = ['chain.test.example'];
  const { url, order } = await client.newOrder({ identifiers: names.map((value) => ({ type: 'dns' as const, value })) });
  for (const authzUrl of order.authorizations) {
    const authz = await client.getAuthorization(authzUrl);
    const ch = authz.challenges.find((c) => c.type === 'http-01');
    if (authz.status === 'pending' && ch) await client.respondToChallenge(ch.url);
  }
  const ready: AcmeOrder = await client.waitForOrder(url, ['ready'], { timeoutMs: 10_000 });
  await client.finalize(ready.finalize, (await opensslCsr(dir, names)).csrDer);
  const valid = await client.waitForOrder(url, ['valid'], { timeoutMs: 10_000 });
  assert.ok(valid.certificate);
  certUrl = valid.certificate;
});

after(async () => {
  await pebble?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the default chain lists its alternates and verifies against roots/0', async () => {
  const d = await client.downloadCertificate(certUrl);
  assert.equal(d.url, certUrl);
  assert.equal(d.alternates.length, 1);
  assert.match(await opensslVerify(dir, d.pem, await pebble.issuingRootPem()), /: OK/);
});

test('a preferred chain that only an alternate has selects the alternate', async () => {
  const def = await client.downloadCertificate(certUrl);
  const altUrl = def.alternates[0];
  assert.ok(altUrl);
  const alt = await client.downloadCertificate(altUrl);
  const altTop = pemBlocks(alt.pem).at(-1);
  const defTop = pemBlocks(def.pem).at(-1);
  assert.ok(altTop && defTop);
  const wanted = issuerCn(altTop);
  assert.notEqual(wanted, issuerCn(defTop));

  const chosen = await client.downloadCertificate(certUrl, { preferredChain: wanted });
  assert.equal(chosen.url, altUrl);
  assert.equal(chosen.pem, alt.pem);
  assert.equal(pemBlocks(chosen.pem)[0], pemBlocks(def.pem)[0], 'same leaf, different chain');
});

test('a preferred chain the default already matches costs no extra request', async () => {
  const def = await client.downloadCertificate(certUrl);
  const top = pemBlocks(def.pem).at(-1);
  assert.ok(top);
  const before = requested.length;
  const chosen = await client.downloadCertificate(certUrl, { preferredChain: issuerCn(top) });
  assert.equal(chosen.url, certUrl);
  // Only the certificate URL itself (possibly more than once: Pebble's 5 % badNonce rejections).
  assert.ok(!requested.slice(before).some((u) => def.alternates.includes(u)));
});

test('an unknown preferred chain falls back to the default', async () => {
  const chosen = await client.downloadCertificate(certUrl, { preferredChain: 'No Such CA' });
  assert.equal(chosen.url, certUrl);
});
