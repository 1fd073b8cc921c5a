// A CA's rateLimited answer is honoured to the second, and the local budgets stop a loop from
// asking for the same names a sixth time in a week, or for a registered domain past its weekly
// share — all without a single extra request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startAriProxy, type AriProxy } from '../harness/ari-proxy.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';

let now = new Date();
const clock = () => now;
let pebble: PebbleHandle;
let proxy: AriProxy;
let ck: CertkeeperHandle;
let ckEnv: Record<string, string>;

async function idle(): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const active = await ck.server.ctx.db.kysely.selectFrom('jobs').select('id').where('active_key', 'is not', null).execute();
    if (active.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('jobs still active');
}
const newOrders = () => pebble.logText().split('\n').filter((l) => l.includes('POST /order-plz')).length;

before(async () => {
  const httpPort = await freePort();
  pebble = await startPebble({ httpPort });
  proxy = await startAriProxy(pebble.directoryUrl, pebble.tlsCaPem);
  proxy.rateLimitNewOrder = true;
  proxy.retryAfterSeconds = 3600;
  ckEnv = { CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}`, CERTKEEPER_SCHEDULER_INTERVAL_SECONDS: '3600' };
  ck = await startCertkeeper(ckEnv, { clock });
  for (const [name, server] of [['limited', proxy.directoryUrl], ['pebble', pebble.directoryUrl]]) {
    const res = await ck.api('POST', '/api/v1/providers', { properties: { name, server, caCertificates: pebble.tlsCaPem } });
    assert.equal((await ck.waitFor(`/api/v1/providers/${res.body.id}`, (b: any) => b.metadata.state !== 'PROVISIONING')).metadata.state, 'AVAILABLE');
  }
});
after(async () => {
  await ck?.stop();
  await proxy?.stop();
  await pebble?.stop();
});

test('rateLimited with Retry-After: not asked again before then', async () => {
  const res = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'limited', provider: 'limited', commonName: 'limited.e2e.test' } });
  await idle();
  let ac = (await ck.api('GET', `/api/v1/auto-certificates/${res.body.id}`)).body;
  assert.equal(ac.metadata.state, 'FAILED');
  assert.equal(proxy.rateLimited, 1);
  assert.match(ac.metadata.message, /rateLimited|too many/);
  const next = Date.parse(ac.metadata.nextAttemptAt);
  assert.ok(next >= Date.now() + 3590_000, `next attempt honours Retry-After: ${ac.metadata.nextAttemptAt}`);
  for (const t of [10 * 60_000, 30 * 60_000, 59 * 60_000]) {
    now = new Date(Date.now() + t);
    await ck.server.scheduler.tick();
    await idle();
  }
  assert.equal(proxy.rateLimited, 1, 'no request before Retry-After');
  now = new Date(next + 1000);
  await ck.server.scheduler.tick();
  await idle();
  assert.equal(proxy.rateLimited, 2, 'asked again once it passed');
  ac = (await ck.api('GET', `/api/v1/auto-certificates/${res.body.id}`)).body;
  assert.equal(ac.metadata.failureCount, 2);
});

test('the local budget refuses a sixth certificate for the same names within a week', async () => {
  now = new Date();
  const res = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'loop', provider: 'pebble', commonName: 'loop.e2e.test' } });
  await idle();
  for (let i = 0; i < 4; i++) {
    assert.equal((await ck.api('POST', `/api/v1/auto-certificates/${res.body.id}/renew`, {})).status, 202);
    await idle();
  }
  assert.equal((await ck.api('GET', '/api/v1/certificates?filter.commonName=loop.e2e.test')).body.total, 5);
  const before = newOrders();
  assert.equal((await ck.api('POST', `/api/v1/auto-certificates/${res.body.id}/renew`, {})).status, 202);
  await idle();
  const ac = (await ck.api('GET', `/api/v1/auto-certificates/${res.body.id}`)).body;
  assert.equal(ac.metadata.state, 'FAILED');
  assert.match(ac.metadata.message, /rate budget/);
  assert.equal(newOrders(), before, 'the CA was not asked');
  assert.equal((await ck.api('GET', '/api/v1/certificates?filter.commonName=loop.e2e.test')).body.total, 5);
  const oldest = (await ck.server.ctx.db.kysely.selectFrom('orders').select('created_at').where('auto_certificate_id', '=', res.body.id).orderBy('created_at').executeTakeFirstOrThrow()).created_at;
  assert.equal(ac.metadata.nextAttemptAt, new Date(Date.parse(oldest) + 7 * 86_400_000).toISOString(), 'next attempt when the oldest leaves the week');
});

test('the local budget per registered domain refuses a third name set under one registered domain; another domain still issues', async () => {
  // A fresh instance with a budget of 2 per registered domain, on the same Pebble (only one
  // certkeeper at a time can answer http-01 on the port Pebble validates against).
  await ck.stop();
  ck = await startCertkeeper({ ...ckEnv, CERTKEEPER_RATE_BUDGET_PER_DOMAIN: '2' }, { clock });
  now = new Date();
  const provider = await ck.api('POST', '/api/v1/providers', { properties: { name: 'pebble', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
  assert.equal((await ck.waitFor(`/api/v1/providers/${provider.body.id}`, (b: any) => b.metadata.state !== 'PROVISIONING')).metadata.state, 'AVAILABLE');
  const issue = async (name: string, commonName: string, subjectAlternativeNames: string[] = []) => {
    const res = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name, provider: 'pebble', commonName, subjectAlternativeNames } });
    assert.equal(res.status, 202, res.text);
    await idle();
    return (await ck.api('GET', `/api/v1/auto-certificates/${res.body.id}`)).body;
  };

  // Two different name sets, one registered domain (budget.test: .test is in no PSL rule, so its last two labels).
  const first = await issue('www', 'www.budget.test');
  assert.equal(first.metadata.state, 'AVAILABLE', first.metadata.message);
  const second = await issue('api', 'api.budget.test', ['a.b.budget.test']);
  assert.equal(second.metadata.state, 'AVAILABLE', second.metadata.message);

  const before = newOrders();
  const third = await issue('shop', 'shop.budget.test');
  assert.equal(third.metadata.state, 'FAILED');
  const oldest = (await ck.server.ctx.db.kysely.selectFrom('orders').select('created_at').where('auto_certificate_id', '=', first.id).executeTakeFirstOrThrow()).created_at;
  const until = new Date(Date.parse(oldest) + 7 * 86_400_000).toISOString();
  assert.match(third.metadata.message, /rate budget is spent: 2 certificates for the registered domain budget\.test in the last 7 days \(limit 2, CERTKEEPER_RATE_BUDGET_PER_DOMAIN\)/);
  assert.ok(third.metadata.message.includes(`next possible at ${until}`), third.metadata.message);
  assert.equal(third.metadata.nextAttemptAt, until, 'next attempt when the oldest certificate of the domain leaves the week');
  assert.equal(newOrders(), before, 'the CA was not asked');
  assert.equal((await ck.api('GET', '/api/v1/certificates?filter.commonName=shop.budget.test')).body.total, 0);

  // Another registered domain has a budget of its own.
  const other = await issue('other', 'www.other-budget.test');
  assert.equal(other.metadata.state, 'AVAILABLE', other.metadata.message);
  assert.equal(newOrders(), before + 1);
});
