// AcmeClient against a real Pebble (+ pebble-challtestsrv resolving every name to 127.0.0.1),
// with http-01 answered by a local responder. Pebble rejects 5 % of nonces, so badNonce
// handling is exercised throughout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AcmeClient,
  AcmeProblemError,
  AcmeStateError,
  AcmeValidationError,
  generateAccountKey,
  isAcmeProblem,
  jwsAlgorithm,
  type AcmeOrder,
} from '../../src/acme/index.js';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startHttp01Server, type Http01Server } from './http01-server.js';
import { opensslCsr, opensslSan, opensslVerify, pemBlocks } from './openssl.js';

let pebble: PebbleHandle;
let responder: Http01Server;
let dir: string;

before(async () => {
  const httpPort = await freePort();
  responder = await startHttp01Server(httpPort);
  pebble = await startPebble({ httpPort });
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-acme-test-'));
});

after(async () => {
  await pebble?.stop();
  await responder?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function newClient(accountKey: KeyObject, extra: { onRequest?: (m: string, u: string, s: number) => void } = {}): AcmeClient {
  return new AcmeClient({ directoryUrl: pebble.directoryUrl, accountKey, caCertificates: pebble.tlsCaPem, timeoutMs: 10_000, ...extra });
}

async function registeredClient(): Promise<AcmeClient> {
  const client = newClient(await generateAccountKey());
  await client.registerAccount({ termsOfServiceAgreed: true, contact: ['mailto:ops@example.org'] });
  return client;
}

let uniq = 0;
function uniqueName(label: string): string {
  return `${label}-${process.pid}-${Date.now().toString(36)}-${++uniq}.test.example`;
}

/** Presents http-01 for every pending authorization of the order and waits until it is ready. */
async function solveHttp01(client: AcmeClient, orderUrl: string, order: AcmeOrder): Promise<AcmeOrder> {
  const pending: string[] = [];
  for (const authzUrl of order.authorizations) {
    const authz = await client.getAuthorization(authzUrl);
    if (authz.status === 'valid') continue; // RFC 8555 §7.1.3: a CA may reuse valid authorizations
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    assert.ok(challenge?.token, 'Pebble offers http-01');
    responder.set(challenge.token, client.keyAuthorization(challenge.token));
    await client.respondToChallenge(challenge.url);
    pending.push(authzUrl);
  }
  await Promise.all(pending.map((u) => client.waitForAuthorization(u, { timeoutMs: 15_000 })));
  return await client.waitForOrder(orderUrl, ['ready'], { timeoutMs: 15_000 });
}

/** Issues a certificate for `names` through the whole RFC 8555 §7.4 flow. */
async function issue(client: AcmeClient, names: string[]): Promise<{ pem: string; key: KeyObject; order: AcmeOrder }> {
  const { url, order } = await client.newOrder({ identifiers: names.map((value) => ({ type: 'dns' as const, value })) });
  assert.equal(order.identifiers.length, names.length);
  const ready = await solveHttp01(client, url, order);
  assert.equal(ready.status, 'ready');
  const { csrDer, key } = await opensslCsr(dir, names);
  await client.finalize(ready.finalize, csrDer);
  const valid = await client.waitForOrder(url, ['valid'], { timeoutMs: 15_000 });
  assert.ok(valid.certificate, 'a valid order has a certificate URL');
  const { pem } = await client.downloadCertificate(valid.certificate);
  return { pem, key, order: valid };
}

describe('directory', () => {
  test('is fetched, cached and exposes meta', async () => {
    let requests = 0;
    const client = newClient(await generateAccountKey(), { onRequest: () => void requests++ });
    const d = await client.getDirectory();
    for (const k of ['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'keyChange'] as const) {
      assert.match(d[k], /^https:\/\/127\.0\.0\.1:\d+\//);
    }
    assert.equal(d.meta?.externalAccountRequired, false);
    assert.equal(await client.getTermsOfService(), 'data:text/plain,Do%20what%20thou%20wilt');
    assert.equal(d.renewalInfo, undefined, 'Pebble 2.4 has no ARI');
    await client.getDirectory();
    await client.getMeta();
    assert.equal(requests, 1, 'directory fetched once');
  });
});

describe('accounts', () => {
  for (const alg of ['ES256', 'ES384', 'RS256'] as const) {
    test(`register with ${alg}, then registering again returns the same account`, async () => {
      const key = await generateAccountKey(alg);
      assert.equal(jwsAlgorithm(key), alg);
      const client = newClient(key);
      const first = await client.registerAccount({ termsOfServiceAgreed: true, contact: ['mailto:a@example.org'] });
      assert.equal(first.created, true);
      assert.equal(first.account.status, 'valid');
      assert.deepEqual(first.account.contact, ['mailto:a@example.org']);
      assert.equal(client.accountUrl, first.accountUrl);

      const again = await newClient(key).registerAccount({ termsOfServiceAgreed: true });
      assert.equal(again.created, false);
      assert.equal(again.accountUrl, first.accountUrl);

      const found = await newClient(key).findAccount();
      assert.equal(found.accountUrl, first.accountUrl);
      assert.equal(found.created, false);
    });
  }

  test('findAccount for an unknown key fails with accountDoesNotExist', async () => {
    const client = newClient(await generateAccountKey());
    await assert.rejects(client.findAccount(), (err: unknown) => {
      assert.ok(isAcmeProblem(err, 'accountDoesNotExist'), String(err));
      assert.equal(err.status, 400);
      assert.equal(err.retryable, false);
      return true;
    });
    assert.equal(client.accountUrl, undefined);
  });

  test('a call that needs an account fails typed before one is known', async () => {
    const client = newClient(await generateAccountKey());
    await assert.rejects(client.newOrder({ identifiers: [{ type: 'dns', value: 'x.test.example' }] }), AcmeStateError);
  });

  test('getAccount, updateAccount and deactivateAccount', async () => {
    const client = await registeredClient();
    assert.equal((await client.getAccount()).status, 'valid');
    const updated = await client.updateAccount({ contact: ['mailto:new@example.org'] });
    assert.deepEqual(updated.contact, ['mailto:new@example.org']);
    const gone = await client.deactivateAccount();
    assert.equal(gone.status, 'deactivated');
    await assert.rejects(client.newOrder({ identifiers: [{ type: 'dns', value: 'x.test.example' }] }), (err: unknown) => {
      assert.ok(isAcmeProblem(err, 'unauthorized'), String(err));
      return true;
    });
  });

  test('key rollover: the new key signs an order that gets issued, the old key has no account', async () => {
    const oldKey = await generateAccountKey('ES256');
    const client = newClient(oldKey);
    const { accountUrl } = await client.registerAccount({ termsOfServiceAgreed: true });
    const newKey = await generateAccountKey('ES384');
    await client.rolloverKey(newKey);
    assert.equal(client.accountKey, newKey);

    const found = await newClient(newKey).findAccount();
    assert.equal(found.accountUrl, accountUrl);
    await assert.rejects(newClient(oldKey).findAccount(), (err: unknown) => isAcmeProblem(err, 'accountDoesNotExist'));

    // Challenges now need key authorizations with the new thumbprint.
    const { pem } = await issue(client, [uniqueName('rollover')]);
    assert.equal(pemBlocks(pem).length >= 2, true);
  });
});

describe('orders', () => {
  let client: AcmeClient;
  before(async () => {
    client = await registeredClient();
  });

  test('http-01 for two names: issue, download, openssl verifies the chain against the issuing root', async () => {
    const names = ['a.test.example', 'b.test.example'];
    const { pem, order } = await issue(client, names);
    assert.equal(order.status, 'valid');
    const blocks = pemBlocks(pem);
    assert.ok(blocks.length >= 2, 'leaf + intermediate');
    const leaf = new X509Certificate(blocks[0] ?? '');
    assert.match(leaf.subjectAltName ?? '', /DNS:a\.test\.example/);
    assert.match(await opensslSan(dir, blocks[0] ?? ''), /DNS:b\.test\.example/);
    const out = await opensslVerify(dir, pem, await pebble.issuingRootPem());
    assert.match(out, /: OK/);
  });

  test('a failing challenge throws a typed error with the CA detail', async () => {
    const name = uniqueName('wrong');
    const { url, order } = await client.newOrder({ identifiers: [{ type: 'dns', value: name }] });
    const authzUrl = order.authorizations[0];
    assert.ok(authzUrl);
    const authz = await client.getAuthorization(authzUrl);
    assert.equal(authz.status, 'pending');
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    assert.ok(challenge?.token);
    responder.set(challenge.token, `${challenge.token}.not-the-thumbprint`);
    await client.respondToChallenge(challenge.url);

    const err = await client.waitForAuthorization(authzUrl, { timeoutMs: 15_000 }).then(
      () => assert.fail('validation should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AcmeValidationError, String(err));
    assert.ok(err instanceof AcmeProblemError);
    assert.equal(err.challengeType, 'http-01');
    assert.equal(err.identifier?.value, name);
    assert.equal(err.retryable, false);
    assert.ok(err.detail.length > 0, 'the CA said why');
    assert.ok(err.message.includes(err.detail), err.message);
    assert.ok(err.message.includes(name), err.message);

    // The order is invalid now; waiting for it reports the same validation problem.
    await assert.rejects(client.waitForOrder(url, ['ready'], { timeoutMs: 10_000 }), (e: unknown) => {
      assert.ok(e instanceof AcmeValidationError, String(e));
      assert.equal(e.detail, err.detail);
      return true;
    });
  });

  test("a token the responder does not know (404) gives the CA's problem", async () => {
    const name = uniqueName('nobody');
    const { order } = await client.newOrder({ identifiers: [{ type: 'dns', value: name }] });
    const authzUrl = order.authorizations[0];
    assert.ok(authzUrl);
    const authz = await client.getAuthorization(authzUrl);
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    assert.ok(challenge);
    // The responder answers 404 for an unknown token.
    await client.respondToChallenge(challenge.url);
    await assert.rejects(client.waitForAuthorization(authzUrl, { timeoutMs: 15_000 }), (e: unknown) => {
      assert.ok(e instanceof AcmeValidationError, String(e));
      assert.ok(isAcmeProblem(e, 'unauthorized') || isAcmeProblem(e, 'connection'), e.type);
      assert.match(e.message, /404/);
      return true;
    });
  });

  test('deactivating an authorization', async () => {
    const { order } = await client.newOrder({ identifiers: [{ type: 'dns', value: uniqueName('deact') }] });
    const authzUrl = order.authorizations[0];
    assert.ok(authzUrl);
    const authz = await client.deactivateAuthorization(authzUrl);
    assert.equal(authz.status, 'deactivated');
    await assert.rejects(client.waitForAuthorization(authzUrl, { timeoutMs: 5_000 }), AcmeStateError);
  });

  test('finalize before the order is ready fails with orderNotReady', async () => {
    const names = [uniqueName('early')];
    const { order } = await client.newOrder({ identifiers: names.map((value) => ({ type: 'dns' as const, value })) });
    const { csrDer } = await opensslCsr(dir, names);
    await assert.rejects(client.finalize(order.finalize, csrDer), (e: unknown) => isAcmeProblem(e, 'orderNotReady'));
  });

  test('revocation by the account key, then again: alreadyRevoked', async () => {
    const { pem } = await issue(client, [uniqueName('revoke-acct')]);
    const der = new X509Certificate(pemBlocks(pem)[0] ?? '').raw;
    await client.revokeCertificate(der, { reason: 4 });
    await assert.rejects(client.revokeCertificate(der), (e: unknown) => {
      assert.ok(isAcmeProblem(e, 'alreadyRevoked'), String(e));
      return true;
    });
  });

  test('revocation by the certificate key (jwk header), then again: alreadyRevoked', async () => {
    const { pem, key } = await issue(client, [uniqueName('revoke-key')]);
    const der = new X509Certificate(pemBlocks(pem)[0] ?? '').raw;
    // A client without any account can revoke with the certificate's key (RFC 8555 §7.6).
    const stranger = newClient(await generateAccountKey());
    await stranger.revokeCertificate(der, { certificateKey: key, reason: 1 });
    await assert.rejects(stranger.revokeCertificate(der, { certificateKey: key }), (e: unknown) => isAcmeProblem(e, 'alreadyRevoked'));
  });
});

describe('request accounting', () => {
  test('onRequest sees every request Pebble logged', async () => {
    await sleep(100);
    const before = pebble.requestCount();
    let seen = 0;
    const client = newClient(await generateAccountKey(), { onRequest: () => void seen++ });
    await client.registerAccount({ termsOfServiceAgreed: true });
    await client.newOrder({ identifiers: [{ type: 'dns', value: uniqueName('count') }] });
    await client.getAccount();
    // Pebble's log lines arrive through a pipe; give them a moment.
    for (let i = 0; i < 40 && pebble.requestCount() - before < seen; i++) await sleep(25);
    assert.ok(seen >= 4, `at least directory, nonce and three POSTs (saw ${seen})`);
    assert.equal(pebble.requestCount() - before, seen);
  });
});
