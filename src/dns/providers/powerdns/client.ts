/**
 * The raw PowerDNS Authoritative HTTP API (https://doc.powerdns.com/authoritative/http-api/), only
 * the calls the provider needs: read a zone (optionally one RRset of it) and PATCH RRsets. Private
 * to this folder; the provider in `provider.ts` gives it meaning.
 */
/** One record of an RRset as the API represents it. */
export interface PdnsRecord {
  /** Presentation format; for TXT one or more quoted strings, e.g. `"abc"`. */
  content: string;
  disabled: boolean;
}

/** One RRset of a zone as the API returns it. */
export interface PdnsRrset {
  /** Fully qualified, with a trailing dot. */
  name: string;
  type: string;
  ttl: number;
  records: PdnsRecord[];
}

/** The part of a zone object the provider reads. */
export interface PdnsZone {
  id: string;
  name: string;
  /** `Native`, `Master`/`Primary`, `Slave`/`Secondary`, `Producer`, `Consumer`. */
  kind: string;
  rrsets: PdnsRrset[];
}

/** One entry of a PATCH's `rrsets`. */
export type PdnsRrsetChange =
  | { name: string; type: string; changetype: 'REPLACE'; ttl: number; records: PdnsRecord[] }
  | { name: string; type: string; changetype: 'DELETE' };

/** A non-2xx answer of the API: the status and the server's `error` text (or its plain-text body). */
export class PdnsHttpError extends Error {
  override name = 'PdnsHttpError';
  constructor(
    readonly method: string,
    readonly status: number,
    readonly serverError: string,
  ) {
    super(`HTTP ${status}${serverError ? `: ${serverError}` : ''}`);
  }
}

/** No usable answer: the server could not be reached, did not answer in time, or sent no JSON. Worth retrying. */
export class PdnsTransportError extends Error {
  override name = 'PdnsTransportError';
}

/** How the client reaches one PowerDNS server. */
export interface PdnsClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8081` (a trailing `/api/v1` is tolerated). */
  apiUrl: URL;
  serverId: string;
  apiKey: string;
  fetch: typeof fetch;
  /** Per-request timeout, combined with the caller's signal. */
  timeoutMs: number;
}

const MAX_ERROR_TEXT = 300;

/**
 * The API's zone id of `zone`: the canonical name with a trailing dot, every byte other than
 * `A-Z a-z 0-9 . -` written as `=XX` (upper-case hex), the root zone as `=2E` (pdns `apiZoneNameToId`).
 */
export function zoneId(zone: string): string {
  const name = zone.endsWith('.') ? zone : `${zone}.`;
  if (name === '.') return '=2E';
  let id = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    id += /[A-Za-z0-9.-]/.test(c) ? c : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return id;
}

/** `value` as TXT presentation content: quoted, `"` and `\` escaped, other bytes outside printable ASCII as `\DDD`, split at 255 bytes (RFC 1035 §3.3.14). */
export function quoteTxt(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  const parts: string[] = [];
  for (let i = 0; i === 0 || i < bytes.length; i += 255) {
    let s = '';
    for (const b of bytes.subarray(i, i + 255)) {
      if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
      else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
      else s += `\\${b.toString().padStart(3, '0')}`;
    }
    parts.push(`"${s}"`);
  }
  return parts.join(' ');
}

/** The value of TXT presentation content: its character-strings (quoted or bare) decoded and joined. */
export function unquoteTxt(content: string): string {
  const out: number[] = [];
  let i = 0;
  const n = content.length;
  while (i < n) {
    while (i < n && /\s/.test(content.charAt(i))) i++;
    if (i >= n) break;
    const quoted = content.charAt(i) === '"';
    if (quoted) i++;
    while (i < n) {
      const c = content.charAt(i);
      if (quoted ? c === '"' : /\s/.test(c)) break;
      if (c === '\\' && i + 1 < n) {
        const digits = content.slice(i + 1, i + 4);
        if (/^\d{3}$/.test(digits)) {
          out.push(Number(digits) & 0xff);
          i += 4;
        } else {
          out.push(...Buffer.from(content.charAt(i + 1), 'utf8'));
          i += 2;
        }
        continue;
      }
      out.push(...Buffer.from(c, 'utf8'));
      i++;
    }
    if (quoted) i++; // the closing quote
  }
  return Buffer.from(out).toString('utf8');
}

function parseZone(json: unknown): PdnsZone {
  const z = (json ?? {}) as Record<string, unknown>;
  const rrsets = Array.isArray(z.rrsets) ? z.rrsets : [];
  return {
    id: typeof z.id === 'string' ? z.id : '',
    name: typeof z.name === 'string' ? z.name : '',
    kind: typeof z.kind === 'string' ? z.kind : '',
    rrsets: rrsets.map((r: Record<string, unknown>) => ({
      name: typeof r.name === 'string' ? r.name : '',
      type: typeof r.type === 'string' ? r.type : '',
      ttl: typeof r.ttl === 'number' ? r.ttl : 0,
      records: (Array.isArray(r.records) ? r.records : []).map((rec: Record<string, unknown>) => ({
        content: typeof rec.content === 'string' ? rec.content : '',
        disabled: rec.disabled === true,
      })),
    })),
  };
}

/** A client of one PowerDNS server's API. */
export class PdnsClient {
  /** The API base without credentials or query, for messages. */
  readonly displayUrl: string;
  private readonly base: string;

  constructor(private readonly opts: PdnsClientOptions) {
    const path = opts.apiUrl.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
    this.base = `${opts.apiUrl.origin}${path}/api/v1/servers/${encodeURIComponent(opts.serverId)}`;
    this.displayUrl = `${opts.apiUrl.origin}${path}`;
  }

  /**
   * GET a zone, with all its RRsets unless `rrsets: false`. The `rrset_name`/`rrset_type` filter
   * is deliberately not used: pdns 4.7 answers it without the disabled records, and a
   * read-modify-write based on that answer would delete them.
   */
  async getZone(zone: string, opts: { rrsets?: boolean } = {}, signal?: AbortSignal): Promise<PdnsZone> {
    const qs = opts.rrsets === false ? '?rrsets=false' : '';
    return parseZone(await this.request('GET', `/zones/${zoneId(zone)}${qs}`, undefined, signal));
  }

  /** PATCH the zone's RRsets (204 on success; pdns applies the whole list or nothing). */
  async patchRrsets(zone: string, rrsets: PdnsRrsetChange[], signal?: AbortSignal): Promise<void> {
    await this.request('PATCH', `/zones/${zoneId(zone)}`, { rrsets }, signal);
  }

  /**
   * One request. Resolves with the parsed JSON body (undefined when empty); rejects with
   * {@link PdnsHttpError} for a non-2xx status, with {@link PdnsTransportError} when the server
   * cannot be reached, does not answer in time or sends no JSON, and with the caller's abort reason.
   */
  private async request(method: 'GET' | 'PATCH', path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await this.opts.fetch(`${this.base}${path}`, {
        method,
        headers: {
          'X-API-Key': this.opts.apiKey,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        redirect: 'error',
      });
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        throw new PdnsTransportError(`no answer from the PowerDNS API at ${this.displayUrl} within ${this.opts.timeoutMs / 1000} s`);
      }
      // The cause's message only: the error object itself may reference the request (and its headers).
      const reason = err instanceof Error ? ((err.cause instanceof Error ? err.cause.message : '') || err.message) : String(err);
      throw new PdnsTransportError(`cannot reach the PowerDNS API at ${this.displayUrl}: ${reason}`);
    }
    if (res.status < 200 || res.status > 299) throw new PdnsHttpError(method, res.status, serverErrorText(text));
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new PdnsTransportError(`the PowerDNS API at ${this.displayUrl} answered with something other than JSON (HTTP ${res.status})`);
    }
  }
}

/** The API's `{"error": "..."}` text, or the plain-text body pdns sends for 401/404, shortened. */
function serverErrorText(text: string): string {
  let msg = text.trim();
  try {
    const json = JSON.parse(text) as { error?: unknown; errors?: unknown };
    if (typeof json.error === 'string') msg = json.error;
    if (Array.isArray(json.errors) && json.errors.length > 0) msg += ` (${json.errors.filter((e) => typeof e === 'string').join('; ')})`;
  } catch {
    // not JSON: keep the text (pdns answers 401 "Unauthorized" and 404 "Not Found" as text/plain)
  }
  msg = msg.replace(/\s+/g, ' ');
  return msg.length > MAX_ERROR_TEXT ? `${msg.slice(0, MAX_ERROR_TEXT)}…` : msg;
}
