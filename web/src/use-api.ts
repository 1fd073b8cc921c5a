/** Loading API data into a component: one GET, optional polling, reload on demand. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText } from './api';

/** The state of one GET. */
export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  /** Fetches again now (after an action). */
  reload(): Promise<void>;
}

/** How often to poll: a fixed interval, or a function of the last answer (null stops). */
export type Poll<T> = number | ((data: T | undefined) => number | null);

/**
 * GETs `path` (null: nothing to load yet). With `pollMs`, polls while the page is visible, so a
 * state change (PROVISIONING → AVAILABLE) shows without a reload.
 */
export function useApi<T>(path: string | null, pollMs?: Poll<T>): Loaded<T> {
  return useLoader<T>(path, () => api<T>('GET', path!), pollMs);
}

/** Like {@link useApi} for anything that loads: `key` changes restart it (null: not yet). */
export function useLoader<T>(key: string | null, fetcher: () => Promise<T>, pollMs?: Poll<T>): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(key !== null);
  const fetchRef = useRef(fetcher);
  fetchRef.current = fetcher;
  const latest = useRef(0);
  const dataRef = useRef<T | undefined>(undefined);
  const pollRef = useRef(pollMs);
  pollRef.current = pollMs;

  const load = useCallback(async () => {
    if (key === null) return;
    const n = ++latest.current;
    setLoading(true);
    try {
      const body = await fetchRef.current();
      if (n !== latest.current) return;
      dataRef.current = body;
      setData(body);
      setError(null);
    } catch (err) {
      if (n !== latest.current) return;
      setError(errorText(err));
    } finally {
      if (n === latest.current) setLoading(false);
    }
  }, [key]);

  // Polling: after each load, wait as long as `pollMs` says for the answer just received. A
  // reload (after an action) restarts the cycle, so a finished resource that was renewed is
  // followed again until it settles.
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const alive = useRef(false);
  const cycle = useCallback(async () => {
    clearTimeout(timer.current);
    timer.current = undefined;
    if (document.visibilityState === 'visible' || dataRef.current === undefined) await load();
    if (!alive.current || timer.current !== undefined) return;
    const p = pollRef.current;
    const ms = typeof p === 'function' ? p(dataRef.current) : p;
    if (ms) timer.current = setTimeout(() => void cycle(), ms);
  }, [load]);

  useEffect(() => {
    // The previous answer stays on screen while the next loads (a list changing page does not blank).
    alive.current = true;
    void cycle();
    const onVisible = () => {
      if (document.visibilityState === 'visible') void cycle();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      alive.current = false;
      latest.current++;
      clearTimeout(timer.current);
      timer.current = undefined;
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [cycle]);

  return { data, error, loading, reload: cycle };
}
