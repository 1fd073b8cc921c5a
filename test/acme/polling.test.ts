// Polling (RFC 8555 §7.4, §8.2: Retry-After while processing), its bounds, and directory refresh,
// against a scripted server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcmeClient, AcmeStateError, AcmeTimeoutError, ACME_ERROR, generateAccountKey, type AcmeHttp } from '../../src/acme/index.js';
import { fakeDirectory, fakeHttp, type FakeResponse, type RecordedRequest } from './fake-acme.js';

const BASE = 'https://acme.test';

/** A fake CA whose order at /order/1 answers from `orderReplies` in turn (the last repeats). */
function scripted(orderReplies: Array<(req: RecordedRequest) => FakeResponse>) {
  let i = 0;
  const pollTimes: number[] = [];
  const http = fakeHttp((req) => {
    const nonce = { 'Replay-Nonce': `n${Math.random().toString(36).slice(2)}` };
    if (req.method === 'GET') return { status: 200, json: fakeDirectory(BASE) };
    if (req.method === 'HEAD') return { status: 200, headers: nonce };
    if (req.url === `${BASE}/order/1`) {
      pollTimes.push(Date.now());
      const reply = orderReplies[Math.min(i++, orderReplies.length - 1)];
      assert.ok(reply);
      const r = reply(req);
      return { ...r, headers: { ...nonce, ...(r.headers ?? {}) } };
    }
    return { status: 404, headers: nonce, json: { type: ACME_ERROR.malformed } };
  });
  return { http, pollTimes };
}

const order = (status: string, extra: Record<string, unknown> = {}) => ({
  status, identifiers: [{ type: 'dns', value: 'x.example' }], authorizations: [], finalize: `${BASE}/order/1/finalize`, ...extra,
});

async function client(http: AcmeHttp, extra: Partial<ConstructorParameters<typeof AcmeClient>[0]> = {}): Promise<AcmeClient> {
  return new AcmeClient({ directoryUrl: `${BASE}/dir`, accountKey: await generateAccountKey(), accountUrl: `${BASE}/acct/1`, http, pollIntervalMs: 10, ...extra });
}

test('waitForOrder honours Retry-After in seconds', async () => {
  const { http, pollTimes } = scripted([
    () => ({ status: 200, headers: { 'Retry-After': '1' }, json: order('processing') }),
    () => ({ status: 200, json: order('valid', { certificate: `${BASE}/cert/1` }) }),
  ]);
  const c = await client(http);
  const o = await c.waitForOrder(`${BASE}/order/1`, ['valid']);
  assert.equal(o.certificate, `${BASE}/cert/1`);
  const gap = (pollTimes[1] ?? 0) - (pollTimes[0] ?? 0);
  assert.ok(gap >= 900, `waited ${gap} ms`);
  // Every poll is a POST-as-GET (RFC 8555 §6.3).
  assert.ok(http.requests.filter((r) => r.url === `${BASE}/order/1`).every((r) => r.method === 'POST' && r.postAsGet));
});

test('a huge Retry-After (HTTP-date) is capped by maxPollIntervalMs', async () => {
  const far = new Date(Date.now() + 3600_000).toUTCString();
  const { http, pollTimes } = scripted([
    () => ({ status: 200, headers: { 'Retry-After': far }, json: order('processing') }),
    () => ({ status: 200, json: order('valid') }),
  ]);
  const c = await client(http, { maxPollIntervalMs: 150 });
  await c.waitForOrder(`${BASE}/order/1`, ['valid']);
  const gap = (pollTimes[1] ?? 0) - (pollTimes[0] ?? 0);
  assert.ok(gap >= 140 && gap < 1000, `waited ${gap} ms`);
});

test('waiting gives up with AcmeTimeoutError', async () => {
  const { http } = scripted([() => ({ status: 200, json: order('processing') })]);
  const c = await client(http);
  const t0 = Date.now();
  await assert.rejects(c.waitForOrder(`${BASE}/order/1`, ['valid'], { timeoutMs: 200 }), (e: unknown) => {
    assert.ok(e instanceof AcmeTimeoutError, String(e));
    assert.equal(e.lastStatus, 'processing');
    assert.equal(e.retryable, true);
    return true;
  });
  assert.ok(Date.now() - t0 < 1000);
});

test('a transient 503 while polling is tolerated', async () => {
  const { http } = scripted([
    () => ({ status: 503, headers: { 'Retry-After': '0' }, json: { type: ACME_ERROR.serverInternal, detail: 'busy' } }),
    () => ({ status: 200, json: order('ready') }),
  ]);
  const c = await client(http);
  assert.equal((await c.waitForOrder(`${BASE}/order/1`, ['ready'])).status, 'ready');
});

test('an order past the target status is a state error; an invalid order carries its problem', async () => {
  const { http } = scripted([() => ({ status: 200, json: order('valid') })]);
  await assert.rejects((await client(http)).waitForOrder(`${BASE}/order/1`, ['ready']), AcmeStateError);
  const s2 = scripted([() => ({ status: 200, json: order('invalid', { error: { type: ACME_ERROR.badCSR, detail: 'key too small' } }) })]);
  await assert.rejects((await client(s2.http)).waitForOrder(`${BASE}/order/1`, ['valid']), /badCSR: key too small/);
});

test('an AbortSignal ends a wait with its reason', async () => {
  const { http } = scripted([() => ({ status: 200, headers: { 'Retry-After': '5' }, json: order('processing') })]);
  const c = await client(http, { maxPollIntervalMs: 5000 });
  const ac = new AbortController();
  const reason = new Error('shutting down');
  setTimeout(() => ac.abort(reason), 50);
  const t0 = Date.now();
  await assert.rejects(c.waitForOrder(`${BASE}/order/1`, ['valid'], {}, ac.signal), (e: unknown) => e === reason);
  assert.ok(Date.now() - t0 < 1000);
});

test('a moved endpoint (404) refreshes the directory once and retries', async () => {
  let dirVersion = 0;
  const http = fakeHttp((req) => {
    const nonce = { 'Replay-Nonce': `n${Math.random().toString(36).slice(2)}` };
    if (req.method === 'GET') {
      dirVersion++;
      return { status: 200, json: fakeDirectory(dirVersion === 1 ? BASE : `${BASE}/v2`) };
    }
    if (req.method === 'HEAD') return { status: 200, headers: nonce };
    if (req.url === `${BASE}/v2/new-order`) {
      return { status: 201, headers: { ...nonce, Location: `${BASE}/order/9` }, json: order('pending') };
    }
    return { status: 404, headers: nonce, json: { type: ACME_ERROR.malformed, detail: 'no such endpoint' } };
  });
  const c = await client(http);
  const { url } = await c.newOrder({ identifiers: [{ type: 'dns', value: 'x.example' }] });
  assert.equal(url, `${BASE}/order/9`);
  assert.equal(dirVersion, 2);
});

test('a learned wait: after a few orders the first look goes out just before the CA typically finishes, and takes one request', async () => {
  // A CA that finishes each order 120 ms after the wait starts.
  let readyAt = 0;
  const http = fakeHttp((req) => {
    const nonce = { 'Replay-Nonce': `n${Math.random().toString(36).slice(2)}` };
    if (req.method === 'GET') return { status: 200, json: fakeDirectory(BASE) };
    if (req.method === 'HEAD') return { status: 200, headers: nonce };
    return { status: 200, headers: nonce, json: order(Date.now() >= readyAt ? 'valid' : 'processing') };
  });
  const c = await client(http, { pollIntervalMs: 10, pollBackoff: 2 });
  const polls: number[] = [];
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const before = http.requests.length;
    const t0 = Date.now();
    readyAt = t0 + 120;
    await c.waitForOrder(`${BASE}/order/1`, ['valid'], { learn: 'issuance', firstPollDelayMs: 10 });
    times.push(Date.now() - t0);
    polls.push(http.requests.length - before);
  }
  // The first wait knows nothing: 10 ms, then 10, 20, 40, 80 ms pauses until it sees the order valid.
  assert.ok(polls[0]! >= 4, `first wait: ${polls[0]} requests`);
  // Later waits start near the learned time: a couple of requests at most, and no slower.
  assert.ok(polls.slice(3).every((n) => n <= 3), `later waits: ${polls.join(', ')} requests`);
  assert.ok(times.slice(3).every((ms) => ms < 200), `later waits: ${times.join(', ')} ms`);
  // Another kind of wait learns on its own.
  readyAt = Date.now() + 5;
  const before = http.requests.length;
  await c.waitForOrder(`${BASE}/order/1`, ['valid'], { learn: 'validation', firstPollDelayMs: 10 });
  assert.equal(http.requests.length - before, 1, 'validation waits have not learned issuance\'s 120 ms');
});
