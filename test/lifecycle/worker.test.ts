// The job worker's leases and shutdown, with slow fake handlers on a real database (SQLite and
// PostgreSQL): stop() lets a job in hand finish within the grace; a job that overruns it is
// aborted and handed back, claimable by another owner at once; a lost lease aborts the handler;
// a failing job table is polled with a bounded backoff.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase, type Db } from '../../src/store/database.js';
import { JobQueue, type Job } from '../../src/store/jobs.js';
import { LeaseLostError, Worker, type JobHandler, type JobOutcome } from '../../src/lifecycle/worker.js';
import { createLogger } from '../../src/server/logger.js';
import { allDatabases } from '../harness/databases.js';

const backends = await allDatabases();
const logger = createLogger('silent');
const clock = () => new Date();

/** Resolves when `signal` aborts, with its reason. */
const aborted = (signal: AbortSignal) => new Promise<unknown>((resolve) => {
  if (signal.aborted) resolve(signal.reason);
  signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
});

async function until<T>(what: string, f: () => Promise<T | undefined | null | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const backend of backends) {
  describe(`worker on ${backend.name}`, () => {
    let db: Db;
    let jobs: JobQueue;
    let n = 0;
    const row = (id: string) => db.kysely.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    before(async () => {
      db = await openDatabase(backend.url);
      jobs = new JobQueue(db, clock);
    });
    after(async () => {
      await db.close();
      await backend.cleanup();
    });

    /** A worker with one handler kind; `started` resolves with each job the handler receives. */
    function setUp(handler: JobHandler, opts: Partial<ConstructorParameters<typeof Worker>[2]> = {}) {
      const kind = `k${++n}`;
      const started: Array<(j: Job) => void> = [];
      const next = () => new Promise<Job>((resolve) => started.push(resolve));
      const worker = new Worker(jobs, {
        [kind]: (job, signal) => {
          started.shift()?.(job);
          return handler(job, signal);
        },
      }, { owner: `owner-${kind}`, concurrency: 4, pollMs: 20, logger, ...opts });
      return { kind, worker, next };
    }

    test('stop() during a job waits for it to finish within the grace, and claims nothing new', async () => {
      let sawAbort = false;
      const { kind, worker, next } = setUp(async (_job, signal) => {
        await sleep(600);
        sawAbort = signal.aborted;
        return { status: 'done' };
      });
      await worker.start();
      const first = next();
      const { job } = await jobs.enqueue({ tenantId: 't', kind, subjectId: 'slow' });
      worker.kick();
      await first;
      const t0 = Date.now();
      const stopping = worker.stop(5_000);
      // Enqueued after stop() began: left for another instance.
      const { job: late } = await jobs.enqueue({ tenantId: 't', kind, subjectId: 'late' });
      await stopping;
      const took = Date.now() - t0;
      assert.ok(took >= 400 && took < 5_000, `stop() returned after the job, within the grace (${took} ms)`);
      assert.equal(sawAbort, false, 'the job was not aborted');
      assert.equal((await row(job.id)).state, 'done', 'and its outcome was recorded');
      assert.equal((await row(late.id)).state, 'queued', 'nothing was claimed after stop()');
      assert.equal(worker.running, 0);
    });

    test('a job that overruns the grace is aborted and handed back: another owner claims it at once', async () => {
      let reason: unknown;
      const { kind, worker, next } = setUp(async (_job, signal): Promise<JobOutcome> => {
        reason = await Promise.race([aborted(signal), sleep(30_000)]);
        // Cleanup after the abort still gets to run before the lease is handed back.
        await sleep(50);
        return { status: 'retry', at: new Date(Date.now() + 3_600_000), error: 'interrupted' };
      });
      await worker.start();
      const first = next();
      const { job } = await jobs.enqueue({ tenantId: 't', kind, subjectId: 'overrun' });
      worker.kick();
      await first;
      const t0 = Date.now();
      await worker.stop(300);
      const took = Date.now() - t0;
      assert.ok(took >= 300 && took < 3_000, `stop() returned soon after the grace (${took} ms)`);
      assert.match(String((reason as Error)?.message), /shutting down/);
      const handedBack = await row(job.id);
      assert.equal(handedBack.state, 'running');
      assert.equal(handedBack.lease_expires_at, new Date(0).toISOString(), 'its lease expired at once');
      assert.equal(handedBack.last_error, null, 'the interruption is not recorded as a failure');
      const taken = await jobs.claim('another-instance', 30_000, 10);
      assert.deepEqual(taken.map((j) => [j.id, j.lease_owner, j.attempts]), [[job.id, 'another-instance', 2]]);
      await jobs.complete(job.id, 'another-instance');
    });

    test('a lost lease aborts the handler, and the old owner records nothing', async () => {
      let reason: unknown;
      const { kind, worker, next } = setUp(async (_job, signal): Promise<JobOutcome> => {
        reason = await Promise.race([aborted(signal), sleep(10_000)]);
        return { status: 'retry', at: new Date(), error: 'stopped' };
      }, { leaseMs: 5_000, heartbeatMs: 50 });
      await worker.start();
      try {
        const first = next();
        const { job } = await jobs.enqueue({ tenantId: 't', kind, subjectId: 'stolen' });
        worker.kick();
        await first;
        // Another instance takes the job over (its lease looked expired there).
        await db.kysely.updateTable('jobs').set({ lease_expires_at: new Date(Date.now() - 1_000).toISOString() }).where('id', '=', job.id).execute();
        assert.equal((await jobs.claim('thief', 30_000, 10)).length, 1);
        await until('the handler to be aborted', async () => reason);
        assert.ok(reason instanceof LeaseLostError, String(reason));
        await until('the worker to let go', async () => worker.running === 0);
        const r = await row(job.id);
        assert.equal(r.lease_owner, 'thief');
        assert.equal(r.state, 'running', 'the old owner did not reschedule the job it no longer holds');
        assert.equal(r.last_error, null);
        await jobs.complete(job.id, 'thief');
      } finally {
        await worker.stop(0);
      }
    });

    test('a lease that cannot be renewed (database away) aborts the handler before it runs out', async () => {
      class Unreachable extends JobQueue {
        override async heartbeat(): Promise<boolean> {
          throw new Error('connect ECONNREFUSED');
        }
      }
      const kind = `k${++n}`;
      let reason: unknown;
      let started = 0;
      const worker = new Worker(new Unreachable(db, clock), {
        [kind]: async (_job, signal) => {
          started = Date.now();
          reason = await Promise.race([aborted(signal), sleep(10_000)]);
          return { status: 'retry', at: new Date(), error: 'stopped' };
        },
      }, { owner: 'o-unreachable', concurrency: 1, pollMs: 20, leaseMs: 2_000, heartbeatMs: 50, logger });
      await worker.start();
      try {
        await jobs.enqueue({ tenantId: 't', kind, subjectId: 'cut-off' });
        worker.kick();
        await until('the handler to be aborted', async () => reason, 5_000);
        assert.ok(reason instanceof LeaseLostError, String(reason));
        const after = Date.now() - started;
        assert.ok(after < 2_000, `aborted before the lease ran out (${after} ms)`);
      } finally {
        await worker.stop(0);
      }
    });

    test('a failing job table is polled with a bounded backoff, and the worker recovers', async () => {
      let down = true;
      let calls = 0;
      class Flaky extends JobQueue {
        override async claim(owner: string, leaseMs: number, limit: number): Promise<Job[]> {
          calls++;
          if (down) throw new Error('Connection terminated unexpectedly');
          return super.claim(owner, leaseMs, limit);
        }
      }
      const kind = `k${++n}`;
      const worker = new Worker(new Flaky(db, clock), { [kind]: async () => ({ status: 'done' }) }, { owner: 'o-flaky', concurrency: 1, pollMs: 20, maxBackoffMs: 200, logger });
      await worker.start();
      try {
        await sleep(1_500);
        // Without backoff this would be about 75 polls; with it 40, 80, 160, then 200 ms apart.
        assert.ok(calls >= 4 && calls <= 14, `${calls} polls in 1.5 s`);
        const { job } = await jobs.enqueue({ tenantId: 't', kind, subjectId: 'after-outage' });
        down = false;
        await until('the job to run once the table answers', async () => (await row(job.id)).state === 'done', 2_000);
      } finally {
        await worker.stop(0);
      }
    });
  });
}
