// Two `certkeeper serve` processes on ONE SQLite file (same CERTKEEPER_DATABASE_URL, same master
// key, own data dirs) against real Pebble: 20 auto certificates created through both become
// AVAILABLE with exactly one version each, Pebble issues exactly 20 certificates, and the file
// passes `PRAGMA integrity_check` once both have stopped. SQLite serialises writers across
// processes (WAL, busy timeout), and the job claims are conditional UPDATEs, so this is expected to
// hold; the test is here to notice if it ever stops holding.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { Instance, RoundRobinProxy, api, ensureBuilt, orderIdOf, pebbleIssued } from '../chaos/cluster.js';

const N = 20;
const work = mkdtempSync(join(tmpdir(), 'ck-sqlite-two-'));
const dbFile = join(work, 'shared.db');
const token = randomBytes(24).toString('hex');
let pebble: PebbleHandle | undefined;
let proxy: RoundRobinProxy | undefined;
const instances: Instance[] = [];
let failed = false;

before(async () => {
  ensureBuilt();
  const http01Ports = [await freePort(), await freePort()];
  // Pebble's VA connects to one port: a round-robin HTTP proxy in front of both responders.
  proxy = new RoundRobinProxy(await freePort(), http01Ports);
  await proxy.listen();
  pebble = await startPebble({ httpPort: proxy.port });
  const masterKey = randomBytes(32).toString('base64');
  for (const [i, http01Port] of http01Ports.entries()) {
    const dataDir = join(work, `instance-${i}`);
    mkdirSync(dataDir);
    const apiPort = await freePort();
    instances.push(new Instance(`instance-${i}`, {
      CERTKEEPER_DATABASE_URL: `sqlite:${dbFile}`,
      CERTKEEPER_MASTER_KEY: masterKey,
      CERTKEEPER_DATA_DIR: dataDir,
      CERTKEEPER_LISTEN: `127.0.0.1:${apiPort}`,
      CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${http01Port}`,
      CERTKEEPER_ADMIN_TOKEN: token,
      CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1',
      CERTKEEPER_RATE_BUDGET_PER_DOMAIN: '100000',
      CERTKEEPER_RATE_BUDGET_PER_NAME_SET: '100000',
      CERTKEEPER_WORKER_CONCURRENCY: '4',
    }, `http://127.0.0.1:${apiPort}`, join(work, `instance-${i}.log`)));
  }
  // One after the other: the first creates and migrates the file.
  for (const inst of instances) await inst.start(30_000);
});

after(async () => {
  await Promise.all(instances.map((inst) => inst.stop(15_000).catch(() => undefined)));
  await Promise.all(instances.map((inst) => inst.closeLog()));
  await proxy?.close();
  await pebble?.stop();
  if (failed || process.env.CERTKEEPER_TEST_KEEP === '1') console.log(`sqlite-two-instances: logs kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
});

test(`two instances on one SQLite file: ${N} certificates, one version each, integrity_check ok`, { timeout: 90_000 }, async () => {
  failed = true;
  const [a, b] = instances as [Instance, Instance];
  const provider = await api(a.apiUrl, token, 'POST', '/providers', { properties: { name: 'pebble', server: pebble!.directoryUrl, caCertificates: pebble!.tlsCaPem } });
  assert.equal(provider.status, 202, provider.text);
  for (let i = 0; ; i++) {
    const p = await api(b.apiUrl, token, 'GET', `/providers/${provider.body.id}`);
    if (p.body.metadata.state === 'AVAILABLE') break;
    assert.notEqual(p.body.metadata.state, 'FAILED', p.body.metadata.message);
    assert.ok(i < 200, 'the provider did not become AVAILABLE');
    await sleep(100);
  }

  // Created through both instances, at the same time.
  const runId = randomBytes(3).toString('hex');
  const ids = await Promise.all(Array.from({ length: N }, async (_, i) => {
    const inst = i % 2 === 0 ? a : b;
    const res = await api(inst.apiUrl, token, 'POST', '/auto-certificates', {
      properties: { name: `two-${i}`, provider: 'pebble', commonName: `t${i}.${runId}.sqlite-two.test`, challengeType: 'http-01', keyAlgorithm: 'ecdsa256' },
    });
    assert.equal(res.status, 202, `${inst.name}: ${res.text}`);
    return res.body.id as string;
  }));

  let states = new Map<string, { state: string; message: string }>();
  for (let i = 0; ; i++) {
    const list = await api(i % 2 === 0 ? a.apiUrl : b.apiUrl, token, 'GET', '/auto-certificates?limit=1000');
    assert.equal(list.status, 200, list.text);
    states = new Map((list.body.items as any[]).map((item) => [item.id, item.metadata]));
    const pending = ids.filter((id) => states.get(id)?.state !== 'AVAILABLE');
    if (pending.length === 0) break;
    const failedOnes = pending.filter((id) => states.get(id)?.state === 'FAILED');
    assert.deepEqual(failedOnes.map((id) => `${id}: ${states.get(id)?.message}`), [], 'no auto certificate FAILED');
    assert.ok(i < 450, `${pending.length} of ${N} not AVAILABLE after 45 s`);
    await sleep(100);
  }

  for (const [i, id] of ids.entries()) {
    const res = await api((i % 2 === 0 ? b : a).apiUrl, token, 'GET', `/certificates?filter.autoCertificate=${id}&limit=10`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.total, 1, `auto certificate ${id}: exactly one version`);
  }

  // Both processes issued (each counts its own issuances): the file really had two writers.
  const issuedBy = await Promise.all(instances.map(async (inst) => {
    const res = await fetch(`${inst.apiUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    return [...text.matchAll(/^certkeeper_issuances_total\{[^}]*outcome="issued"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  }));
  console.log(`sqlite-two-instances: issued by instance: ${issuedBy.join(', ')}`);
  assert.equal(issuedBy[0]! + issuedBy[1]!, N, `issuances counted by the two processes: ${issuedBy.join(' + ')}`);
  assert.ok(issuedBy.every((n) => n > 0), `both processes issued: ${issuedBy.join(', ')}`);

  // Stop both, then look at the file itself.
  await Promise.all(instances.map((inst) => inst.stop(15_000)));
  const db = new Database(dbFile, { readonly: true });
  try {
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    const perAc = db.prepare('SELECT auto_certificate_id AS ac, count(*) AS n FROM certificates GROUP BY auto_certificate_id').all() as { ac: string; n: number }[];
    assert.equal(perAc.length, N);
    assert.ok(perAc.every((r) => r.n === 1), `certificate rows per auto certificate: ${JSON.stringify(perAc.filter((r) => r.n !== 1))}`);
    const orders = db.prepare('SELECT auto_certificate_id AS ac, order_url, certificate_id FROM orders').all() as { ac: string; order_url: string | null; certificate_id: string | null }[];
    assert.equal(orders.filter((o) => o.certificate_id).length, N, 'one order with a certificate per auto certificate');
    const jobs = db.prepare("SELECT state, count(*) AS n FROM jobs WHERE kind = 'certificate.issue' GROUP BY state").all();
    assert.deepEqual(jobs, [{ state: 'done', n: N }], 'every issue job done, once');
    // Pebble finalized exactly one order per auto certificate, each one an order of ours.
    await sleep(300);
    const issued = pebbleIssued(pebble!.logText());
    assert.equal(issued.length, N, 'Pebble issued one certificate per auto certificate');
    const ours = new Map(orders.filter((o) => o.order_url).map((o) => [orderIdOf(o.order_url!), o]));
    assert.ok(issued.every((x) => ours.get(x.orderId)?.certificate_id), 'every certificate Pebble issued was stored by its order');
    assert.equal(new Set(issued.map((x) => ours.get(x.orderId)?.ac)).size, N);
  } finally {
    db.close();
  }
  failed = false;
});
