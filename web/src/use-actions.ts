/** The state of a detail page's actions: which one runs, its error, and what it did. */
import { useState } from 'preact/hooks';
import { errorText } from './api';

/** What {@link useActions} returns. */
export interface Actions<A extends string> {
  /** The action running now, or null. */
  busy: A | null;
  /** Why the last action failed, or null. */
  actionError: string | null;
  setActionError(message: string | null): void;
  /** What the last action did (a success notice), or null. */
  done: string | null;
  setDone(message: string | null): void;
  /** Runs `body` as `action`: clears the last error and notice, marks it busy, and shows why it failed. */
  perform(action: A, body: () => Promise<void>, describe?: (err: unknown) => string): Promise<void>;
}

/** Busy, error and notice state for the actions of one page. */
export function useActions<A extends string>(): Actions<A> {
  const [busy, setBusy] = useState<A | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const perform = async (action: A, body: () => Promise<void>, describe: (err: unknown) => string = errorText) => {
    setBusy(action);
    setActionError(null);
    setDone(null);
    try {
      await body();
    } catch (err) {
      setActionError(describe(err));
    } finally {
      setBusy(null);
    }
  };
  return { busy, actionError, setActionError, done, setDone, perform };
}
