/**
 * Runs jobs from the queue: claims due jobs up to a concurrency limit, keeps their leases alive,
 * and records each outcome. A job handler MUST be idempotent per step: after a crash the job is
 * claimed again and resumes from what it persisted.
 *
 * Leases: a running job's lease is renewed every third of its length. When a renewal finds the
 * lease gone (another instance took the job over), or renewals keep failing until the lease as last
 * confirmed runs out (the database is away, so another instance may take it over), the job's
 * signal aborts: two instances never keep working the same job.
 *
 * Shutdown ({@link Worker.stop}): claiming stops at once; jobs in hand get a bounded grace to
 * finish; the rest are aborted and, once their handlers return, handed back (lease expired now),
 * so another instance takes them over on its next poll instead of after the lease.
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Job, JobQueue } from '../store/jobs.js';

/** What a handler reports. */
export type JobOutcome = { status: 'done' } | { status: 'retry'; at: Date; error: string } | { status: 'failed'; error: string };

/**
 * Runs one job. It SHOULD stop promptly when `signal` aborts (shutdown, or the lease was lost) and
 * then report `retry`: the job runs again, here or elsewhere, from what it persisted.
 */
export type JobHandler = (job: Job, signal: AbortSignal) => Promise<JobOutcome>;

/** Options of a worker. */
export interface WorkerOptions {
  owner: string;
  concurrency: number;
  leaseMs?: number;
  /** How often a lease is renewed (default a third of `leaseMs`, at least 1 s). */
  heartbeatMs?: number;
  pollMs?: number;
  /** How long {@link Worker.stop} lets jobs in hand finish before aborting them (default 20 s). */
  shutdownGraceMs?: number;
  /** How long after aborting it waits for handlers to return (default 10 s); a job still running keeps its lease until it lapses. */
  abortWaitMs?: number;
  /** Longest pause between polls while the job table keeps failing (default 15 s). */
  maxBackoffMs?: number;
  logger: Logger;
}

/** The reason a job's signal carries when its lease was lost. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The job loop of one instance. */
export class Worker {
  readonly #running = new Map<string, Promise<void>>();
  /** Aborts when claiming stops (shutdown begins). */
  readonly #stopping = new AbortController();
  /** Aborts the jobs in hand (shutdown grace is over). */
  readonly #abort = new AbortController();
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #stopped: Promise<void> | null = null;
  #kicked = false;
  #failures = 0;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #pollMs: number;

  constructor(private readonly jobs: JobQueue, private readonly handlers: Record<string, JobHandler>, private readonly opts: WorkerOptions) {
    this.#leaseMs = opts.leaseMs ?? 30_000;
    this.#heartbeatMs = opts.heartbeatMs ?? Math.max(1_000, this.#leaseMs / 3);
    this.#pollMs = opts.pollMs ?? 1_000;
    // Every running job and each of its ACME requests listens on this one signal.
    setMaxListeners(0, this.#abort.signal);
  }

  /** Starts the loop, first taking back jobs this instance held before a restart. */
  async start(): Promise<void> {
    const released = await this.jobs.releaseLeases(this.opts.owner);
    if (released) this.opts.logger.info({ released }, 'resuming jobs interrupted by the previous run');
    this.#loop = this.#run();
  }

  /** Wakes the loop now (work was just enqueued). */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  /** Jobs this worker is running now. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Stops claiming, lets the jobs in hand finish for up to `graceMs`, then aborts the rest and
   * hands their leases back. Resolves when every handler returned, or `abortWaitMs` after the abort.
   */
  stop(graceMs = this.opts.shutdownGraceMs ?? 20_000): Promise<void> {
    this.#stopped ??= this.#stop(graceMs);
    return this.#stopped;
  }

  async #stop(graceMs: number): Promise<void> {
    this.#stopping.abort(new Error('shutting down'));
    this.#wake?.();
    await this.#loop;
    const settled = () => Promise.allSettled(this.#running.values()).then(() => true);
    const timeout = (ms: number) => sleep(ms).then(() => false);
    if (this.#running.size === 0) return;
    this.opts.logger.info({ jobs: this.#running.size, graceMs }, 'shutting down: letting the jobs in hand finish');
    if (await Promise.race([settled(), timeout(graceMs)])) return;
    this.opts.logger.warn({ jobs: [...this.#running.keys()] }, 'shutdown grace is over: aborting the jobs still running and handing them back');
    this.#abort.abort(new Error('shutting down'));
    const abortWaitMs = this.opts.abortWaitMs ?? 10_000;
    if (!(await Promise.race([settled(), timeout(abortWaitMs)]))) {
      this.opts.logger.warn({ jobs: [...this.#running.keys()] }, 'jobs ignored the abort; their leases lapse on their own');
    }
  }

  async #run(): Promise<void> {
    const stopping = this.#stopping.signal;
    while (!stopping.aborted) {
      this.#kicked = false;
      let delay = this.#pollMs;
      try {
        const free = this.opts.concurrency - this.#running.size;
        if (free > 0) {
          for (const job of await this.jobs.claim(this.opts.owner, this.#leaseMs, free)) {
            const p = this.#execute(job).finally(() => {
              this.#running.delete(job.id);
              this.kick();
            });
            this.#running.set(job.id, p);
          }
        }
        if (this.#failures > 0) this.opts.logger.info({ failures: this.#failures }, 'job queue reachable again');
        this.#failures = 0;
      } catch (err) {
        // The database is away (or failing): back off, bounded, instead of polling every second.
        this.#failures++;
        delay = Math.max(this.#pollMs, Math.min(this.#pollMs * 2 ** Math.min(this.#failures, 10), this.opts.maxBackoffMs ?? 15_000));
        this.opts.logger.error({ err, failures: this.#failures, retryInMs: delay }, 'job queue poll failed');
      }
      if ((this.#kicked && this.#failures === 0) || stopping.aborted) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  async #execute(job: Job): Promise<void> {
    const log = this.opts.logger.child({ job: job.id, kind: job.kind, subject: job.subject_id });
    const owner = this.opts.owner;
    const handler = this.handlers[job.kind];
    if (!handler) {
      await this.jobs.fail(job.id, owner, `no handler for job kind ${job.kind}`).catch((err) => log.error({ err }, 'recording job outcome failed'));
      return;
    }
    const lease = new AbortController();
    const signal = AbortSignal.any([this.#abort.signal, lease.signal]);
    setMaxListeners(0, signal);
    // The lease as last confirmed, on the monotonic clock; it was granted just before now. Given
    // up a tenth early: another instance judges expiry by its own clock.
    let leaseEnds = performance.now() + this.#leaseMs;
    const margin = this.#leaseMs / 10;
    const loseLease = (why: string) => {
      if (lease.signal.aborted) return;
      log.warn({ why }, 'job lease lost: stopping the job (another instance may take it over)');
      lease.abort(new LeaseLostError(why));
    };
    let beating = false;
    const heartbeat = setInterval(() => {
      if (performance.now() >= leaseEnds - margin) return loseLease('the lease ran out before it could be renewed');
      if (beating) return;
      beating = true;
      const sentAt = performance.now();
      this.jobs.heartbeat(job.id, owner, this.#leaseMs)
        .then((held) => {
          if (held) leaseEnds = sentAt + this.#leaseMs;
          else loseLease('another instance holds the lease now');
        }, (err) => log.warn({ err }, 'lease heartbeat failed'))
        .finally(() => {
          beating = false;
        });
    }, this.#heartbeatMs);
    let outcome: JobOutcome;
    try {
      outcome = await handler(job, signal);
    } catch (err) {
      if (!signal.aborted) log.error({ err }, 'job handler threw');
      outcome = { status: 'retry', at: new Date(Date.now() + 60_000), error: (err as Error).message };
    } finally {
      clearInterval(heartbeat);
    }
    try {
      if (lease.signal.aborted) return; // the job is no longer ours to record
      if (this.#abort.signal.aborted && outcome.status === 'retry') {
        // Shutdown interrupted it: hand it back now rather than after the lease.
        if (await this.jobs.releaseLease(job.id, owner)) log.info('job handed back for another instance');
        return;
      }
      if (outcome.status === 'done') await this.jobs.complete(job.id, owner);
      else if (outcome.status === 'retry') await this.jobs.reschedule(job.id, owner, outcome.at, outcome.error);
      else await this.jobs.fail(job.id, owner, outcome.error);
    } catch (err) {
      // The lease lapses and the job runs again: handlers are idempotent per step.
      log.error({ err }, 'recording job outcome failed');
    }
  }
}
