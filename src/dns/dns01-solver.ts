/**
 * The dns-01 solver, the one place that knows about zones, CNAME delegation and propagation
 * (STYLE.md habit 3). Providers only add and delete TXT values; this module decides where the
 * value goes (following `_acme-challenge` CNAMEs) and waits until every authoritative server of
 * the zone — or the zone's configured resolvers — answers it, querying with RD=0.
 */
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DnsResponse, DnsServerAddress, dnsQuery as DnsQueryFn } from './wire/dns-query.js';

/** What the solver needs to know of a zone. */
export interface SolverZone {
  zoneName: string;
  /** `host:port` servers to check instead of the zone's authoritative servers. */
  resolvers: DnsServerAddress[];
  propagationTimeoutSeconds: number;
  extraDelaySeconds: number;
}

/** A record to wait for. */
export interface PublishedRecord {
  fqdn: string;
  value: string;
  zone: SolverZone;
}

/** Thrown when records do not become visible in time; the message names the server and record. */
export class PropagationError extends Error {
  override name = 'PropagationError';
  constructor(message: string, readonly missing: { server: string; fqdn: string; value: string }[]) {
    super(message);
  }
}

/** Dependencies, injected for tests. */
export interface SolverDeps {
  query: typeof DnsQueryFn;
  /** Recursive resolvers for CNAME and NS lookups. */
  resolvers: DnsServerAddress[];
  logger?: Logger;
  /** Poll interval while waiting for propagation. */
  pollIntervalMs?: number;
}

const MAX_CNAME_HOPS = 8;
const fmt = (s: DnsServerAddress) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);
const strip = (n: string) => n.toLowerCase().replace(/\.$/, '');

/** `_acme-challenge.<name>` for an identifier (a wildcard validates at its base name: RFC 8555 §8.4). */
export function challengeRecordName(identifier: string): string {
  return `_acme-challenge.${identifier.replace(/^\*\./, '')}`;
}

/** Finds targets, authoritative servers, and waits for visibility. */
export class Dns01Solver {
  constructor(private readonly deps: SolverDeps) {}

  /** Asks each recursive resolver in turn; the first answer that is not a network failure wins. */
  private async recursive(name: string, type: 'CNAME' | 'NS' | 'A' | 'AAAA' | 'SOA', signal?: AbortSignal): Promise<DnsResponse> {
    let lastErr: unknown = new Error('no recursive resolver is configured (CERTKEEPER_DNS_RESOLVERS)');
    for (const server of this.deps.resolvers) {
      try {
        const res = await this.deps.query(server, name, type, { recursionDesired: true, ...(signal ? { signal } : {}) });
        if (res.rcode === 'NOERROR' || res.rcode === 'NXDOMAIN') return res;
        lastErr = new Error(`${fmt(server)} answered ${res.rcode} for ${name} ${type}`);
      } catch (err) {
        if (signal?.aborted) throw err;
        lastErr = err;
      }
    }
    throw lastErr;
  }

  /**
   * Where the record for `recordName` must be written: the name itself, or the end of the CNAME
   * chain that starts there (delegation of `_acme-challenge` to another zone). A name inside a
   * known zone is asked of that zone's own servers with RD=0, so no recursive resolver caches a
   * negative answer for a record that is about to be created (the CA may share that resolver).
   */
  async resolveTarget(recordName: string, signal?: AbortSignal, zoneFor?: (name: string) => SolverZone | undefined): Promise<string> {
    let name = strip(recordName);
    const seen = new Set<string>([name]);
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const zone = zoneFor?.(name);
      const res = zone ? await this.authoritative(zone, name, 'CNAME', signal) : await this.recursive(name, 'CNAME', signal);
      const cname = res.answers.find((a) => a.type === 'CNAME' && strip(a.name) === name);
      if (!cname) return name;
      name = strip(String(cname.data));
      if (seen.has(name)) throw new Error(`CNAME loop at ${name} while following ${recordName}`);
      seen.add(name);
    }
    throw new Error(`more than ${MAX_CNAME_HOPS} CNAMEs while following ${recordName}`);
  }

  /** Asks a zone's own servers (RD=0); the first that answers wins. */
  private async authoritative(zone: SolverZone, name: string, type: 'CNAME', signal?: AbortSignal): Promise<DnsResponse> {
    let lastErr: unknown;
    for (const server of await this.serversFor(zone, signal)) {
      try {
        return await this.deps.query(server, name, type, { recursionDesired: false, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (signal?.aborted) throw err;
        lastErr = err;
      }
    }
    throw lastErr;
  }

  /** The IPv4 and IPv6 addresses of `name` through the recursive resolvers (CNAMEs followed). */
  async addresses(name: string, signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    for (const type of ['A', 'AAAA'] as const) {
      const res = await this.recursive(name, type, signal).catch(() => null);
      for (const a of res?.answers ?? []) if (a.type === type && isIP(String(a.data))) out.push(String(a.data));
    }
    return out;
  }

  /** The zone apex (SOA owner) that contains `name`, found through the recursive resolvers. */
  async zoneCut(name: string, signal?: AbortSignal): Promise<string> {
    const res = await this.recursive(name, 'SOA', signal);
    const soa = [...res.answers, ...res.authorities].find((r) => r.type === 'SOA');
    if (!soa) throw new Error(`no SOA found above ${name}`);
    return strip(soa.name);
  }

  /** The addresses of a zone's authoritative servers (NS names resolved to A/AAAA, port 53). */
  async authoritativeServers(zoneName: string, signal?: AbortSignal): Promise<DnsServerAddress[]> {
    const ns = await this.recursive(zoneName, 'NS', signal);
    const names = ns.answers.filter((a) => a.type === 'NS').map((a) => strip(String(a.data)));
    if (names.length === 0) throw new Error(`the zone ${zoneName} has no NS records`);
    const out: DnsServerAddress[] = [];
    for (const n of names) {
      for (const type of ['A', 'AAAA'] as const) {
        const glue = ns.additionals.filter((a) => a.type === type && strip(a.name) === n).map((a) => String(a.data));
        const addrs = glue.length ? glue : (await this.recursive(n, type, signal).catch(() => null))?.answers.filter((a) => a.type === type).map((a) => String(a.data)) ?? [];
        for (const a of addrs) if (isIP(a) && !out.some((o) => o.host === a)) out.push({ host: a, port: 53 });
      }
    }
    if (out.length === 0) throw new Error(`no address found for the name servers of ${zoneName} (${names.join(', ')})`);
    return out;
  }

  /** Which servers to ask for a zone: its configured resolvers, else its authoritative servers. */
  async serversFor(zone: SolverZone, signal?: AbortSignal): Promise<DnsServerAddress[]> {
    return zone.resolvers.length ? zone.resolvers : this.authoritativeServers(zone.zoneName, signal);
  }

  /** Which of `records` each server does not answer yet (one round of RD=0 queries). */
  async missing(records: PublishedRecord[], signal?: AbortSignal): Promise<{ server: string; fqdn: string; value: string }[]> {
    const out: { server: string; fqdn: string; value: string }[] = [];
    const serversByZone = new Map<SolverZone, DnsServerAddress[]>();
    for (const r of records) {
      if (!serversByZone.has(r.zone)) serversByZone.set(r.zone, await this.serversFor(r.zone, signal));
    }
    const byServerAndName = new Map<string, Promise<string[] | Error>>();
    for (const r of records) {
      for (const server of serversByZone.get(r.zone)!) {
        const key = `${fmt(server)} ${r.fqdn}`;
        if (!byServerAndName.has(key)) {
          byServerAndName.set(key, this.deps.query(server, r.fqdn, 'TXT', { recursionDesired: false, ...(signal ? { signal } : {}) })
            .then((res) => res.answers.filter((a) => a.type === 'TXT').map((a) => a.txt ?? ''), (err: Error) => err));
        }
        const values = await byServerAndName.get(key)!;
        if (values instanceof Error || !values.includes(r.value)) out.push({ server: fmt(server), fqdn: r.fqdn, value: r.value });
      }
    }
    return out;
  }

  /**
   * Waits until every server of each record's zone answers its value, then the zones' extra
   * delay. Throws {@link PropagationError} naming the servers still missing records at the timeout.
   */
  async waitVisible(records: PublishedRecord[], signal?: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    const timeoutMs = Math.max(...records.map((r) => r.zone.propagationTimeoutSeconds)) * 1000;
    const deadline = Date.now() + timeoutMs;
    let interval = this.deps.pollIntervalMs ?? 250;
    for (;;) {
      const missing = await this.missing(records, signal);
      if (missing.length === 0) break;
      if (Date.now() + interval > deadline) {
        const first = missing.slice(0, 5).map((m) => `${m.server} does not answer TXT ${m.fqdn} with "${m.value}"`).join('; ');
        throw new PropagationError(`records not visible after ${Math.round(timeoutMs / 1000)} s: ${first}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''}`, missing);
      }
      this.deps.logger?.debug({ missing: missing.length }, 'waiting for dns-01 records to propagate');
      await sleep(interval, undefined, signal ? { signal } : {});
      interval = Math.min(interval * 1.5, 5_000);
    }
    const extra = Math.max(...records.map((r) => r.zone.extraDelaySeconds));
    if (extra > 0) await sleep(extra * 1000, undefined, signal ? { signal } : {});
  }
}
