/**
 * Cloudflare API v4, the calls certkeeper needs (https://developers.cloudflare.com/api/resources/dns/subresources/records/).
 * Every answer is the envelope `{ success, errors: [{ code, message }], messages, result, result_info }`.
 */
import type { ProviderHttp, ProviderRequest, ProviderResponse } from '../provider-http.js';

/** Default API base URL. */
export const CLOUDFLARE_API_URL = 'https://api.cloudflare.com/client/v4';

/** A zone as Cloudflare lists it. */
export interface CloudflareZone {
  id: string;
  name: string;
}

/** A DNS record as Cloudflare lists it (the fields used here). */
export interface CloudflareRecord {
  id: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
}

/** Error code of "An identical record already exists." */
export const IDENTICAL_RECORD_EXISTS = 81058;

interface Envelope {
  success?: boolean;
  errors?: { code?: number; message?: string; error_chain?: { code?: number; message?: string }[] }[];
  result?: unknown;
  result_info?: { page?: number; total_pages?: number };
}

/** The raw Cloudflare API for one token. */
export class CloudflareClient {
  constructor(
    private readonly http: ProviderHttp,
    private readonly apiUrl: string,
    private readonly apiToken: string,
  ) {}

  /** GET /zones?name= (exact name). */
  async findZones(zone: string, signal?: AbortSignal): Promise<CloudflareZone[]> {
    const q = new URLSearchParams({ name: zone, per_page: '50' });
    const env = await this.call({ method: 'GET', url: this.url(`/zones?${q}`), zone, what: 'look up the zone by name', signal });
    return asArray(env.result).filter(isZone);
  }

  /** GET /zones/{id}. */
  async getZone(zoneId: string, zone: string, signal?: AbortSignal): Promise<CloudflareZone> {
    const req: ProviderRequest = { method: 'GET', url: this.url(`/zones/${encodeURIComponent(zoneId)}`), zone, what: `read zone ${zoneId}`, signal };
    const res = await this.http.send(this.withAuth(req));
    const env = this.envelope(req, res);
    if (res.status < 200 || res.status >= 300 || env.success === false) throw this.http.error(req, res, errorText(env, res));
    if (!isZone(env.result)) throw this.http.error(req, res, 'the answer has no zone object');
    return env.result;
  }

  /** GET /zones/{id}/dns_records?type=TXT&name.exact=… — every page. */
  async listTxt(zoneId: string, fqdn: string, zone: string, signal?: AbortSignal): Promise<CloudflareRecord[]> {
    const out: CloudflareRecord[] = [];
    for (let page = 1; page <= 100; page++) {
      const q = new URLSearchParams({ type: 'TXT', 'name.exact': fqdn, per_page: '100', page: String(page) });
      const env = await this.call({ method: 'GET', url: this.url(`/zones/${encodeURIComponent(zoneId)}/dns_records?${q}`), zone, what: `list TXT records at ${fqdn}`, signal });
      out.push(...asArray(env.result).filter(isRecord));
      if ((env.result_info?.total_pages ?? 1) <= page) break;
    }
    // The filter is the server's; the name check is ours too, so an ignored filter cannot widen a delete.
    return out.filter((r) => r.type === 'TXT' && r.name.toLowerCase() === fqdn.toLowerCase());
  }

  /** POST /zones/{id}/dns_records. Resolves false when Cloudflare says the identical record exists. */
  async createTxt(zoneId: string, body: { name: string; content: string; ttl: number }, zone: string, signal?: AbortSignal): Promise<boolean> {
    const req: ProviderRequest = {
      method: 'POST',
      url: this.url(`/zones/${encodeURIComponent(zoneId)}/dns_records`),
      body: JSON.stringify({ type: 'TXT', name: body.name, content: body.content, ttl: body.ttl }),
      zone,
      what: `create a TXT record at ${body.name}`,
      signal,
    };
    const res = await this.http.send(this.withAuth(req));
    const env = this.envelope(req, res);
    if (res.status >= 200 && res.status < 300 && env.success !== false) return true;
    if (env.errors?.some((e) => e.code === IDENTICAL_RECORD_EXISTS)) return false;
    throw this.http.error(req, res, errorText(env, res));
  }

  /** DELETE /zones/{id}/dns_records/{recordId}. A record already gone is success. */
  async deleteRecord(zoneId: string, recordId: string, zone: string, signal?: AbortSignal): Promise<void> {
    const req: ProviderRequest = { method: 'DELETE', url: this.url(`/zones/${encodeURIComponent(zoneId)}/dns_records/${encodeURIComponent(recordId)}`), zone, what: `delete TXT record ${recordId}`, signal };
    const res = await this.http.send(this.withAuth(req));
    if (res.status === 404) return;
    const env = this.envelope(req, res);
    if (res.status >= 200 && res.status < 300 && env.success !== false) return;
    throw this.http.error(req, res, errorText(env, res));
  }

  private async call(req: ProviderRequest): Promise<Envelope> {
    const res = await this.http.send(this.withAuth(req));
    const env = this.envelope(req, res);
    if (res.status >= 200 && res.status < 300 && env.success !== false) return env;
    throw this.http.error(req, res, errorText(env, res));
  }

  private envelope(req: ProviderRequest, res: ProviderResponse): Envelope {
    let json: unknown;
    try {
      json = this.http.json(req, res);
    } catch (err) {
      if (res.status >= 200 && res.status < 300) throw err;
      return {};
    }
    return typeof json === 'object' && json !== null ? (json as Envelope) : {};
  }

  private withAuth(req: ProviderRequest): ProviderRequest {
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiToken}`, accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    return { ...req, headers };
  }

  private url(path: string): URL {
    return new URL(`${this.apiUrl.replace(/\/+$/, '')}${path}`);
  }
}

/** Cloudflare's `errors[]` as one line: `Authentication error (code 10000)`. */
function errorText(env: Envelope, res: ProviderResponse): string {
  const parts = (env.errors ?? []).map((e) => {
    const chain = (e.error_chain ?? []).map((c) => `${c.message ?? ''} (code ${c.code ?? '?'})`).join('; ');
    return `${e.message ?? 'error'} (code ${e.code ?? '?'})${chain ? `: ${chain}` : ''}`;
  });
  return parts.length ? parts.join('; ') : res.text.slice(0, 200);
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function isZone(v: unknown): v is CloudflareZone {
  return typeof v === 'object' && v !== null && typeof (v as CloudflareZone).id === 'string' && typeof (v as CloudflareZone).name === 'string';
}

function isRecord(v: unknown): v is CloudflareRecord {
  const r = v as CloudflareRecord;
  return typeof v === 'object' && v !== null && typeof r.id === 'string' && typeof r.name === 'string' && typeof r.content === 'string' && typeof r.type === 'string';
}
