/**
 * The contract of a DNS provider plug-in (STYLE.md habit 3): record CRUD only. Zone lookup, CNAME
 * following, propagation checks and cleanup live once, in the dns-01 solver.
 */

/** One TXT value at one name in one zone. */
export interface TxtRecord {
  /** The zone as registered (lower case, no trailing dot), e.g. `example.com`. */
  zone: string;
  /** Fully qualified owner name (lower case, no trailing dot), e.g. `_acme-challenge.www.example.com`. */
  fqdn: string;
  /** The TXT value, unquoted (a dns-01 value is 43 base64url characters). */
  value: string;
  /** TTL in seconds for a record the provider creates. */
  ttl: number;
}

/** A DNS provider bound to one zone's settings and credentials. */
export interface DnsProvider {
  /**
   * Adds `record.value` to the TXT RRset at `record.fqdn`. It MUST keep every other value on that
   * name (a wildcard and its apex put two values on one name; other tools may have their own
   * values there). It MUST be idempotent: adding a value that is present is success.
   */
  appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void>;
  /**
   * Removes exactly `record.value` from the TXT RRset at `record.fqdn`, leaving every other value.
   * Removing a value that is absent is success.
   */
  deleteTxt(record: TxtRecord, signal?: AbortSignal): Promise<void>;
  /**
   * Checks that the settings and credentials work for `zone` with a harmless call (a read where the
   * API has one). It MUST NOT leave anything behind. It throws {@link DnsProviderError} on failure.
   */
  check(zone: string, signal?: AbortSignal): Promise<void>;
  /** Releases sockets or clients the provider holds, if any. */
  close?(): Promise<void>;
}

/** An error of a DNS provider. The message starts with the provider code and never contains a secret. */
export class DnsProviderError extends Error {
  override name = 'DnsProviderError';
  constructor(
    /** Provider code, e.g. `rfc2136`. */
    readonly provider: string,
    message: string,
    readonly opts: { retryable?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(`${provider}: ${message}`);
  }
  /** True when trying again later may succeed (network trouble, 5xx, rate limit). */
  get retryable(): boolean {
    return this.opts.retryable ?? false;
  }
}
