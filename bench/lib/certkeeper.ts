/**
 * The certkeeper server under test: started as `certkeeper serve` (dist/) with a fresh data
 * directory, and a small REST client for it with bounded 10 ms polling.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { freePort } from '../../test/harness/ports.js';
import { startServeProcess, type ServeProcess } from '../../test/harness/serve-process.js';
import { log, onCleanup } from './interrupts.js';
import { fmt } from './report.js';

/** Interval between two state polls. */
export const POLL_MS = 10;

interface Resource {
  id: string;
  metadata: { state: string; message?: string };
}
interface Collection {
  items: Resource[];
  total: number;
}

/** Calls `/api/v1` of one certkeeper server with the admin token. */
export class CertkeeperApi {
  /** REST requests made so far (the server spends CPU on them too). */
  requests = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    readonly signal: AbortSignal,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    this.signal.throwIfAborted();
    this.requests++;
    // A per-call controller, linked to the run's signal only while the call lasts: fetch() keeps
    // its listener on the signal it is given until the request is garbage-collected, and
    // AbortSignal.any() leaves a dependant on every source. Either way the run's long-lived signal
    // would gather thousands of entries, and on Node 20 every later listener added to it (each
    // ACME request of the ceiling loop, each timed wait) gets measurably slower.
    const call = new AbortController();
    const onAbort = (): void => call.abort(this.signal.reason);
    this.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => call.abort(new Error(`${method} ${path}: no answer within 30 s`)), 30_000);
    try {
      const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: call.signal,
      });
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 1000)}`);
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    } finally {
      clearTimeout(timer);
      this.signal.removeEventListener('abort', onAbort);
    }
  }

  /** POSTs a resource (expects 201/202) and returns its id. */
  async create(collection: string, properties: Record<string, unknown>): Promise<string> {
    const res = await this.call<Resource>('POST', `/${collection}`, { properties });
    if (res.status !== 201 && res.status !== 202) throw new Error(`POST /${collection}: unexpected HTTP ${res.status}`);
    return res.body.id;
  }

  /** Polls one resource every {@link POLL_MS} until `AVAILABLE`; throws on `FAILED` or after `timeoutMs`. */
  async waitAvailable(collection: string, id: string, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { body } = await this.call<Resource>('GET', `/${collection}/${id}`);
      if (body.metadata.state === 'AVAILABLE') return;
      if (body.metadata.state === 'FAILED') throw new Error(`${collection}/${id} FAILED: ${body.metadata.message ?? '(no message)'}`);
      if (performance.now() > deadline) throw new Error(`${collection}/${id} not AVAILABLE within ${timeoutMs / 1000} s (state ${body.metadata.state}: ${body.metadata.message ?? ''})`);
      await sleep(POLL_MS, undefined, { signal: this.signal });
    }
  }

  /** States of every resource of a collection (all pages), by id. */
  async states(collection: string): Promise<Map<string, Resource['metadata']>> {
    const out = new Map<string, Resource['metadata']>();
    for (let offset = 0; ; ) {
      const { body } = await this.call<Collection>('GET', `/${collection}?offset=${offset}&limit=1000`);
      for (const item of body.items) out.set(item.id, item.metadata);
      offset += body.items.length;
      if (body.items.length === 0 || offset >= body.total) return out;
    }
  }
}

/** The challenge types the benchmarks ask certkeeper for. */
export type ChallengeType = 'http-01' | 'dns-01';

/** Issues one certificate through the REST API; resolves with its wall time (POST → AVAILABLE) in ms. */
export async function issueOne(api: CertkeeperApi, name: string, commonName: string, timeoutMs: number, challengeType: ChallengeType = 'http-01'): Promise<number> {
  const started = performance.now();
  const id = await api.create('auto-certificates', autoCertificate(name, commonName, challengeType));
  await api.waitAvailable('auto-certificates', id, timeoutMs);
  return performance.now() - started;
}

/** The auto certificate the benchmark asks for: one name, P-256, from the provider `pebble`. */
export function autoCertificate(name: string, commonName: string, challengeType: ChallengeType = 'http-01'): Record<string, unknown> {
  return { name, provider: 'pebble', commonName, challengeType, keyAlgorithm: 'ecdsa256' };
}

/**
 * POSTs all `names` at once and polls the collection (one list request every `pollMs`, default
 * {@link POLL_MS}) until every one is `AVAILABLE`. Resolves with the total wall time and each
 * certificate's latency from the start of the burst, in ms.
 */
export async function issueBurst(
  api: CertkeeperApi,
  names: readonly { name: string; commonName: string }[],
  timeoutMs: number,
  pollMs = POLL_MS,
): Promise<{ totalMs: number; latenciesMs: number[] }> {
  const started = performance.now();
  const ids = await Promise.all(names.map((n) => api.create('auto-certificates', autoCertificate(n.name, n.commonName))));
  const done = new Map<string, number>();
  const deadline = started + timeoutMs;
  for (;;) {
    const states = await api.states('auto-certificates');
    const now = performance.now();
    for (const id of ids) {
      if (done.has(id)) continue;
      const m = states.get(id);
      if (m?.state === 'AVAILABLE') done.set(id, now - started);
      else if (m?.state === 'FAILED') throw new Error(`auto-certificates/${id} FAILED: ${m.message ?? '(no message)'}`);
    }
    if (done.size === ids.length) return { totalMs: now - started, latenciesMs: ids.map((id) => done.get(id)!) };
    if (now > deadline) throw new Error(`concurrent burst: ${ids.length - done.size} of ${ids.length} not AVAILABLE within ${timeoutMs / 1000} s`);
    await sleep(pollMs, undefined, { signal: api.signal });
  }
}

/** A running server under test. */
export interface CertkeeperServer {
  proc: ServeProcess;
  pid: number;
  api: CertkeeperApi;
  /** SIGTERM, then SIGKILL after 10 s (3 s once interrupted); idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `certkeeper serve` on a free API port with a fresh data directory (removed at cleanup),
 * its http-01 responder on `127.0.0.1:<httpPort>`, log level warn and budgets high enough for
 * hundreds of names under one domain. `extraEnv` adds settings (e.g. CERTKEEPER_DNS_RESOLVERS).
 */
export async function startCertkeeper(httpPort: number, signal: AbortSignal, extraEnv: Record<string, string> = {}): Promise<CertkeeperServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-bench-data-'));
  onCleanup('certkeeper data dir', () => rm(dataDir, { recursive: true, force: true }));
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const token = randomBytes(24).toString('hex');
  log(`certkeeper: starting the server (API ${apiUrl}, http-01 on 127.0.0.1:${httpPort}) …`);
  const proc = await startServeProcess({
    CERTKEEPER_DATA_DIR: dataDir,
    CERTKEEPER_LISTEN: `127.0.0.1:${apiPort}`,
    CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}`,
    CERTKEEPER_ADMIN_TOKEN: token,
    CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1',
    CERTKEEPER_LOG_LEVEL: 'warn',
    // Every benchmark certificate is under one test domain: the local budgets would stop the run.
    CERTKEEPER_RATE_BUDGET_PER_DOMAIN: '100000',
    CERTKEEPER_RATE_BUDGET_PER_NAME_SET: '100000',
    // A developer's exported settings must not point the server elsewhere: '' means "unset" here.
    CERTKEEPER_ADMIN_TOKEN_FILE: '',
    CERTKEEPER_DATABASE_URL: '',
    CERTKEEPER_DATABASE_URL_FILE: '',
    CERTKEEPER_MASTER_KEY: '',
    CERTKEEPER_MASTER_KEY_FILE: '',
    ...extraEnv,
  }, apiUrl);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= stopServer(proc, signal));
  onCleanup('certkeeper server', stop);
  return { proc, pid: proc.child.pid!, api: new CertkeeperApi(apiUrl, token, signal), stop };
}

/** SIGTERM, then SIGKILL if the server has not exited after 10 s (3 s once interrupted). */
async function stopServer(proc: ServeProcess, signal: AbortSignal): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const t0 = performance.now();
  const stopped = proc.stop();
  const inTime = await Promise.race([stopped.then(() => true), sleep(signal.aborted ? 3_000 : 10_000, undefined, { ref: false }).then(() => false)]);
  if (!inTime) {
    log('certkeeper: server did not exit after SIGTERM; sending SIGKILL');
    await proc.kill();
  }
  log(`certkeeper: server stopped in ${fmt((performance.now() - t0) / 1000, 1)} s`);
}
