// Losing PostgreSQL and getting it back. The shared cluster cannot be stopped from a test, so the
// server reaches its database through a TCP proxy started here, which is then cut two ways:
// refused (the port closed, every connection reset) and silent (connections accepted and never
// answered, as in a network partition). Throughout, the process stays up: /healthz answers,
// /readyz says 503, API reads fail with problem+json within a bounded time instead of hanging,
// and no `error` event or rejection goes unhandled. When the proxy forwards again, /readyz is 200
// and a job enqueued before the cut is run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ISSUE_JOB } from '../../src/lifecycle/issuance.js';
import { startCertkeeper } from '../harness/certkeeper.js';
import { postgresDatabase } from '../harness/databases.js';

/** A TCP proxy in front of PostgreSQL that a test can cut and restore. */
class CuttableProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  #mode: 'forward' | 'silent' = 'forward';
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens (again, on the same port) and forwards (`forward`) or swallows (`silent`) every connection. */
  async open(mode: 'forward' | 'silent' = 'forward'): Promise<void> {
    this.#mode = mode;
    const server = createServer((client) => {
      this.#track(client);
      if (this.#mode === 'silent') return; // accepted, never answered
      const upstream = connect(this.target.port, this.target.host);
      this.#track(upstream);
      client.pipe(upstream).pipe(client);
      // One side gone: the other goes too, as with a real connection.
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops accepting and resets every connection through it. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #track(s: Socket): void {
    this.#sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => this.#sockets.delete(s));
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

test('the server survives losing PostgreSQL, answers 503 on /readyz meanwhile, and recovers', { timeout: 180_000 }, async (t) => {
  // PostgreSQL is part of the test setup (README): unreachable is a failure, not a skip.
  const backend = await postgresDatabase();
  assert.ok(backend, 'PostgreSQL is not reachable at 127.0.0.1:5432 (or CERTKEEPER_TEST_PG_URL): start it, see README');
  const target = new URL(backend.url);
  const proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
  await proxy.open();
  const proxied = new URL(backend.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);

  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const ck = await startCertkeeper({ CERTKEEPER_DATABASE_URL: proxied.toString(), CERTKEEPER_LOG_LEVEL: 'debug' });
  try {
    const probe = async (path: string) => {
      const res = await fetch(ck.url + path, { signal: AbortSignal.timeout(20_000) });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await probe('/readyz'), 200);
    assert.equal((await ck.api('GET', '/api/v1/providers')).status, 200);
    // Due while the database is away; it must run once it is back.
    const { job } = await ck.server.ctx.jobs.enqueue({ tenantId: 'default', kind: ISSUE_JOB, subjectId: 'no-such-auto-certificate', runAt: new Date(Date.now() + 1_500) });

    const apiFailsBounded = async (label: string) => {
      const t0 = Date.now();
      const res = await ck.api('GET', '/api/v1/providers');
      const took = Date.now() - t0;
      assert.equal(res.status, 503, `${label}: ${res.status} ${res.text}`);
      assert.equal(res.body.code, 'service_unavailable');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(res.body.status, res.status);
      assert.ok(took < 10_000, `${label}: answered in ${took} ms`);
    };

    // 1. Refused: port closed, every connection reset.
    await proxy.cut();
    const refusedAfter = await until('/readyz to answer 503 (refused)', async () => (await probe('/readyz')) === 503, 5_000);
    t.diagnostic(`refused: /readyz 503 after ${refusedAfter} ms`);
    assert.equal(await probe('/healthz'), 200, 'the process is alive');
    await apiFailsBounded('refused');
    await sleep(3_000); // the job falls due; the worker, dispatcher and scheduler meet the outage
    assert.equal(await probe('/healthz'), 200);

    // 2. Silent: connections accepted and never answered (a partition): only timeouts end them.
    await proxy.open('silent');
    const silentAfter = await until('/readyz to answer 503 (silent)', async () => (await probe('/readyz')) === 503, 5_000);
    t.diagnostic(`silent: /readyz 503 after ${silentAfter} ms`);
    await apiFailsBounded('silent');
    assert.equal(await probe('/healthz'), 200);

    // 3. Back.
    await proxy.cut();
    await proxy.open('forward');
    const backAfter = await until('/readyz to answer 200 again', async () => (await probe('/readyz')) === 200, 20_000);
    t.diagnostic(`restored: /readyz 200 after ${backAfter} ms`);
    assert.equal((await ck.api('GET', '/api/v1/providers')).status, 200);
    const ranAfter = await until('the job enqueued before the cut to run', async () => {
      const row = await ck.server.ctx.db.kysely.selectFrom('jobs').select('state').where('id', '=', job.id).executeTakeFirst();
      return row?.state === 'done';
    }, 40_000);
    t.diagnostic(`the job ran ${ranAfter} ms after the database came back`);
    assert.match(ck.logs(), /job queue poll failed/, 'the worker logged the outage');
    assert.match(ck.logs(), /job queue reachable again/, 'and its end');
    assert.deepEqual(unhandled.map(String), [], 'nothing went unhandled');
  } finally {
    await ck.stop();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    await proxy.cut();
    await backend.cleanup();
  }
});
