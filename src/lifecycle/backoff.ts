/** Retry timing for failed background work. */

/** Exponential backoff with ±20 % jitter: base · 2^(attempt-1), capped. */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const raw = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** The later of the backoff time and the server's Retry-After. */
export function nextAttemptAt(now: Date, attempt: number, opts: { baseMs: number; capMs: number; retryAfter?: Date | undefined; random?: () => number }): Date {
  const backoff = new Date(now.getTime() + backoffDelayMs(attempt, opts.baseMs, opts.capMs, opts.random));
  return opts.retryAfter && opts.retryAfter > backoff ? opts.retryAfter : backoff;
}
