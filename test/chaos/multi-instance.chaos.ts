/**
 * Chaos test (issue 6): three `certkeeper serve` processes on one PostgreSQL database issue 200
 * http-01 certificates from a real Pebble while instances are SIGKILLed and restarted, and while
 * PostgreSQL is stopped for a few seconds. At the end every auto certificate is AVAILABLE with
 * exactly one version, Pebble issued exactly one certificate per auto certificate (one finalized
 * order each), and no job is stuck.
 *
 * Not part of `npm test` (the runner collects *.test.ts only). Run it with `npm run test:chaos`.
 * Settings (environment):
 *   CERTKEEPER_CHAOS_CERTS        auto certificates (default 200)
 *   CERTKEEPER_CHAOS_KILLS        SIGKILLs (default 6), one every CERTKEEPER_CHAOS_KILL_EVERY_MS (default 3000)
 *   CERTKEEPER_CHAOS_MIN_UP       instances that stay up: a kill waits until one more than this are up (default 1;
 *                                 2 keeps a second instance for every request that meets a dying one)
 *   CERTKEEPER_CHAOS_PG_OUTAGE_MS how long PostgreSQL stays stopped (default 5000; 0: no outage)
 *   CERTKEEPER_CHAOS_CONCURRENCY  CERTKEEPER_WORKER_CONCURRENCY of each instance (default 4)
 *   CERTKEEPER_CHAOS_TIMEOUT_S    bound of the whole run (default 600)
 *   CERTKEEPER_CHAOS_SEED         seed of the victim choice (default random; printed)
 *   CERTKEEPER_CHAOS_PG           private (default: a throw-away cluster) or system (pg_ctlcluster): see postgres.ts
 *   CERTKEEPER_CHAOS_KEEP=1       keep the work dir (instance logs, Pebble log) even on success
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { Instance, RoundRobinProxy, api, ensureBuilt, orderIdOf, pebbleIssued, pebbleRequests, prng, sameSerial } from './cluster.js';
import { chaosPostgres, createChaosDatabase, type ChaosPostgres } from './postgres.js';

function intEnv(name: string, dflt: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name}=${raw}: expected an integer from ${min} to ${max}`);
  return v;
}

const N = intEnv('CERTKEEPER_CHAOS_CERTS', 200, 1, 5000);
const KILLS = intEnv('CERTKEEPER_CHAOS_KILLS', 6, 0, 100);
const KILL_EVERY_MS = intEnv('CERTKEEPER_CHAOS_KILL_EVERY_MS', 3_000, 100, 600_000);
const RESTART_AFTER_MS = 1_500;
const MIN_UP = intEnv('CERTKEEPER_CHAOS_MIN_UP', 1, 1, 2);
const PG_OUTAGE_MS = intEnv('CERTKEEPER_CHAOS_PG_OUTAGE_MS', 5_000, 0, 120_000);
const CONCURRENCY = intEnv('CERTKEEPER_CHAOS_CONCURRENCY', 4, 1, 64);
const TIMEOUT_MS = intEnv('CERTKEEPER_CHAOS_TIMEOUT_S', 600, 30, 7_200) * 1000;
const SEED = intEnv('CERTKEEPER_CHAOS_SEED', randomBytes(4).readUInt32BE(0) % 1_000_000_000, 0, 2 ** 31);
const INSTANCES = 3;
/** The outage comes right after this kill (the middle of the run). */
const OUTAGE_AFTER_KILL = Math.max(1, Math.ceil(KILLS / 2));
/** A queued job this far past its run_at at the end counts as stuck. */
const QUEUED_MARGIN_MS = 30_000;

interface Row {
  [k: string]: unknown;
}

test(`chaos: ${INSTANCES} instances on PostgreSQL, ${N} certificates, ${KILLS} SIGKILLs and a PostgreSQL restart`, { timeout: TIMEOUT_MS + 180_000 }, async () => {
  const t0 = Date.now();
  const deadline = t0 + TIMEOUT_MS;
  const work = mkdtempSync(join(tmpdir(), 'ck-chaos-'));
  const runId = randomBytes(3).toString('hex');
  const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
  const note = (msg: string) => console.log(`chaos [${stamp()}] ${msg}`);
  const remaining = () => deadline - Date.now();

  let pgServer: ChaosPostgres | undefined;
  let database: Awaited<ReturnType<typeof createChaosDatabase>> | undefined;
  let pebble: PebbleHandle | undefined;
  let proxy: RoundRobinProxy | undefined;
  let monitor: pg.Pool | undefined;
  const instances: Instance[] = [];
  let stopChaos = false;
  let chaosLoop: Promise<void> = Promise.resolve();
  let ok = false;

  try {
    note(`seed ${SEED}, work dir ${work}`);
    ensureBuilt();
    pgServer = await chaosPostgres();
    note(`PostgreSQL: ${pgServer.description}`);
    database = await createChaosDatabase(pgServer.adminUrl);
    note(`database ${database.name}`);
    monitor = new pg.Pool({ connectionString: database.url, max: 2, connectionTimeoutMillis: 3_000, query_timeout: 15_000 });
    monitor.on('error', () => undefined);
    const q = async <T extends Row>(text: string, params: unknown[] = []): Promise<T[]> => (await monitor!.query<T>(text, params)).rows;

    // Pebble's VA connects to one port: a round-robin HTTP proxy (a load balancer) in front of the instances.
    const http01Ports = await Promise.all(Array.from({ length: INSTANCES }, () => freePort()));
    proxy = new RoundRobinProxy(await freePort(), http01Ports);
    await proxy.listen();
    pebble = await startPebble({ httpPort: proxy.port, logFile: join(work, 'pebble.log') });
    note(`Pebble at ${pebble.directoryUrl}; http-01 proxy on 127.0.0.1:${proxy.port} → ${http01Ports.join(', ')}`);

    const masterKey = randomBytes(32).toString('base64');
    const token = randomBytes(24).toString('hex');
    for (let i = 0; i < INSTANCES; i++) {
      const dataDir = join(work, `instance-${i}`);
      mkdirSync(dataDir);
      const apiPort = await freePort();
      instances.push(new Instance(`instance-${i}`, {
        CERTKEEPER_DATABASE_URL: database.url,
        CERTKEEPER_MASTER_KEY: masterKey,
        CERTKEEPER_DATA_DIR: dataDir,
        CERTKEEPER_LISTEN: `127.0.0.1:${apiPort}`,
        CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${http01Ports[i]}`,
        CERTKEEPER_ADMIN_TOKEN: token,
        CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1',
        CERTKEEPER_RATE_BUDGET_PER_DOMAIN: '1000000',
        CERTKEEPER_RATE_BUDGET_PER_NAME_SET: '1000000',
        CERTKEEPER_WORKER_CONCURRENCY: String(CONCURRENCY),
        // Retries after a failed attempt are enqueued by the scheduler: tick often.
        CERTKEEPER_SCHEDULER_INTERVAL_SECONDS: '5',
      }, `http://127.0.0.1:${apiPort}`, join(work, `instance-${i}.log`)));
    }
    // All three at once: they migrate the fresh database together (under the migrator's lock).
    await Promise.all(instances.map((inst) => inst.start(60_000)));
    note(`${INSTANCES} instances up (worker concurrency ${CONCURRENCY} each)`);

    // Any live instance serves the API; callers try the next one when one is down.
    let rr = 0;
    const call = async <T = any>(method: string, path: string, body?: unknown) => {
      let last: unknown;
      for (let i = 0; i < INSTANCES * 3; i++) {
        const inst = instances[rr++ % INSTANCES]!;
        if (!inst.running) continue;
        try {
          return await api<T>(inst.apiUrl, token, method, path, body);
        } catch (err) {
          last = err;
        }
      }
      throw new Error(`${method} ${path}: no instance answered: ${String(last)}`);
    };

    const provider = await api(instances[0]!.apiUrl, token, 'POST', '/providers', { properties: { name: 'pebble', email: 'chaos@example.com', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
    assert.equal(provider.status, 202, provider.text);
    for (let state = ''; state !== 'AVAILABLE';) {
      assert.ok(remaining() > 0, 'provider did not become AVAILABLE in time');
      const p = await call('GET', `/providers/${provider.body.id}`);
      state = p.body.metadata.state;
      assert.notEqual(state, 'FAILED', p.body.metadata.message);
      if (state !== 'AVAILABLE') await sleep(100);
    }
    note('provider AVAILABLE');

    // 200 auto certificates through the API, spread over the instances.
    const ids: string[] = new Array(N);
    const created0 = Date.now();
    for (let start = 0; start < N; start += 12) {
      await Promise.all(Array.from({ length: Math.min(12, N - start) }, async (_, j) => {
        const i = start + j;
        const inst = instances[i % INSTANCES]!;
        const res = await api(inst.apiUrl, token, 'POST', '/auto-certificates', {
          properties: { name: `chaos-${i}`, provider: 'pebble', commonName: `c${i}.${runId}.chaos.test`, challengeType: 'http-01', keyAlgorithm: 'ecdsa256' },
        });
        assert.equal(res.status, 202, `POST auto certificate ${i} to ${inst.name}: ${res.text}`);
        ids[i] = res.body.id;
      }));
    }
    const idSet = new Set(ids);
    assert.equal(idSet.size, N);
    note(`${N} auto certificates created in ${((Date.now() - created0) / 1000).toFixed(1)} s`);

    let available = 0;
    const countAvailable = async () => {
      if (pgServer!.stopped) return available;
      try {
        const rows = await q<{ n: string }>("SELECT count(*) AS n FROM auto_certificates WHERE state = 'AVAILABLE'");
        available = Number(rows[0]?.n ?? 0);
      } catch { /* PostgreSQL is away: keep the last count */ }
      return available;
    };

    // The chaos: a kill every KILL_EVERY_MS, the victim restarted on its data dir after a pause;
    // after the middle kill, PostgreSQL stopped for PG_OUTAGE_MS and started again.
    const random = prng(SEED);
    let kills = 0;
    let outage: { startedAt: number; ms: number; availableBefore: number } | undefined;
    const events: string[] = [];
    const chaosStep = async (msg: string) => {
      const line = `${msg} (${await countAvailable()}/${N} AVAILABLE)`;
      events.push(`[${stamp()}] ${line}`);
      note(line);
    };
    chaosLoop = (async () => {
      // Kills come every KILL_EVERY_MS whether or not the previous victim is back: restarts run
      // beside the next kills (and beside the outage: a restart then finds no database and tries
      // again). The victim is chosen among the running instances, never below MIN_UP of them.
      const restarts: Promise<void>[] = [];
      const restarting = new Set<Instance>();
      const outageAt = KILLS === 0 ? 0 : OUTAGE_AFTER_KILL;
      for (let k = 0; k <= KILLS && !stopChaos; k++) {
        if (k > 0) {
          await sleep(KILL_EVERY_MS);
          // MIN_UP instances at least stay up (as behind a load balancer): wait for one more.
          const up = () => instances.filter((inst) => inst.running && !restarting.has(inst));
          for (let i = 0; i < 1200 && !stopChaos && up().length <= MIN_UP; i++) await sleep(100);
          if (stopChaos) break;
          const candidates = up();
          if (candidates.length <= MIN_UP) throw new Error(`no more than ${MIN_UP} instance(s) were up for 120 s`);
          const victim = candidates[Math.floor(random() * candidates.length)]!;
          await chaosStep(`kill ${k}/${KILLS}: SIGKILL ${victim.name} (pid ${victim.child?.pid})`);
          await victim.kill();
          kills++;
          restarting.add(victim);
          restarts.push((async () => {
            await sleep(RESTART_AFTER_MS);
            await victim.startWithRetry(Math.max(10_000, Math.min(120_000, remaining())));
            restarting.delete(victim);
            await chaosStep(`${victim.name} restarted (start #${victim.starts}, same data dir)`);
          })());
        }
        if (k === outageAt && PG_OUTAGE_MS > 0 && !stopChaos) {
          if (k === 0) await sleep(KILL_EVERY_MS);
          await sleep(KILL_EVERY_MS / 3);
          const availableBefore = await countAvailable();
          await chaosStep('PostgreSQL: stopping (fast shutdown)');
          const startedAt = Date.now();
          await pgServer!.stop();
          restarts.push((async () => {
            await sleep(PG_OUTAGE_MS);
            await pgServer!.start();
            outage = { startedAt, ms: Date.now() - startedAt, availableBefore };
            await chaosStep(`PostgreSQL: accepting connections again after ${(outage.ms / 1000).toFixed(1)} s`);
          })());
        }
      }
      const results = await Promise.allSettled(restarts);
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    })();

    // Wait until every auto certificate is AVAILABLE (and the chaos is over), bounded.
    let lastProgress = 0;
    let allAvailableAt: number | undefined;
    let chaosDone = false;
    let chaosFailed = false;
    void chaosLoop.then(() => (chaosDone = true), () => (chaosDone = chaosFailed = true));
    for (;;) {
      const n = await countAvailable();
      if (n === N && allAvailableAt === undefined) {
        allAvailableAt = Date.now();
        note(`all ${N} auto certificates AVAILABLE`);
      }
      if ((allAvailableAt !== undefined && chaosDone) || chaosFailed) break;
      if (remaining() <= 0) break;
      if (Date.now() - lastProgress > 15_000) {
        lastProgress = Date.now();
        try {
          const states = await q<{ state: string; n: string }>('SELECT state, count(*) AS n FROM auto_certificates GROUP BY state ORDER BY state');
          note(`progress: ${states.map((s) => `${s.state} ${s.n}`).join(', ')}`);
        } catch { /* PostgreSQL is away */ }
      }
      await sleep(500);
    }
    stopChaos = true;
    await chaosLoop;
    if (allAvailableAt === undefined) {
      const notYet = await q<{ id: string; state: string; message: string; next_attempt_at: string | null; failure_count: number }>(
        "SELECT id, state, message, next_attempt_at, failure_count FROM auto_certificates WHERE state <> 'AVAILABLE' ORDER BY id LIMIT 20");
      const jobs = await q('SELECT kind, state, count(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind, state');
      assert.fail(`after ${TIMEOUT_MS / 1000} s, ${N - available} of ${N} auto certificates are not AVAILABLE; first ones:\n${notYet.map((r) => `  ${r.id} ${r.state} failures=${r.failure_count} next=${r.next_attempt_at}: ${r.message}`).join('\n')}\njobs: ${JSON.stringify(jobs)}`);
    }
    const issuanceMs = allAvailableAt - created0;

    // Jobs settle: the last completions are recorded right after the state flips.
    const activeJobs = async () => Number((await q<{ n: string }>("SELECT count(*) AS n FROM jobs WHERE state IN ('queued', 'running') AND kind = 'certificate.issue'"))[0]?.n ?? 0);
    for (let i = 0; i < 60 && (await activeJobs()) > 0; i++) await sleep(500);

    // ---- What the API says: every one AVAILABLE with exactly one version.
    const problems: string[] = [];
    const list = await call('GET', '/auto-certificates?limit=1000');
    assert.equal(list.status, 200, list.text);
    const listed = new Map<string, any>((list.body.items as any[]).map((item) => [item.id, item]));
    for (const id of ids) {
      const state = listed.get(id)?.metadata?.state;
      if (state !== 'AVAILABLE') problems.push(`auto certificate ${id}: state ${state} (API)`);
    }
    const versionCounts = new Map<string, number>();
    for (let start = 0; start < N; start += 10) {
      await Promise.all(ids.slice(start, start + 10).map(async (id) => {
        const res = await call('GET', `/certificates?filter.autoCertificate=${id}&limit=10`);
        assert.equal(res.status, 200, res.text);
        versionCounts.set(id, res.body.total);
        if (res.body.total !== 1) problems.push(`auto certificate ${id}: ${res.body.total} certificate versions (API), expected 1`);
      }));
    }

    // ---- What the database says.
    const certRows = await q<{ id: string; auto_certificate_id: string; serial_number: string; state: string }>('SELECT id, auto_certificate_id, serial_number, state FROM certificates');
    const certsPerAc = new Map<string, number>();
    for (const c of certRows) certsPerAc.set(c.auto_certificate_id, (certsPerAc.get(c.auto_certificate_id) ?? 0) + 1);
    if (certRows.length !== N) problems.push(`${certRows.length} certificate rows, expected ${N}`);
    for (const id of ids) if (certsPerAc.get(id) !== 1) problems.push(`auto certificate ${id}: ${certsPerAc.get(id) ?? 0} certificate rows`);
    const orderRows = await q<{ id: string; auto_certificate_id: string; order_url: string | null; certificate_id: string | null; finished_at: string | null; error: string | null; step: string }>(
      'SELECT id, auto_certificate_id, order_url, certificate_id, finished_at, error, step FROM orders');
    const issuedOrdersPerAc = new Map<string, number>();
    for (const o of orderRows) if (o.certificate_id) issuedOrdersPerAc.set(o.auto_certificate_id, (issuedOrdersPerAc.get(o.auto_certificate_id) ?? 0) + 1);
    for (const id of ids) if (issuedOrdersPerAc.get(id) !== 1) problems.push(`auto certificate ${id}: ${issuedOrdersPerAc.get(id) ?? 0} orders with a certificate`);
    const openOrders = orderRows.filter((o) => o.finished_at === null);
    if (openOrders.length) problems.push(`${openOrders.length} orders still open: ${openOrders.slice(0, 5).map((o) => `${o.id} (${o.step})`).join(', ')}`);

    // ---- What Pebble says: one issued certificate (= one finalized order) per auto certificate.
    await sleep(500); // the last log lines come through a pipe
    const pebbleLog = pebble.logText();
    const issued = pebbleIssued(pebbleLog);
    const orderByPebbleId = new Map(orderRows.filter((o) => o.order_url).map((o) => [orderIdOf(o.order_url!), o]));
    const certById = new Map(certRows.map((c) => [c.id, c]));
    const issuedPerAc = new Map<string, number>();
    if (issued.length !== N) problems.push(`Pebble issued ${issued.length} certificates, expected ${N}`);
    if (new Set(issued.map((x) => x.orderId)).size !== issued.length) problems.push('Pebble issued more than one certificate for one order');
    for (const x of issued) {
      const o = orderByPebbleId.get(x.orderId);
      if (!o) {
        problems.push(`Pebble issued serial ${x.serial} for order ${x.orderId}, which no order row knows`);
        continue;
      }
      issuedPerAc.set(o.auto_certificate_id, (issuedPerAc.get(o.auto_certificate_id) ?? 0) + 1);
      const c = o.certificate_id ? certById.get(o.certificate_id) : undefined;
      if (!c) problems.push(`Pebble issued serial ${x.serial} for order ${x.orderId} (auto certificate ${o.auto_certificate_id}), but that order stored no certificate`);
      else if (!sameSerial(c.serial_number, x.serial)) problems.push(`order ${x.orderId}: Pebble issued serial ${x.serial}, stored ${c.serial_number}`);
    }
    for (const id of ids) if (issuedPerAc.get(id) !== 1) problems.push(`auto certificate ${id}: Pebble finalized ${issuedPerAc.get(id) ?? 0} of its orders`);

    // ---- No job stuck.
    const nowMs = Date.now();
    const jobs = await q<{ id: string; kind: string; state: string; run_at: string; lease_expires_at: string | null; attempts: number; subject_id: string; last_error: string | null }>(
      'SELECT id, kind, state, run_at, lease_expires_at, attempts, subject_id, last_error FROM jobs');
    for (const j of jobs) {
      if (j.state === 'running' && (j.lease_expires_at === null || Date.parse(j.lease_expires_at) < nowMs)) problems.push(`job ${j.id} (${j.kind}) running with an expired lease (${j.lease_expires_at})`);
      if (j.state === 'queued' && Date.parse(j.run_at) < nowMs - QUEUED_MARGIN_MS) problems.push(`job ${j.id} (${j.kind}) queued since ${j.run_at}`);
      if (j.state === 'failed') problems.push(`job ${j.id} (${j.kind}) failed: ${j.last_error}`);
      if (j.kind === 'certificate.issue' && j.state !== 'done') problems.push(`issue job ${j.id} for ${j.subject_id} is ${j.state}`);
    }
    const doneIssueSubjects = new Set(jobs.filter((j) => j.kind === 'certificate.issue' && j.state === 'done').map((j) => j.subject_id));
    for (const id of ids) if (!doneIssueSubjects.has(id)) problems.push(`auto certificate ${id}: no issue job done`);

    // ---- Summary.
    const failures = await q<{ subject_id: string; message: string; created_at: string }>("SELECT subject_id, message, created_at FROM events WHERE type = 'certificate.renewal_failed' ORDER BY id");
    const failedAttempts = failures.length;
    const ordersCreated = Number((await q<{ n: string }>("SELECT count(*) AS n FROM events WHERE type = 'certificate.order_created'"))[0]?.n ?? 0);
    const tokensLeft = Number((await q<{ n: string }>('SELECT count(*) AS n FROM http01_tokens'))[0]?.n ?? 0);
    const jobStates = new Map<string, number>();
    for (const j of jobs) jobStates.set(`${j.kind}/${j.state}`, (jobStates.get(`${j.kind}/${j.state}`) ?? 0) + 1);
    const issueJobs = jobs.filter((j) => j.kind === 'certificate.issue');
    const summary = [
      '',
      '================ chaos summary ================',
      `seed                     ${SEED}`,
      `PostgreSQL               ${pgServer.description}`,
      `instances                ${INSTANCES} × worker concurrency ${CONCURRENCY}, at least ${MIN_UP} kept up; starts ${instances.map((i) => `${i.name}=${i.starts}`).join(', ')}`,
      `auto certificates        ${N} (http-01, ecdsa256)`,
      `SIGKILLs                 ${kills}`,
      `PostgreSQL outage        ${outage ? `${(outage.ms / 1000).toFixed(1)} s, ${outage.availableBefore}/${N} AVAILABLE when it began` : 'none'}`,
      `issuance time            ${(issuanceMs / 1000).toFixed(1)} s (first POST → all AVAILABLE); ${(N / (issuanceMs / 1000)).toFixed(2)} certs/s`,
      `whole run                ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      `Pebble                   ${issued.length} certificates issued; ${pebbleRequests(pebbleLog, 'POST', '/order-plz')} POST /order-plz (badNonce refusals included), ${pebbleRequests(pebbleLog, 'POST', '/finalize-order/')} POST /finalize-order/`,
      `orders                   ${orderRows.length} rows (${orderRows.filter((o) => o.certificate_id).length} with a certificate, ${orderRows.filter((o) => !o.certificate_id).length} closed without); ${ordersCreated} order_created events`,
      `failed attempts          ${failedAttempts} certificate.renewal_failed events${failures.length ? ':' : ''}`,
      ...failures.slice(0, 10).map((f) => `  [${((Date.parse(f.created_at) - t0) / 1000).toFixed(1).padStart(6)} s] ${f.subject_id}: ${f.message}`),
      `jobs                     ${[...jobStates].map(([k, v]) => `${k} ${v}`).join(', ')}; issue job attempts max ${Math.max(0, ...issueJobs.map((j) => j.attempts))}, total ${issueJobs.reduce((a, j) => a + j.attempts, 0)}`,
      `http-01 proxy            ${proxy.forwarded} validation requests answered (${proxy.retried} of them by a second instance after the first failed), ${proxy.failed} answered by none`,
      ...proxy.notOk.slice(0, 10).map((x) => `  [${((x.at - t0) / 1000).toFixed(1).padStart(6)} s] validation request answered ${x.status || 'by no instance'}: ${x.path}`),
      `http01_tokens left       ${tokensLeft}`,
      'timeline:',
      ...events.map((e) => `  ${e}`),
      problems.length ? `PROBLEMS (${problems.length}):\n${problems.slice(0, 40).map((p) => `  - ${p}`).join('\n')}` : 'no problems found',
      '===============================================',
    ].join('\n');
    console.log(summary);
    assert.deepEqual(problems, []);
    assert.equal(kills, KILLS);
    ok = true;
  } finally {
    stopChaos = true;
    await Promise.race([chaosLoop.catch(() => undefined), sleep(120_000, undefined, { ref: false })]);
    // First of all: PostgreSQL runs again, whatever happened.
    if (pgServer?.stopped) {
      try {
        await pgServer.start();
      } catch (err) {
        console.error(`chaos: starting PostgreSQL again failed: ${(err as Error).message}`);
      }
    }
    await Promise.all(instances.map((inst) => inst.stop(15_000).catch(() => undefined)));
    await Promise.all(instances.map((inst) => inst.closeLog()));
    await proxy?.close();
    await pebble?.stop();
    await monitor?.end().catch(() => undefined);
    await database?.drop();
    await pgServer?.dispose();
    if (ok && process.env.CERTKEEPER_CHAOS_KEEP !== '1') rmSync(work, { recursive: true, force: true });
    else console.log(`chaos: logs kept in ${work} (instance-*.log, pebble.log)`);
  }
});
