/**
 * The `powerdns` DNS provider: TXT records through the PowerDNS Authoritative HTTP API.
 *
 * The API replaces whole RRsets (PATCH `changetype: REPLACE` / `DELETE`), so adding or removing one
 * value is a read-modify-write of the name's TXT RRset. Within this process it runs under a
 * per-RRset lock; against other writers (another certkeeper instance, another tool) every write is
 * verified by reading the RRset back, and the read-modify-write is repeated a bounded number of
 * times when a concurrent REPLACE dropped our change.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isPrivateAddress } from '../../../lifecycle/address-policy.js';
import { guardedFetch } from '../../../lifecycle/guarded-fetch.js';
import { DnsProviderError, type DnsProvider, type TxtRecord } from '../../dns-provider.js';
import type { ProviderInit } from '../../provider-manifest.js';
import {
  PdnsClient,
  PdnsHttpError,
  PdnsTransportError,
  quoteTxt,
  unquoteTxt,
  type PdnsRecord,
  type PdnsRrset,
  type PdnsRrsetChange,
} from './client.js';
import { withRrsetLock } from './rrset-lock.js';

const PROVIDER = 'powerdns';

/** Knobs with production defaults; tests may shorten them. */
export interface PowerDnsTuning {
  /** Per-request timeout in ms (default 15000), combined with the caller's signal. */
  requestTimeoutMs?: number;
  /** Read-modify-write attempts when a concurrent writer undid ours (default 5). */
  maxAttempts?: number;
  /** Base back-off between attempts in ms (default 100; doubled each attempt, with jitter). */
  retryDelayMs?: number;
  /** Host name resolution for the private-address check; default `dns.promises.lookup`. */
  lookupHost?: (host: string) => Promise<string[]>;
}

async function defaultLookup(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((a) => a.address);
}

function fail(message: string): DnsProviderError {
  return new DnsProviderError(PROVIDER, message);
}

/** Parses and checks `apiUrl`; refuses loopback/private targets unless they are allowed. */
async function checkApiUrl(raw: unknown, allowPrivate: boolean, lookupHost: (host: string) => Promise<string[]>): Promise<URL> {
  if (typeof raw !== 'string' || raw.trim() === '') throw fail('the setting apiUrl is required (e.g. http://127.0.0.1:8081)');
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw fail('the setting apiUrl is not a valid URL (expected e.g. http://127.0.0.1:8081)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(`the setting apiUrl must be an http:// or https:// URL, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw fail('the setting apiUrl must not carry a user name or password; the API key goes in the apiKey credential');
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  // A name that does not resolve now is let through: requests to it fail with their own message.
  const addresses = isIP(host) ? [host] : await lookupHost(host).catch(() => [] as string[]);
  const bad = host === 'localhost' || host.endsWith('.localhost') ? host : addresses.find(isPrivateAddress);
  if (bad !== undefined) {
    throw fail(
      `the setting apiUrl points at ${bad}, a loopback or private address, which is refused by default; ` +
        'set CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1 to allow it (for a PowerDNS server on your own network)',
    );
  }
  return url;
}

/** Builds the provider for one zone (the manifest's factory). */
export async function createPowerDnsProvider(init: ProviderInit, tuning: PowerDnsTuning = {}): Promise<DnsProvider> {
  const apiUrl = await checkApiUrl(init.settings.apiUrl, init.allowPrivateAddresses, tuning.lookupHost ?? defaultLookup);
  const serverIdSetting = init.settings.serverId;
  const serverId = typeof serverIdSetting === 'string' && serverIdSetting.trim() !== '' ? serverIdSetting.trim() : 'localhost';
  const apiKey = init.credentials.apiKey;
  if (apiKey === undefined || apiKey === '') throw fail('the credential apiKey is required (the PowerDNS api-key, sent as X-API-Key)');
  const client = new PdnsClient({
    apiUrl,
    serverId,
    apiKey,
    fetch: init.fetch ?? guardedFetch({ allowPrivateAddresses: init.allowPrivateAddresses }),
    timeoutMs: tuning.requestTimeoutMs ?? 15_000,
  });
  return new PowerDnsProvider(client, serverId, apiKey, {
    maxAttempts: Math.max(1, tuning.maxAttempts ?? 5),
    retryDelayMs: tuning.retryDelayMs ?? 100,
    logger: init.logger,
  });
}

/** Canonical (lower case, no trailing dot) form of a DNS name. */
function canonical(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function holds(rrset: PdnsRrset | undefined, value: string, enabledOnly: boolean): boolean {
  return (rrset?.records ?? []).some((r) => (!enabledOnly || !r.disabled) && unquoteTxt(r.content) === value);
}

/** The TXT records of `rrset` other than `value`, unchanged (content as the server wrote it, disabled flags kept). */
function others(rrset: PdnsRrset | undefined, value: string): PdnsRecord[] {
  return (rrset?.records ?? []).filter((r) => unquoteTxt(r.content) !== value);
}

class PowerDnsProvider implements DnsProvider {
  constructor(
    private readonly client: PdnsClient,
    private readonly serverId: string,
    private readonly apiKey: string,
    private readonly opts: { maxAttempts: number; retryDelayMs: number; logger: Logger | undefined },
  ) {}

  async appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    await this.modify('append', record, signal);
  }

  async deleteTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    await this.modify('delete', record, signal);
  }

  async check(zone: string, signal?: AbortSignal): Promise<void> {
    const name = canonical(zone);
    let kind: string;
    try {
      kind = (await this.client.getZone(name, { rrsets: false }, signal)).kind;
    } catch (err) {
      throw this.describe(err, name, `reading zone ${name}`, signal);
    }
    // Records written to a secondary zone are overwritten by the next transfer from its primary.
    if (/^(slave|secondary|consumer)$/i.test(kind)) {
      throw fail(`zone ${name} is a ${kind} zone on the PowerDNS server '${this.serverId}' at ${this.client.displayUrl}: write the TXT records at its primary instead`);
    }
  }

  /** One read-modify-write of the TXT RRset at `record.fqdn`, serialised per RRset and verified. */
  private async modify(op: 'append' | 'delete', record: TxtRecord, signal: AbortSignal | undefined): Promise<void> {
    const zone = canonical(record.zone);
    const fqdn = canonical(record.fqdn);
    const action = `${op === 'append' ? 'adding a TXT value at' : 'removing a TXT value from'} ${fqdn}`;
    if (fqdn !== zone && !fqdn.endsWith(`.${zone}`)) throw fail(`${action}: the name is not inside zone ${zone}`);
    const name = `${fqdn}.`;
    const { value } = record;
    const ttl = Number.isInteger(record.ttl) && record.ttl >= 0 ? record.ttl : 60;
    const lockKey = `${this.client.displayUrl}\n${this.serverId}\n${zone}\n${name}`;
    try {
      await withRrsetLock(lockKey, signal, async () => {
        for (let attempt = 1; ; attempt++) {
          const before = await this.readTxt(zone, name, signal);
          let change: PdnsRrsetChange;
          if (op === 'append') {
            if (holds(before, value, true)) return; // idempotent: nothing to write
            // The union: every other value as it is, ours enabled (also when a disabled copy existed).
            change = { name, type: 'TXT', changetype: 'REPLACE', ttl, records: [...others(before, value), { content: quoteTxt(value), disabled: false }] };
          } else {
            if (!holds(before, value, false)) return; // absent: nothing to remove
            const rest = others(before, value);
            change = rest.length > 0
              ? { name, type: 'TXT', changetype: 'REPLACE', ttl: before?.ttl || ttl, records: rest }
              : { name, type: 'TXT', changetype: 'DELETE' };
          }
          await this.client.patchRrsets(zone, [change], signal);
          // Another writer's REPLACE, based on a read from before our PATCH, may have undone it.
          const after = await this.readTxt(zone, name, signal);
          if (op === 'append' ? holds(after, value, true) : !holds(after, value, false)) return;
          if (attempt >= this.opts.maxAttempts) {
            throw new DnsProviderError(
              PROVIDER,
              `${action} in zone ${zone}: another writer kept replacing the TXT RRset; the change did not stick after ${attempt} attempts`,
              { retryable: true },
            );
          }
          const delay = this.opts.retryDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random());
          this.opts.logger?.warn({ zone, fqdn, attempt }, `powerdns: ${action}: a concurrent write undid the change; trying again`);
          await sleep(delay, undefined, signal ? { signal } : {});
        }
      });
    } catch (err) {
      throw this.describe(err, zone, `${action} in zone ${zone}`, signal);
    }
  }

  /** The TXT RRset at `name` (with trailing dot), if there is one. */
  private async readTxt(zone: string, name: string, signal: AbortSignal | undefined): Promise<PdnsRrset | undefined> {
    const z = await this.client.getZone(zone, {}, signal);
    return z.rrsets.find((r) => r.type.toUpperCase() === 'TXT' && r.name.toLowerCase() === name);
  }

  /** Turns what a call threw into a {@link DnsProviderError} naming the zone, the status and the server's text; an abort stays an abort. */
  private describe(err: unknown, zone: string, action: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (err instanceof DnsProviderError) return err;
    const where = `the PowerDNS server '${this.serverId}' at ${this.client.displayUrl}`;
    let message: string;
    let retryable = false;
    let status: number | undefined;
    if (err instanceof PdnsHttpError) {
      status = err.status;
      const answer = `HTTP ${err.status}${err.serverError ? `: ${err.serverError}` : ''}`;
      if (err.status === 401 || err.status === 403) {
        message = `${action}: the API key was refused by ${where} (${answer}); check the zone's apiKey credential against the server's api-key`;
      } else if (err.status === 404) {
        message = `${action}: zone ${zone} does not exist on ${where} (${answer}); create it there, or check the zone name and the serverId setting`;
      } else {
        retryable = err.status >= 500 || err.status === 429;
        message = `${action}: ${where} answered ${answer}`;
      }
    } else if (err instanceof PdnsTransportError) {
      retryable = true;
      message = `${action}: ${err.message}`;
    } else {
      message = `${action}: ${err instanceof Error ? err.message : String(err)}`;
    }
    // Defence in depth: the key is never put into a message, but a server could echo it back.
    if (this.apiKey.length >= 8) message = message.split(this.apiKey).join('[redacted]');
    return new DnsProviderError(PROVIDER, message, { retryable, ...(status === undefined ? {} : { status }) });
  }
}
