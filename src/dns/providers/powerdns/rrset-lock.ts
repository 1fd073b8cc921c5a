/**
 * A per-key mutex for this process: the provider's read-modify-write of one RRset (one server,
 * zone and name) runs one at a time, so two challenges on one name in this process never write
 * over each other. Writers in other processes are caught by the provider's verify-and-retry.
 */

// key → the promise that resolves when the last holder queued for that key has released it.
const tails = new Map<string, Promise<void>>();

/**
 * Runs `fn` once every earlier holder of `key` has finished. Waiting ends early, with the signal's
 * reason, when `signal` aborts; the lock is then never taken and later waiters still queue behind
 * the earlier holders, not behind this one.
 */
export async function withRrsetLock<T>(key: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  // The next waiter waits for `previous` and for this holder: releasing early (on abort) cannot
  // let it overtake a holder still running.
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  try {
    await waitOrAbort(previous, signal);
    return await fn();
  } finally {
    release();
    // Let the entry go when nobody queued behind this holder, so the map stays small.
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
  }
}

async function waitOrAbort(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return await p;
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
