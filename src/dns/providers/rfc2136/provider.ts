/**
 * The RFC 2136 provider: TXT records written with TSIG-signed dynamic updates to a primary server
 * (BIND, Knot, PowerDNS with dnsupdate, Windows DNS with TSIG, …).
 */
import type { Logger } from 'pino';
import { DnsProviderError, type DnsProvider, type TxtRecord } from '../../dns-provider.js';
import type { ProviderInit } from '../../provider-manifest.js';
import { isInZone, normalizeName } from '../../wire/dns-name.js';
import { DnsUpdateError, sendUpdate, type RrsetExists, type TxtChange } from '../../wire/dns-update.js';
import { formatServerAddress, parseServerAddress, type DnsServerAddress } from '../../wire/server-address.js';
import { decodeTsigSecret, TSIG_ALGORITHMS, type TsigAlgorithm, type TsigKey } from '../../wire/tsig.js';

const CODE = 'rfc2136';

/** The validated configuration of one zone's provider. */
export interface Rfc2136Config {
  server: DnsServerAddress;
  key: TsigKey;
  /** How long to wait for each answer (UDP is sent twice within it); default 10 000. */
  timeoutMs?: number;
  logger?: Logger;
  /** The TSIG clock; tests inject one. */
  now?: () => number;
}

/** Builds the configuration from a zone's settings and credentials; throws {@link DnsProviderError}. */
export function rfc2136Config(init: Pick<ProviderInit, 'settings' | 'credentials' | 'logger'>): Rfc2136Config {
  const bad = (message: string): DnsProviderError => new DnsProviderError(CODE, message);
  const { settings, credentials } = init;
  const nameserver = settings.nameserver;
  if (typeof nameserver !== 'string' || nameserver.trim() === '') throw bad('setting nameserver (host:port) is required');
  let server: DnsServerAddress;
  try {
    server = parseServerAddress(nameserver);
  } catch (err) {
    throw bad(`setting nameserver: ${(err as Error).message}`);
  }
  const keyName = settings.tsigKeyName;
  if (typeof keyName !== 'string' || keyName.trim() === '') throw bad('setting tsigKeyName is required');
  let name: string;
  try {
    name = normalizeName(keyName.trim());
  } catch (err) {
    throw bad(`setting tsigKeyName: ${(err as Error).message}`);
  }
  const algorithm = settings.tsigAlgorithm ?? 'hmac-sha256';
  if (typeof algorithm !== 'string' || !(TSIG_ALGORITHMS as readonly string[]).includes(algorithm.toLowerCase())) {
    throw bad(`setting tsigAlgorithm must be one of ${TSIG_ALGORITHMS.join(', ')}`);
  }
  const rawSecret = credentials.tsigSecret;
  if (typeof rawSecret !== 'string' || rawSecret.trim() === '') throw bad('credential tsigSecret (base64) is required');
  let secret: Buffer;
  try {
    secret = decodeTsigSecret(rawSecret);
  } catch (err) {
    throw bad(`credential tsigSecret: ${(err as Error).message}`); // the message never repeats the secret
  }
  const timeoutSeconds = settings.timeoutSeconds ?? 10;
  if (typeof timeoutSeconds !== 'number' || !Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 300) {
    throw bad('setting timeoutSeconds must be an integer from 1 to 300');
  }
  return {
    server,
    key: { name, algorithm: algorithm.toLowerCase() as TsigAlgorithm, secret },
    timeoutMs: timeoutSeconds * 1000,
    ...(init.logger ? { logger: init.logger } : {}),
  };
}

/** A {@link DnsProvider} that sends RFC 2136 updates signed with one TSIG key. */
export class Rfc2136Provider implements DnsProvider {
  private readonly where: string;

  constructor(private readonly config: Rfc2136Config) {
    this.where = formatServerAddress(config.server);
  }

  /** RFC 2136 §2.5.1: a record with equal RDATA replaces the one present (§3.4.2.2), so this is idempotent. */
  async appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const zone = this.zoneOf(record);
    await this.update(zone, { updates: [{ action: 'add', name: record.fqdn, value: record.value, ttl: record.ttl }] }, signal);
  }

  /** RFC 2136 §2.5.4: deletes exactly this value (§3.4.2.4); other values on the name stay, an absent one is a no-op. */
  async deleteTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const zone = this.zoneOf(record);
    await this.update(zone, { updates: [{ action: 'delete', name: record.fqdn, value: record.value }] }, signal);
  }

  /**
   * An UPDATE whose only content is the prerequisite "the zone's SOA exists" (RFC 2136 §2.4.1) and
   * no update section: it changes nothing, yet the server checks the TSIG, that it is primary for
   * the zone, and (BIND: after the prerequisites, as §3.3 orders) that the key may update it.
   */
  async check(zone: string, signal?: AbortSignal): Promise<void> {
    const z = this.normalizeZone(zone);
    await this.update(z, { prerequisites: [{ name: z, type: 'SOA' }] }, signal);
  }

  private normalizeZone(zone: string): string {
    try {
      return normalizeName(zone);
    } catch (err) {
      throw new DnsProviderError(CODE, `zone: ${(err as Error).message}`);
    }
  }

  private zoneOf(record: TxtRecord): string {
    const zone = this.normalizeZone(record.zone);
    let fqdn: string;
    try {
      fqdn = normalizeName(record.fqdn);
    } catch (err) {
      throw new DnsProviderError(CODE, `record name: ${(err as Error).message}`);
    }
    if (!isInZone(fqdn, zone)) throw new DnsProviderError(CODE, `${fqdn} is not inside zone ${zone}`);
    return zone;
  }

  private async update(zone: string, parts: { updates?: TxtChange[]; prerequisites?: RrsetExists[] }, signal?: AbortSignal): Promise<void> {
    const timeoutMs = this.config.timeoutMs ?? 10_000;
    const started = Date.now();
    try {
      await sendUpdate({
        server: this.config.server,
        zone,
        key: this.config.key,
        ...parts,
        timeoutMs: Math.ceil(timeoutMs / 2),
        tries: 2,
        ...(signal ? { signal } : {}),
        ...(this.config.now ? { now: this.config.now } : {}),
      });
      this.config.logger?.debug({ provider: CODE, server: this.where, zone, ms: Date.now() - started, ...describe(parts) }, 'rfc2136 update done');
    } catch (err) {
      if (err instanceof DnsUpdateError) {
        this.config.logger?.warn({ provider: CODE, server: this.where, zone, code: err.code, rcode: err.details.rcode, tsigError: err.details.tsigError }, 'rfc2136 update failed');
        throw new DnsProviderError(CODE, err.message, { retryable: err.retryable, cause: err });
      }
      throw err;
    }
  }
}

function describe(parts: { updates?: TxtChange[]; prerequisites?: RrsetExists[] }): Record<string, unknown> {
  return {
    updates: parts.updates?.map((u) => `${u.action} ${u.name} TXT`),
    prerequisites: parts.prerequisites?.map((p) => `${p.name} ${p.type} exists`),
  };
}
