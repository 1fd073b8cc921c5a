/**
 * Orders in flight per CA, in this process: a burst of renewals (a catch-up after downtime, a
 * mass revocation moving ARI windows) must not open hundreds of orders at one CA at once.
 * Waiters are served in arrival order; an aborted waiter leaves the queue.
 */
export class CaLimiter {
  readonly #active = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(private readonly perCa: number) {}

  /** Waits for a slot at `ca` (e.g. the directory host) and returns its release function. */
  async acquire(ca: string, signal?: AbortSignal): Promise<() => void> {
    if ((this.#active.get(ca) ?? 0) >= this.perCa) {
      await new Promise<void>((resolve, reject) => {
        const queue = this.#waiting.get(ca) ?? [];
        this.#waiting.set(ca, queue);
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = queue.indexOf(wake);
          if (i >= 0) queue.splice(i, 1);
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(wake);
      });
    } else {
      this.#active.set(ca, (this.#active.get(ca) ?? 0) + 1);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.get(ca)?.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.#active.set(ca, (this.#active.get(ca) ?? 1) - 1);
    };
  }

  /** Orders in flight at `ca` (for tests and metrics). */
  inFlight(ca: string): number {
    return this.#active.get(ca) ?? 0;
  }
}
