/**
 * Counts the ACME requests Pebble logged ("<METHOD> <path> -> calling handler()" lines), per
 * endpoint, so a phase's requests are the difference of two snapshots.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PebbleHandle } from '../../test/harness/pebble.js';

/** Requests per endpoint key (`"POST /order-plz"`, `"HEAD /nonce-plz"`, …). */
export type RequestCounts = Record<string, number>;

const LINE = / (GET|HEAD|POST) (\S+) -> calling handler\(\)/g;

/** Human names of Pebble's ACME endpoints, in protocol order (unknown keys are shown as logged). */
export const ENDPOINTS: readonly { key: string; label: string }[] = [
  { key: 'GET /dir', label: 'directory (GET /dir)' },
  { key: 'HEAD /nonce-plz', label: 'newNonce (HEAD /nonce-plz)' },
  { key: 'GET /nonce-plz', label: 'newNonce (GET /nonce-plz)' },
  { key: 'POST /sign-me-up', label: 'newAccount (POST /sign-me-up)' },
  { key: 'POST /my-account/', label: 'account (POST /my-account/)' },
  { key: 'POST /order-plz', label: 'newOrder (POST /order-plz)' },
  { key: 'POST /authZ/', label: 'authorization (POST /authZ/)' },
  { key: 'POST /chalZ/', label: 'challenge (POST /chalZ/)' },
  { key: 'POST /finalize-order/', label: 'finalize (POST /finalize-order/)' },
  { key: 'POST /my-order/', label: 'order poll (POST /my-order/)' },
  { key: 'POST /certZ/', label: 'certificate (POST /certZ/)' },
];

/** Counts every ACME request line in `text` (Pebble's whole log so far). */
export function countRequests(text: string): RequestCounts {
  const counts: RequestCounts = {};
  for (const m of text.matchAll(LINE)) {
    const key = `${m[1]} ${m[2]}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** `after - before`, per key, dropping zeros. */
export function diffCounts(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Sum of all counts. */
export function total(counts: RequestCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/**
 * Waits until Pebble has logged no new request for `quietMs` (its log arrives through a pipe and a
 * client may still be finishing), at most `maxMs`; then returns a snapshot of the counts.
 */
export async function settledCounts(pebble: PebbleHandle, signal: AbortSignal, quietMs = 300, maxMs = 5_000): Promise<RequestCounts> {
  const deadline = Date.now() + maxMs;
  let last = pebble.requestCount();
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await sleep(50, undefined, { signal });
    const now = pebble.requestCount();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) break;
  }
  return countRequests(pebble.logText());
}
