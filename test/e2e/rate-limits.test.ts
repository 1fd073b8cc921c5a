// A CA's rateLimited answer is honoured to the second, and the local budget stops a loop from
// asking for the same names a sixth time in a week — both without a single extra request.
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
  ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}`, CERTKEEPER_SCHEDULER_INTERVAL_SECONDS: '3600' }, { clock });
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
