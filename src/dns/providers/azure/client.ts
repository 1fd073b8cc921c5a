/**
 * Azure DNS through Azure Resource Manager (REST API 2018-05-01,
 * https://learn.microsoft.com/rest/api/dns/record-sets), with tokens from Microsoft Entra ID
 * (OAuth 2.0 client credentials, https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow)
 * or from the Instance Metadata Service for a managed identity
 * (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token).
 */
import { DnsProviderError } from '../../dns-provider.js';
import type { ProviderHttp, ProviderRequest, ProviderResponse } from '../provider-http.js';

/** The ARM API version of the DNS record-set calls. */
export const AZURE_DNS_API_VERSION = '2018-05-01';
/** The IMDS API version of the token call. */
export const IMDS_API_VERSION = '2018-02-01';
/** The well-known IMDS token endpoint (link-local: exempt from the private-address rule, being no user input). */
export const IMDS_TOKEN_URL = 'http://169.254.169.254/metadata/identity/oauth2/token';

/** Endpoints of the Azure clouds. */
export const AZURE_CLOUDS = {
  AzurePublicCloud: { authorityHost: 'https://login.microsoftonline.com', resourceManagerUrl: 'https://management.azure.com' },
  AzureChinaCloud: { authorityHost: 'https://login.chinacloudapi.cn', resourceManagerUrl: 'https://management.chinacloudapi.cn' },
  AzureUSGovernment: { authorityHost: 'https://login.microsoftonline.us', resourceManagerUrl: 'https://management.usgovcloudapi.net' },
} as const;

/** Where tokens come from. */
export type AzureCredential =
  | { kind: 'clientSecret'; authorityHost: string; tenantId: string; clientId: string; clientSecret: string }
  | { kind: 'managedIdentity'; imdsUrl: string; clientId?: string };

/** Renew a cached token this long before it expires. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

/** Gets and caches ARM access tokens until shortly before they expire. */
export class AzureTokenSource {
  private cached: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly http: ProviderHttp,
    private readonly credential: AzureCredential,
    /** ARM base URL without trailing slash: the token's audience. */
    private readonly resourceManagerUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid token, from the cache when it has one. */
  async token(zone: string, signal?: AbortSignal): Promise<string> {
    if (this.cached && this.cached.expiresAt - EXPIRY_MARGIN_MS > this.now()) return this.cached.token;
    // One request for every concurrent caller; the caller's signal does not cancel the shared one.
    this.pending ??= this.fetchToken(zone).finally(() => {
      this.pending = undefined;
    });
    if (!signal) return this.pending;
    signal.throwIfAborted();
    return await new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending!.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Drops the cached token (after ARM refused it). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async fetchToken(zone: string): Promise<string> {
    const c = this.credential;
    let req: ProviderRequest;
    if (c.kind === 'clientSecret') {
      req = {
        method: 'POST',
        url: new URL(`${c.authorityHost}/${encodeURIComponent(c.tenantId)}/oauth2/v2.0/token`),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret, scope: `${this.resourceManagerUrl}/.default` }).toString(),
        zone,
        what: `get a token for client ${c.clientId} in tenant ${c.tenantId}`,
      };
    } else {
      const q = new URLSearchParams({ 'api-version': IMDS_API_VERSION, resource: `${this.resourceManagerUrl}/` });
      if (c.clientId) q.set('client_id', c.clientId);
      req = { method: 'GET', url: new URL(`${c.imdsUrl}?${q}`), headers: { metadata: 'true', accept: 'application/json' }, zone, what: `get a managed identity token${c.clientId ? ` for client ${c.clientId}` : ''}` };
    }
    const res = await this.http.send(req);
    if (res.status !== 200) throw this.http.error(req, res, tokenErrorText(res));
    const body = obj(this.http.json(req, res));
    const expiresIn = Number(body.expires_in);
    if (typeof body.access_token !== 'string' || body.access_token === '' || !Number.isFinite(expiresIn)) {
      throw this.http.error(req, res, 'the token answer lacks access_token or expires_in');
    }
    this.cached = { token: body.access_token, expiresAt: this.now() + expiresIn * 1000 };
    return body.access_token;
  }
}

/** One TXT record set as read. */
export interface AzureTxtRecordSet {
  etag: string;
  ttl: number;
  /** `TXTRecords[].value`: each record is a list of strings of up to 255 characters. */
  records: string[][];
  /** User metadata of the record set, carried over on write. */
  metadata?: Record<string, string>;
}

/** The outcome of a conditional write. */
export type WriteOutcome = 'done' | 'conflict';

/** The raw ARM DNS API for one resource group. */
export class AzureDnsClient {
  constructor(
    private readonly http: ProviderHttp,
    private readonly tokens: AzureTokenSource,
    private readonly resourceManagerUrl: string,
    private readonly subscriptionId: string,
    private readonly resourceGroup: string,
  ) {}

  /** GET the DNS zone resource. */
  async getZone(zone: string, signal?: AbortSignal): Promise<void> {
    const { req, res } = await this.call('GET', this.zoneUrl(zone), zone, 'read the DNS zone', signal);
    if (res.status !== 200) throw this.http.error(req, res, armErrorText(res));
  }

  /** GET a TXT record set; undefined when it does not exist. */
  async getTxt(zone: string, relativeName: string, signal?: AbortSignal): Promise<AzureTxtRecordSet | undefined> {
    const { req, res } = await this.call('GET', this.recordSetUrl(zone, relativeName), zone, `read the TXT record set ${relativeName}`, signal);
    if (res.status === 404 && !PARENT_MISSING.has(armErrorCode(res) ?? '')) return undefined;
    if (res.status !== 200) throw this.http.error(req, res, armErrorText(res));
    const body = obj(this.http.json(req, res));
    const props = obj(body.properties);
    const etag = typeof body.etag === 'string' ? body.etag : res.headers.get('etag');
    if (!etag) throw this.http.error(req, res, 'the record set has no etag');
    const records = (Array.isArray(props.TXTRecords) ? props.TXTRecords : []).map((r) => {
      const v = obj(r).value;
      return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
    });
    const metadata = obj(props.metadata);
    return {
      etag,
      ttl: typeof props.TTL === 'number' ? props.TTL : 3600,
      records,
      ...(Object.keys(metadata).length ? { metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)])) } : {}),
    };
  }

  /** PUT a TXT record set: over `etag` (If-Match), or only if none exists (If-None-Match: *) when `etag` is null. */
  async putTxt(zone: string, relativeName: string, set: Omit<AzureTxtRecordSet, 'etag'>, etag: string | null, signal?: AbortSignal): Promise<WriteOutcome> {
    const body = JSON.stringify({ properties: { TTL: set.ttl, TXTRecords: set.records.map((value) => ({ value })), ...(set.metadata ? { metadata: set.metadata } : {}) } });
    const condition: Record<string, string> = etag === null ? { 'if-none-match': '*' } : { 'if-match': etag };
    const { req, res } = await this.call('PUT', this.recordSetUrl(zone, relativeName), zone, `write the TXT record set ${relativeName}`, signal, body, condition);
    if (res.status === 412) return 'conflict';
    if (res.status !== 200 && res.status !== 201) throw this.http.error(req, res, armErrorText(res));
    return 'done';
  }

  /** DELETE a TXT record set if it is still at `etag`. */
  async deleteTxt(zone: string, relativeName: string, etag: string, signal?: AbortSignal): Promise<WriteOutcome> {
    const { req, res } = await this.call('DELETE', this.recordSetUrl(zone, relativeName), zone, `delete the TXT record set ${relativeName}`, signal, undefined, { 'if-match': etag });
    if (res.status === 412) return 'conflict';
    if (res.status !== 200 && res.status !== 204) throw this.http.error(req, res, armErrorText(res));
    return 'done';
  }

  /** One ARM call with a bearer token; a 401 drops the cached token and tries once more with a new one. */
  private async call(method: ProviderRequest['method'], url: URL, zone: string, what: string, signal?: AbortSignal, body?: string, extra: Record<string, string> = {}): Promise<{ req: ProviderRequest; res: ProviderResponse }> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.token(zone, signal);
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json', ...extra };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const req: ProviderRequest = { method, url, headers, zone, what, signal, ...(body !== undefined ? { body } : {}) };
      const res = await this.http.send(req);
      if (res.status !== 401 || attempt > 1) return { req, res };
      this.tokens.invalidate();
    }
  }

  private zoneUrl(zone: string): URL {
    const path = `/subscriptions/${encodeURIComponent(this.subscriptionId)}/resourceGroups/${encodeURIComponent(this.resourceGroup)}/providers/Microsoft.Network/dnsZones/${encodeURIComponent(zone)}`;
    return new URL(`${this.resourceManagerUrl}${path}?api-version=${AZURE_DNS_API_VERSION}`);
  }

  private recordSetUrl(zone: string, relativeName: string): URL {
    const u = this.zoneUrl(zone);
    u.pathname += `/TXT/${encodeURIComponent(relativeName)}`;
    return u;
  }
}

/** 404 codes that mean the zone, group or subscription is missing, not the record set. */
const PARENT_MISSING = new Set(['ParentResourceNotFound', 'ResourceGroupNotFound', 'SubscriptionNotFound']);

/** ARM errors read `{ error: { code, message } }`; Azure DNS also answers a bare `{ code, message }`. */
function armError(res: ProviderResponse): { code?: string; message?: string } {
  try {
    const body = obj(JSON.parse(res.text));
    const e = typeof body.error === 'object' ? obj(body.error) : body;
    return { ...(typeof e.code === 'string' ? { code: e.code } : {}), ...(typeof e.message === 'string' ? { message: e.message } : {}) };
  } catch {
    return {};
  }
}

function armErrorCode(res: ProviderResponse): string | undefined {
  return armError(res).code;
}

function armErrorText(res: ProviderResponse): string {
  const e = armError(res);
  if (e.code || e.message) return `${e.code ?? 'Error'}: ${e.message ?? ''}`.trim();
  return res.text.slice(0, 200);
}

/** Entra ID / IMDS errors: `{ error, error_description }`; the description's first line (no trace ids). */
function tokenErrorText(res: ProviderResponse): string {
  try {
    const body = obj(JSON.parse(res.text));
    if (typeof body.error === 'string') {
      const desc = typeof body.error_description === 'string' ? body.error_description.split(/\r?\n/)[0] : '';
      return `${body.error}${desc ? `: ${desc}` : ''}`;
    }
  } catch {
    // not JSON
  }
  return res.text.slice(0, 200);
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Throws the error for a write that kept losing the race. */
export function conflictError(code: string, zone: string, name: string, attempts: number): DnsProviderError {
  return new DnsProviderError(code, `zone ${zone}: the TXT record set ${name} kept changing under us (HTTP 412 Precondition Failed ${attempts} times)`, { status: 412, retryable: true });
}
