// RFC 8555 §6.5 nonce handling with a scripted server: pool use, and badNonce retries that use
// the nonce from each error response.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcmeClient, ACME_ERROR, NoncePool, generateAccountKey, isAcmeProblem } from '../../src/acme/index.js';
import { fakeDirectory, fakeHttp, type FakeResponse } from './fake-acme.js';

const BASE = 'https://acme.test';

test('badNonce twice, then success: each retry uses the nonce from the previous error response', async () => {
  let newAccountCalls = 0;
  const http = fakeHttp((req): FakeResponse => {
    if (req.method === 'GET' && req.url === `${BASE}/dir`) return { status: 200, json: fakeDirectory(BASE) };
    if (req.method === 'HEAD' && req.url === `${BASE}/new-nonce`) return { status: 200, headers: { 'Replay-Nonce': 'nonce-head' } };
    if (req.method === 'POST' && req.url === `${BASE}/new-account`) {
      newAccountCalls++;
      if (newAccountCalls <= 2) {
        return {
          status: 400,
          headers: { 'Replay-Nonce': `nonce-from-error-${newAccountCalls}` },
          json: { type: ACME_ERROR.badNonce, detail: 'JWS has an invalid anti-replay nonce', status: 400 },
        };
      }
      return {
        status: 201,
        headers: { Location: `${BASE}/acct/1`, 'Replay-Nonce': 'nonce-after-success' },
        json: { status: 'valid' },
      };
    }
    return { status: 404, json: { type: 'about:blank' } };
  });
  const client = new AcmeClient({ directoryUrl: `${BASE}/dir`, accountKey: await generateAccountKey(), http });
  const res = await client.registerAccount({ termsOfServiceAgreed: true });
  assert.equal(res.accountUrl, `${BASE}/acct/1`);
  assert.equal(res.created, true);

  const posts = http.requests.filter((r) => r.method === 'POST');
  assert.deepEqual(posts.map((p) => p.protected?.nonce), ['nonce-head', 'nonce-from-error-1', 'nonce-from-error-2']);
  assert.equal(http.requests.filter((r) => r.method === 'HEAD').length, 1, 'newNonce asked once only');
  for (const p of posts) {
    assert.equal(p.headers['content-type'], 'application/jose+json');
    assert.equal(p.protected?.url, `${BASE}/new-account`);
    assert.ok(p.protected?.jwk, 'newAccount is signed with a jwk header');
    assert.equal(p.protected?.kid, undefined);
  }

  // The nonce from the successful response is used next; no HEAD.
  http.requests.length = 0;
  await client.getAccount().catch(() => undefined);
  assert.equal(http.requests[0]?.method, 'POST');
  assert.equal(http.requests[0]?.protected?.nonce, 'nonce-after-success');
  assert.equal(http.requests[0]?.protected?.kid, `${BASE}/acct/1`);
  assert.equal(http.requests[0]?.postAsGet, true);
});

test('badNonce retries are bounded', async () => {
  let n = 0;
  const http = fakeHttp((req) => {
    if (req.method === 'GET') return { status: 200, json: fakeDirectory(BASE) };
    if (req.method === 'HEAD') return { status: 200, headers: { 'Replay-Nonce': 'h' } };
    n++;
    return { status: 400, headers: { 'Replay-Nonce': `e${n}` }, json: { type: ACME_ERROR.badNonce, detail: 'bad' } };
  });
  const client = new AcmeClient({ directoryUrl: `${BASE}/dir`, accountKey: await generateAccountKey(), http, maxBadNonceRetries: 3 });
  await assert.rejects(client.findAccount(), (err: unknown) => {
    assert.ok(isAcmeProblem(err, 'badNonce'));
    assert.equal(err.retryable, true);
    return true;
  });
  assert.equal(n, 4, 'first try + 3 retries');
});

test('NoncePool hands out each nonce once, newest first, and ignores junk', () => {
  const pool = new NoncePool(2);
  pool.push('a');
  pool.push('b');
  pool.push('b');
  pool.push('not a nonce!');
  pool.push(undefined);
  pool.push('c');
  assert.equal(pool.size, 2);
  assert.equal(pool.take(), 'c');
  assert.equal(pool.take(), 'b');
  assert.equal(pool.take(), undefined);
});
