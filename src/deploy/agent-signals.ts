/**
 * Wakes an agent's long poll in this process when its work changed (a deployment due, an http-01
 * token published). Other instances find the change by polling the database once a second while
 * they hold a long poll, so this is an accelerator, never the only path.
 */

/** Per-agent wake-ups. */
export class AgentSignals {
  readonly #waiting = new Map<string, Set<() => void>>();

  /** Resolves when `agentId` is signalled or after `ms`, whichever comes first; abortable. */
  wait(agentId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#waiting.get(agentId) ?? new Set();
      this.#waiting.set(agentId, set);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.#waiting.get(agentId) === set) this.#waiting.delete(agentId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  /** Wakes every long poll of these agents in this process. */
  signal(...agentIds: (string | null | undefined)[]): void {
    for (const id of agentIds) {
      if (!id) continue;
      for (const wake of [...(this.#waiting.get(id) ?? [])]) wake();
    }
  }
}
