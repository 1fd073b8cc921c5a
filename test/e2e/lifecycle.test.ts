// A certificate's whole life with a controlled clock, against real Pebbles: issued; renewed early
// when the CA's ARI window moves (with `replaces`); renewed at one third of its lifetime left;
// failed over in order when the CA is down; retried with growing delays while every CA is down;
// the first version deleted 30 days after its expiry; each step with its events.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startAriProxy, type AriProxy } from '../harness/ari-proxy.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { sweepRepository } from '../../src/lifecycle/certificates.js';

let now = new Date();
const clock = () => now;
let a: PebbleHandle;
let b: PebbleHandle;
let c: PebbleHandle;
let ari: AriProxy;
let ck: CertkeeperHandle;
const stopped = new Set<PebbleHandle>();

async function provider(name: string, server: string, ca: string): Promise<string> {
  const res = await ck.api('POST', '/api/v1/providers', { properties: { name, server, caCertificates: ca } });
  assert.equal(res.status, 202, res.text);
  const p = await ck.waitFor(`/api/v1/providers/${res.body.id}`, (x: any) => x.metadata.state !== 'PROVISIONING');
  assert.equal(p.metadata.state, 'AVAILABLE', p.metadata.message);
  return res.body.id;
}

/** Waits until no job is queued or running (the clock only moves while the worker is idle). */
async function idle(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const active = await ck.server.ctx.db.kysely.selectFrom('jobs').select('id').where('active_key', 'is not', null).execute();
    const due = active.length > 0;
    if (!due) return;
    if (Date.now() > deadline) throw new Error('jobs still active');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function tick() {
  const r = await ck.server.scheduler.tick();
  await new Promise((res) => setTimeout(res, 50));
  await idle();
  return r;
}

const auto = async (id: string) => (await ck.api('GET', `/api/v1/auto-certificates/${id}`)).body;
const cert = async (id: string) => (await ck.api('GET', `/api/v1/certificates/${id}`)).body;
const events = async (type: string) => (await ck.api('GET', `/api/v1/events?filter.type=${type}&limit=1000`)).body;

before(async () => {
  const httpPort = await freePort();
  [a, b, c] = await Promise.all([startPebble({ httpPort }), startPebble({ httpPort }), startPebble({ httpPort })]);
  ari = await startAriProxy(a.directoryUrl, a.tlsCaPem);
  ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}`, CERTKEEPER_SCHEDULER_INTERVAL_SECONDS: '3600' }, { clock });
});

after(async () => {
  await ck?.stop();
  await ari?.stop();
  for (const p of [a, b, c]) if (p && !stopped.has(p)) await p.stop();
});

test('issued, renewed by ARI, by lifetime, failed over, backed off, retained', async () => {
  const primary = await provider('primary', ari.directoryUrl, a.tlsCaPem);
  const shown = (await ck.api('GET', `/api/v1/providers/${primary}`)).body;
  assert.deepEqual(Object.keys(shown.metadata.profiles).sort(), ['classic', 'shortlived'], 'the CA\'s profiles (directory meta.profiles) are shown');
  const down = await provider('down', c.directoryUrl, c.tlsCaPem);
  const spare = await provider('spare', b.directoryUrl, b.tlsCaPem);
  const created = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'life', provider: 'primary', fallbackProviders: ['down', 'spare'], commonName: 'life.e2e.test' } });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id;
  await idle();

  // 1. Issued. The CA offers ARI: the scheduler asks for the window of the new version.
  let ac = await auto(id);
  assert.equal(ac.metadata.state, 'AVAILABLE', ac.metadata.message);
  const v1 = await cert(ac.metadata.lastIssuedCertificate);
  const lifetime = Date.parse(v1.metadata.notAfter) - Date.parse(v1.metadata.notBefore);
  assert.match(ac.metadata.renewalReason, /^lifetime_fraction/);
  const farWindow = { start: new Date(Date.parse(v1.metadata.notAfter) - 40 * 86_400_000), end: new Date(Date.parse(v1.metadata.notAfter) - 39 * 86_400_000) };
  ari.window = farWindow;
  let r = await tick();
  assert.equal(r.ariChecked, 1);
  ac = await auto(id);
  assert.match(ac.metadata.renewalReason, /^ari_window/);
  assert.ok(Date.parse(ac.metadata.nextRenewalAt) >= farWindow.start.getTime() && Date.parse(ac.metadata.nextRenewalAt) <= farWindow.end.getTime());

  // 2. The CA moves the window into the past (e.g. a mass revocation): renewed at the next check.
  ari.window = { start: new Date(now.getTime() - 2 * 86_400_000), end: new Date(now.getTime() - 86_400_000) };
  now = new Date(now.getTime() + 2 * 3_600_000); // past the Retry-After of the last answer
  r = await tick();
  assert.equal(r.ariChecked, 1);
  ac = await auto(id);
  assert.notEqual(ac.metadata.lastIssuedCertificate, v1.id, ac.metadata.message);
  const v2 = await cert(ac.metadata.lastIssuedCertificate);
  assert.equal((await cert(v1.id)).metadata.state, 'SUPERSEDED');
  const order2 = await ck.server.ctx.db.kysely.selectFrom('orders').select('replaces').where('certificate_id', '=', v2.id).executeTakeFirstOrThrow();
  assert.ok(order2.replaces && ari.asked.includes(order2.replaces), 'the new order named the version it replaces (RFC 9773 §5)');

  // 3. No window any more: renewed when one third of the lifetime is left.
  ari.window = null;
  now = new Date(now.getTime() + 7 * 3_600_000);
  await tick();
  ac = await auto(id);
  assert.match(ac.metadata.renewalReason, /^lifetime_fraction/);
  now = new Date(Date.parse(v2.metadata.notBefore) + (2 / 3) * lifetime - 60_000);
  await tick();
  assert.equal((await auto(id)).metadata.lastIssuedCertificate, v2.id, 'not yet');
  now = new Date(Date.parse(v2.metadata.notBefore) + (2 / 3) * lifetime + 60_000);
  await tick();
  ac = await auto(id);
  const v3 = await cert(ac.metadata.lastIssuedCertificate);
  assert.notEqual(v3.id, v2.id, ac.metadata.message);

  // 4. The primary CA goes down: fail-over in order (down → spare); issued by the spare.
  await a.stop();
  stopped.add(a);
  await c.stop();
  stopped.add(c);
  now = new Date(Date.parse(v3.metadata.notBefore) + (2 / 3) * lifetime + 60_000);
  await tick();
  for (let i = 0; i < 5 && (await auto(id)).metadata.lastIssuedCertificate === v3.id; i++) await tick();
  ac = await auto(id);
  const v4 = await cert(ac.metadata.lastIssuedCertificate);
  assert.notEqual(v4.id, v3.id, ac.metadata.message);
  const failures = (await events('certificate.renewal_failed')).items.map((e: any) => e.properties.data);
  assert.deepEqual(failures.slice(0, 2).reverse().map((d: any) => [d.provider, d.failoverTo]), [[primary, down], [down, spare]]);
  const v4Row = await ck.server.ctx.certificates.get('default', v4.id);
  assert.equal(v4Row?.provider_id, spare);
  assert.equal(ac.metadata.failureCount, 0);

  // 5. Every CA down: attempts go round the providers, then wait, each round longer.
  await b.stop();
  stopped.add(b);
  now = new Date(Date.parse(v4.metadata.notBefore) + (2 / 3) * lifetime + 60_000);
  const delays: number[] = [];
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 4; i++) await tick();
    ac = await auto(id);
    assert.equal(ac.metadata.state, 'FAILED');
    assert.ok(ac.metadata.nextAttemptAt, ac.metadata.message);
    delays.push(Date.parse(ac.metadata.nextAttemptAt) - now.getTime());
    now = new Date(Date.parse(ac.metadata.nextAttemptAt) + 1000);
  }
  assert.ok(delays[0]! >= 5 * 60_000 * 0.8, `first wait ${delays[0]} ms`);
  assert.ok(delays[1]! > delays[0]!, `waits grow: ${delays.join(', ')}`);
  assert.equal((await cert(v4.id)).metadata.state, 'AVAILABLE', 'the active version stays');

  // 6. Retention: the first version goes 30 days after its own expiry, not before.
  now = new Date(Date.parse(v1.metadata.notAfter) + 29 * 86_400_000);
  await sweepRepository(ck.server.ctx);
  assert.equal((await ck.api('GET', `/api/v1/certificates/${v1.id}`)).status, 200);
  now = new Date(Date.parse(v1.metadata.notAfter) + 30 * 86_400_000 + 1000);
  await sweepRepository(ck.server.ctx);
  assert.equal((await ck.api('GET', `/api/v1/certificates/${v1.id}`)).status, 404);

  const issued = await events('certificate.issued');
  assert.equal(issued.total, 4);
  assert.ok((await events('certificate.superseded')).total >= 3);
  assert.ok((await events('certificate.deleted')).items.some((e: any) => e.properties.subjectId === v1.id));
});
