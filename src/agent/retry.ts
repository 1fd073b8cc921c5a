/**
 * Retries of calls to the server: network errors, 5xx and 429 are retried with capped exponential
 * backoff and jitter (1 s, 2 s, 4 s … 60 s, ±20 %), honouring Retry-After; every wait is abortable,
 * and the number of attempts is bounded where the caller says so.
 */
import type { Logger } from 'pino';
import { backoffDelayMs } from '../lifecycle/backoff.js';
import { AgentApiError, isRetryable } from './server-client.js';

/** Backoff bounds. */
export interface RetryTiming {
  baseMs: number;
  capMs: number;
}

/** The agent's default: 1 s doubling up to 60 s. */
export const DEFAULT_RETRY_TIMING: RetryTiming = { baseMs: 1000, capMs: 60_000 };

/** Waits `ms`, or less when `signal` aborts (then rejects with its reason). */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Options of {@link withRetry}. */
export interface RetryOptions {
  signal: AbortSignal;
  logger: Logger;
  /** What is being done, for the log ("polling for work"). */
  what: string;
  /** Attempts before the last error is thrown; default unbounded (until aborted). */
  maxAttempts?: number;
  timing?: RetryTiming;
}

/** Calls `fn` until it succeeds, fails with a non-retryable error, runs out of attempts, or is aborted. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const timing = opts.timing ?? DEFAULT_RETRY_TIMING;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (opts.signal.aborted || !isRetryable(err) || attempt >= (opts.maxAttempts ?? Infinity)) throw err;
      let delay = backoffDelayMs(attempt, timing.baseMs, timing.capMs);
      if (err instanceof AgentApiError && err.retryAfterSeconds !== undefined) {
        delay = Math.max(delay, Math.min(err.retryAfterSeconds * 1000, timing.capMs * 5));
      }
      opts.logger.warn({ attempt, retryInMs: delay, error: (err as Error).message }, `${opts.what} failed; retrying`);
      await sleep(delay, opts.signal);
    }
  }
}
