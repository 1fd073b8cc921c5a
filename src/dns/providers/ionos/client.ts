/**
 * IONOS Cloud DNS API v1, the calls certkeeper needs (https://api.ionos.com/docs/dns/v1/).
 * Resources read as `{ id, type, href, metadata, properties }`; lists as `{ items, offset, limit }`;
 * errors as `{ httpStatus, messages: [{ errorCode, message }] }`.
 */
import type { ProviderHttp, ProviderRequest, ProviderResponse } from '../provider-http.js';

/** Default API base URL (the only location of the service). */
export const IONOS_API_URL = 'https://dns.de-fra.ionos.com';

/** A zone as IONOS lists it. */
export interface IonosZone {
  id: string;
  zoneName: string;
}

/** A record as IONOS lists it (the fields used here). */
export interface IonosRecord {
  id: string;
  /** Name relative to the zone. */
  name: string;
  type: string;
  content: string;
  /** Fully qualified name, from `metadata.fqdn`, when IONOS gives it. */
  fqdn?: string;
  zoneId?: string;
}

/** The body of a record to create. */
export interface IonosRecordProperties {
  name: string;
  type: 'TXT';
  content: string;
  ttl: number;
  enabled: boolean;
}

const PAGE = 1000;

/** The raw IONOS Cloud DNS API for one token. */
export class IonosClient {
  constructor(
    private readonly http: ProviderHttp,
    private readonly apiUrl: string,
    private readonly token: string,
  ) {}

  /** GET /zones?filter.zoneName= — a "contains" filter: the caller picks the exact name. */
  async findZones(zone: string, signal?: AbortSignal): Promise<IonosZone[]> {
    const q = new URLSearchParams({ 'filter.zoneName': zone, limit: '100' });
    const json = await this.call({ method: 'GET', url: this.url(`/zones?${q}`), zone, what: 'look up the zone by name', signal });
    return items(json).flatMap((it) => {
      const props = obj(it.properties);
      return typeof it.id === 'string' && typeof props.zoneName === 'string' ? [{ id: it.id, zoneName: props.zoneName }] : [];
    });
  }

  /**
   * GET /records?filter.zoneId=&filter.name= — every page. `filter.name` is a "contains" filter, so
   * the caller keeps the exact name. `name` undefined lists the whole zone.
   */
  async listRecords(zoneId: string, name: string | undefined, zone: string, signal?: AbortSignal, limit = PAGE): Promise<IonosRecord[]> {
    const out: IonosRecord[] = [];
    for (let offset = 0; offset < 100 * PAGE; offset += limit) {
      const q = new URLSearchParams({ 'filter.zoneId': zoneId, ...(name !== undefined ? { 'filter.name': name } : {}), offset: String(offset), limit: String(limit) });
      const json = await this.call({ method: 'GET', url: this.url(`/records?${q}`), zone, what: `list records${name !== undefined ? ` named ${name}` : ''}`, signal });
      const page = items(json);
      for (const it of page) {
        const props = obj(it.properties);
        const meta = obj(it.metadata);
        if (typeof it.id !== 'string' || typeof props.name !== 'string' || typeof props.type !== 'string' || typeof props.content !== 'string') continue;
        out.push({
          id: it.id,
          name: props.name,
          type: props.type,
          content: props.content,
          ...(typeof meta.fqdn === 'string' ? { fqdn: meta.fqdn } : {}),
          ...(typeof meta.zoneId === 'string' ? { zoneId: meta.zoneId } : {}),
        });
      }
      if (page.length < limit) break;
    }
    return out;
  }

  /** POST /zones/{zoneId}/records. */
  async createRecord(zoneId: string, properties: IonosRecordProperties, zone: string, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'POST', url: this.url(`/zones/${encodeURIComponent(zoneId)}/records`), body: JSON.stringify({ properties }), zone, what: `create a TXT record named ${properties.name}`, signal });
  }

  /** DELETE /zones/{zoneId}/records/{recordId}. A record already gone is success. */
  async deleteRecord(zoneId: string, recordId: string, zone: string, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'DELETE', url: this.url(`/zones/${encodeURIComponent(zoneId)}/records/${encodeURIComponent(recordId)}`), zone, what: `delete record ${recordId}`, signal }, [404]);
  }

  private async call(req: ProviderRequest, alsoFine: number[] = []): Promise<unknown> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const full = { ...req, headers };
    const res = await this.http.send(full);
    if (alsoFine.includes(res.status)) return undefined;
    if (res.status < 200 || res.status >= 300) throw this.http.error(full, res, errorText(res));
    return this.http.json(full, res);
  }

  private url(path: string): URL {
    return new URL(`${this.apiUrl}${path}`);
  }
}

/** IONOS's `messages[]` as one line: `Unauthorized, … (paas-auth-1)`. */
function errorText(res: ProviderResponse): string {
  try {
    const body = obj(JSON.parse(res.text));
    const messages = Array.isArray(body.messages) ? body.messages.map(obj) : [];
    const parts = messages.map((m) => `${typeof m.message === 'string' ? m.message : 'error'}${typeof m.errorCode === 'string' ? ` (${m.errorCode})` : ''}`);
    if (parts.length) return parts.join('; ');
  } catch {
    // not JSON: the raw text below
  }
  return res.text.slice(0, 200);
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function items(json: unknown): Record<string, unknown>[] {
  const list = obj(json).items;
  return Array.isArray(list) ? list.map(obj) : [];
}
