/** A small REST client for the certkeeper server under test, with bounded 10 ms polling. */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

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
    this.requests++;
    const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.any([this.signal, AbortSignal.timeout(30_000)]),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 1000)}`);
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
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

/** Issues one certificate through the REST API; resolves with its wall time (POST → AVAILABLE) in ms. */
export async function issueOne(api: CertkeeperApi, name: string, commonName: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const id = await api.create('auto-certificates', autoCertificate(name, commonName));
  await api.waitAvailable('auto-certificates', id, timeoutMs);
  return performance.now() - started;
}

/** The auto certificate the benchmark asks for: one name, http-01, P-256. */
export function autoCertificate(name: string, commonName: string): Record<string, unknown> {
  return { name, provider: 'pebble', commonName, challengeType: 'http-01', keyAlgorithm: 'ecdsa256' };
}

/**
 * POSTs all `names` at once and polls the collection (one list request every {@link POLL_MS})
 * until every one is `AVAILABLE`. Resolves with the total wall time and each certificate's
 * latency from the start of the burst, in ms.
 */
export async function issueBurst(api: CertkeeperApi, names: readonly { name: string; commonName: string }[], timeoutMs: number): Promise<{ totalMs: number; latenciesMs: number[] }> {
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
    await sleep(POLL_MS, undefined, { signal: api.signal });
  }
}
