/**
 * Runs jobs from the queue: claims due jobs up to a concurrency limit, keeps their leases alive,
 * and records each outcome. A job handler MUST be idempotent per step: after a crash the job is
 * claimed again and resumes from what it persisted.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Job, JobQueue } from '../store/jobs.js';

/** What a handler reports. */
export type JobOutcome = { status: 'done' } | { status: 'retry'; at: Date; error: string } | { status: 'failed'; error: string };

/** Runs one job. It SHOULD stop promptly when `signal` aborts (shutdown). */
export type JobHandler = (job: Job, signal: AbortSignal) => Promise<JobOutcome>;

/** Options of a worker. */
export interface WorkerOptions {
  owner: string;
  concurrency: number;
  leaseMs?: number;
  pollMs?: number;
  logger: Logger;
}

/** The job loop of one instance. */
export class Worker {
  readonly #running = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #kicked = false;
  readonly #leaseMs: number;
  readonly #pollMs: number;

  constructor(private readonly jobs: JobQueue, private readonly handlers: Record<string, JobHandler>, private readonly opts: WorkerOptions) {
    this.#leaseMs = opts.leaseMs ?? 30_000;
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

  /** Stops claiming, aborts running jobs and waits for them to settle. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error('shutting down'));
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled(this.#running.values());
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      this.#kicked = false;
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
      } catch (err) {
        this.opts.logger.error({ err }, 'job queue poll failed');
      }
      if (this.#kicked || signal.aborted) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.#pollMs);
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
    const handler = this.handlers[job.kind];
    if (!handler) {
      await this.jobs.fail(job.id, this.opts.owner, `no handler for job kind ${job.kind}`);
      return;
    }
    const heartbeat = setInterval(() => {
      this.jobs.heartbeat(job.id, this.opts.owner, this.#leaseMs).catch((err) => log.warn({ err }, 'lease heartbeat failed'));
    }, Math.max(1_000, this.#leaseMs / 3));
    let outcome: JobOutcome;
    try {
      outcome = await handler(job, this.#abort.signal);
    } catch (err) {
      log.error({ err }, 'job handler threw');
      outcome = { status: 'retry', at: new Date(Date.now() + 60_000), error: (err as Error).message };
    } finally {
      clearInterval(heartbeat);
    }
    if (this.#abort.signal.aborted) return; // leave the lease: the next start takes the job back
    try {
      if (outcome.status === 'done') await this.jobs.complete(job.id, this.opts.owner);
      else if (outcome.status === 'retry') await this.jobs.reschedule(job.id, this.opts.owner, outcome.at, outcome.error);
      else await this.jobs.fail(job.id, this.opts.owner, outcome.error);
    } catch (err) {
      log.error({ err }, 'recording job outcome failed');
    }
  }
}
