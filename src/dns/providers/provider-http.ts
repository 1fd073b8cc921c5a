/**
 * The HTTP transport the vendor API clients of the DNS providers share: the private-address rule
 * for API URLs, a per-attempt timeout combined with the caller's AbortSignal, bounded retries of
 * 429 and 5xx honouring Retry-After, and errors that name the provider, the zone, the HTTP status
 * and the vendor's text, with every credential scrubbed out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { parseRetryAfter } from '../../acme/retry-after.js';
import { DomainError } from '../../domain-error.js';
import { checkOutboundUrl } from '../../lifecycle/address-policy.js';
import { guardedFetch } from '../../lifecycle/guarded-fetch.js';
import { DnsProviderError } from '../dns-provider.js';
import type { ProviderInit } from '../provider-manifest.js';

/** How a provider's transport behaves. */
export interface ProviderHttpOptions {
  /** Provider code; every error message starts with it. */
  provider: string;
  /** Default: {@link guardedFetch}, which applies the private-address rule at every connection. */
  fetch?: typeof fetch;
  /** CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: when false, API URLs that resolve to loopback/private addresses are refused. */
  allowPrivateAddresses: boolean;
  /** Credentials: never sent into a message, even when a vendor echoes one back. */
  secrets?: readonly string[];
  logger?: Logger;
  /** Timeout of one attempt (default 30 s). */
  timeoutMs?: number;
  /** Attempts in all for 429, 5xx and network errors (default 4). */
  maxAttempts?: number;
  /** A Retry-After longer than this ends the retries instead of waiting (default 30 s). */
  maxRetryDelayMs?: number;
  /** Origins exempt from the private-address rule: fixed, well-known endpoints (e.g. Azure IMDS), never user input. */
  trustedOrigins?: readonly string[];
}

/** One request. */
export interface ProviderRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL | string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal | undefined;
  /** The zone the request is for, named in every message. */
  zone: string;
  /** What the request does, for messages (e.g. `list TXT records`). */
  what: string;
}

/** A response, body read. */
export interface ProviderResponse {
  status: number;
  headers: Headers;
  text: string;
}

const RETRYABLE = (status: number) => status === 429 || status >= 500;

/** The transport of one provider instance. */
export class ProviderHttp {
  private readonly fetch: typeof fetch;
  private readonly checked = new Map<string, Promise<void>>();

  /** The transport of a provider built from `init`: its fetch, logger and address rule. */
  static forProvider(provider: string, init: ProviderInit, secrets: readonly string[], extra: Partial<ProviderHttpOptions> = {}): ProviderHttp {
    return new ProviderHttp({
      provider,
      allowPrivateAddresses: init.allowPrivateAddresses,
      secrets: secrets.filter((x) => x !== ''),
      ...(init.fetch ? { fetch: init.fetch } : {}),
      ...(init.logger ? { logger: init.logger } : {}),
      ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
    });
  }

  constructor(readonly opts: ProviderHttpOptions) {
    // The default client re-checks the address at every connection (DNS rebinding); `guard`
    // below gives the clear, early error.
    this.fetch = opts.fetch ?? guardedFetch({ allowPrivateAddresses: opts.allowPrivateAddresses, ...(opts.trustedOrigins ? { trustedOrigins: opts.trustedOrigins } : {}) });
  }

  /** Refuses `url` when it resolves to a loopback or private address and that is not allowed. */
  async guard(url: URL, zone: string): Promise<void> {
    if (this.opts.allowPrivateAddresses || this.opts.trustedOrigins?.includes(url.origin)) return;
    let p = this.checked.get(url.origin);
    if (!p) {
      p = checkOutboundUrl(url.href, 'API URL', false).then(() => undefined);
      this.checked.set(url.origin, p);
      // A failed check is not cached: the next call looks again.
      p.catch(() => this.checked.delete(url.origin));
    }
    try {
      await p;
    } catch (err) {
      if (err instanceof DomainError) throw new DnsProviderError(this.opts.provider, `zone ${zone}: ${url.origin}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /**
   * Sends `req`, retrying 429, 5xx and network errors a bounded number of times (honouring
   * Retry-After). Returns the final response whatever its status; throws {@link DnsProviderError}
   * when no response came, and the caller's abort reason when the caller aborted.
   */
  async send(req: ProviderRequest): Promise<ProviderResponse> {
    const url = typeof req.url === 'string' ? new URL(req.url) : req.url;
    await this.guard(url, req.zone);
    const maxAttempts = this.opts.maxAttempts ?? 4;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      req.signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      let res: ProviderResponse | undefined;
      let failure: DnsProviderError | undefined;
      try {
        const r = await this.fetch(url, { method: req.method, headers: req.headers ?? {}, body: req.body ?? null, signal, redirect: 'manual' });
        res = { status: r.status, headers: r.headers, text: await r.text() };
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason;
        const why = timeout.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : `cannot reach ${url.origin}: ${describe(err)}`;
        failure = new DnsProviderError(this.opts.provider, this.scrub(`zone ${req.zone}: ${req.what}: ${why}`), { retryable: true, cause: err });
      }
      this.opts.logger?.debug({ provider: this.opts.provider, method: req.method, path: url.pathname, status: res?.status, attempt }, 'dns provider API call');
      if (res && !RETRYABLE(res.status)) return res;
      if (attempt >= maxAttempts) {
        if (res) return res;
        throw failure;
      }
      const retryAfter = res ? parseRetryAfter(res.headers.get('retry-after') ?? undefined) : undefined;
      const delay = retryAfter ? Math.max(0, retryAfter.getTime() - Date.now()) : backoff(attempt);
      if (res && delay > (this.opts.maxRetryDelayMs ?? 30_000)) return res;
      await sleep(delay, undefined, req.signal ? { signal: req.signal } : undefined).catch(() => {
        throw req.signal?.reason;
      });
    }
  }

  /** The error for a response that is not what `req` expected; `vendorText` is the vendor's own message. */
  error(req: ProviderRequest, res: ProviderResponse, vendorText: string): DnsProviderError {
    const url = typeof req.url === 'string' ? new URL(req.url) : req.url;
    const text = vendorText.trim() === '' ? '(no error text)' : vendorText.trim().slice(0, 400);
    const retryAfter = RETRYABLE(res.status) ? res.headers.get('retry-after') : null;
    const message = `zone ${req.zone}: ${req.what} (${req.method} ${url.pathname}) failed with HTTP ${res.status}: ${text}${retryAfter ? ` (retry after ${retryAfter})` : ''}`;
    return new DnsProviderError(this.opts.provider, this.scrub(message), { status: res.status, retryable: RETRYABLE(res.status) });
  }

  /** Parses a JSON body; an unparsable one is an error naming the request. */
  json(req: ProviderRequest, res: ProviderResponse): unknown {
    if (res.text === '') return undefined;
    try {
      return JSON.parse(res.text) as unknown;
    } catch {
      throw this.error(req, res, `the answer is not JSON: ${res.text.slice(0, 120)}`);
    }
  }

  /** Replaces every credential in `text`. */
  scrub(text: string): string {
    let out = text;
    for (const s of this.opts.secrets ?? []) if (s.length >= 4) out = out.split(s).join('***');
    return out;
  }
}

function backoff(attempt: number): number {
  const base = 500 * 2 ** (attempt - 1);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: unknown; message?: unknown } }).cause;
    const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
    return why ? `${err.message} (${why})` : err.message;
  }
  return String(err);
}

/** The part of `fqdn` relative to `zone`: `@` at the apex. Throws when `fqdn` is outside `zone`. */
export function relativeName(provider: string, fqdn: string, zone: string): string {
  const f = fqdn.toLowerCase().replace(/\.$/, '');
  const z = zone.toLowerCase().replace(/\.$/, '');
  if (f === z) return '@';
  if (!f.endsWith(`.${z}`)) throw new DnsProviderError(provider, `zone ${zone}: ${fqdn} is not inside the zone`);
  return f.slice(0, -(z.length + 1));
}

/** Reads an optional string setting. */
export function stringSetting(settings: Record<string, unknown>, name: string): string | undefined {
  const v = settings[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** Reads an optional http(s) URL setting, `fallback` when absent; a malformed one is an error naming the field. */
export function urlSetting(provider: string, zone: string, settings: Record<string, unknown>, name: string, fallback: string): string {
  const v = stringSetting(settings, name) ?? fallback;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new DnsProviderError(provider, `zone ${zone}: settings.${name} is not a URL: ${v}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new DnsProviderError(provider, `zone ${zone}: settings.${name} must be an https:// URL: ${v}`);
  return v.replace(/\/+$/, '');
}

/**
 * Decodes a TXT value as a vendor shows it: one or more RFC 1035 §5.1 <character-string>s, quoted
 * (`"a" "b"`, with `\"` and `\\` escapes) or bare. Quoted strings are concatenated (RFC 7208 §3.3
 * style), which is how a split long value reads back.
 */
export function unquoteTxt(content: string): string {
  const s = content.trim();
  if (!s.startsWith('"')) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '"') {
      i++;
      continue;
    }
    i++;
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) {
        const digits = /^\d{3}/.exec(s.slice(i + 1, i + 4));
        if (digits) {
          out += String.fromCharCode(Number(digits[0]));
          i += 4;
          continue;
        }
        i++;
      }
      out += s[i];
      i++;
    }
    i++;
  }
  return out;
}

/** Quotes a TXT value as one RFC 1035 <character-string> (a dns-01 value needs no escapes; others get them). */
export function quoteTxt(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
