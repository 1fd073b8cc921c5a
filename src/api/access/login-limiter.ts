/**
 * Failed logins per client address, in memory: after `max` failures within `windowMs` the address
 * waits until the window ends. The per-account lockout lives in the database (it holds across
 * instances); this one slows down a single address guessing many accounts.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly max = 20, private readonly windowMs = 15 * 60_000, private readonly capacity = 10_000) {}

  /** When the address may try again, or null when it may now. */
  blockedUntil(address: string, now: number): Date | null {
    const f = this.failures.get(address);
    if (!f || now - f.since >= this.windowMs) return null;
    return f.count >= this.max ? new Date(f.since + this.windowMs) : null;
  }

  /** Counts a failure of the address. */
  fail(address: string, now: number): void {
    const f = this.failures.get(address);
    if (!f || now - f.since >= this.windowMs) {
      // Bounded memory: forget the oldest address when full (Map keeps insertion order).
      if (this.failures.size >= this.capacity) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(address, { count: 1, since: now });
    } else {
      f.count++;
    }
  }

  /** A successful login clears the address. */
  succeed(address: string): void {
    this.failures.delete(address);
  }
}
