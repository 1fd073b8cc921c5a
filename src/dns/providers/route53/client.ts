/**
 * Amazon Route 53 through `@aws-sdk/client-route-53`, loaded on first use so that nothing else in
 * certkeeper loads the SDK. The SDK signs (SigV4), serialises the REST/XML API and retries
 * throttling and 5xx (honouring Retry-After); its HTTP goes through `fetch` here, so the
 * private-address rule, the injected fetch and per-attempt timeouts apply as for the other providers.
 * API reference: https://docs.aws.amazon.com/Route53/latest/APIReference/
 */
import type { Change, ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { Logger } from 'pino';
import { DnsProviderError } from '../../dns-provider.js';
import type { ProviderHttp } from '../provider-http.js';
import { guardedFetch } from '../../../lifecycle/guarded-fetch.js';

type Sdk = typeof import('@aws-sdk/client-route-53');
let sdk: Promise<Sdk> | undefined;

/** Loads the SDK once, on first use. */
function loadSdk(): Promise<Sdk> {
  sdk ??= import('@aws-sdk/client-route-53');
  return sdk;
}

/** Static credentials; absent means the AWS default credential chain. */
export interface Route53Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** How the client is built. */
export interface Route53ClientOptions {
  code: string;
  /** The zone the provider is bound to, named in transport errors. */
  zoneName: string;
  region: string;
  endpoint?: string;
  credentials?: Route53Credentials;
  /** Guards URLs (private-address rule) and scrubs secrets. */
  http: ProviderHttp;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Timeout of one HTTP attempt (default 30 s). */
  timeoutMs?: number;
  /** SDK attempts in all, for throttling and 5xx (default 4). */
  maxAttempts?: number;
}

/** A TXT record set as read. */
export interface TxtRecordSet {
  name: string;
  ttl: number;
  /** Values as Route 53 stores them: quoted character-strings. */
  values: string[];
}

/** The shape of the SDK's HTTP request (smithy `HttpRequest`), as far as it is used here. */
interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** A smithy HTTP handler over `fetch` (the SDK's own Node handler would bypass the injected fetch and the address rule). */
type FetchHandler = {
  handle(request: SdkRequest, options?: { abortSignal?: AbortSignal }): Promise<{ response: { statusCode: number; reason?: string; headers: Record<string, string>; body: Uint8Array } }>;
  updateHttpClientConfig(key: unknown, value: unknown): void;
  httpHandlerConfigs(): Record<string, unknown>;
  destroy(): void;
};

function fetchHandler(opts: Route53ClientOptions): FetchHandler {
  const doFetch = opts.fetch ?? guardedFetch({ allowPrivateAddresses: opts.http.opts.allowPrivateAddresses });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return {
    async handle(request, options) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(request.query ?? {})) {
        if (v === null) continue;
        for (const item of Array.isArray(v) ? v : [v]) q.append(k, item);
      }
      const qs = q.toString().replace(/\+/g, '%20');
      const url = new URL(`${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}${request.path}${qs ? `?${qs}` : ''}`);
      await opts.http.guard(url, opts.zoneName);
      const headers = new Headers();
      // fetch sets Host and Content-Length itself, to the same values the SDK signed.
      for (const [k, v] of Object.entries(request.headers)) if (!['host', 'content-length'].includes(k.toLowerCase())) headers.set(k, v);
      let body: string | Uint8Array | undefined;
      if (typeof request.body === 'string' || request.body instanceof Uint8Array) body = request.body;
      else if (request.body !== undefined && request.body !== null) throw new Error('route53: streaming request bodies are not supported');
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = options?.abortSignal ? AbortSignal.any([options.abortSignal, timeout]) : timeout;
      const res = await doFetch(url, { method: request.method, headers, ...(body !== undefined && request.method !== 'GET' ? { body } : {}), signal, redirect: 'manual' });
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        out[k] = v;
      });
      opts.logger?.debug({ provider: opts.code, method: request.method, path: url.pathname, status: res.status }, 'dns provider API call');
      return { response: { statusCode: res.status, reason: res.statusText, headers: out, body: new Uint8Array(await res.arrayBuffer()) } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}

/** The raw Route 53 API for one set of credentials. */
export class Route53Api {
  private client: Promise<{ sdk: Sdk; client: Route53Client }> | undefined;

  constructor(private readonly opts: Route53ClientOptions) {}

  /** ListHostedZonesByName: the public hosted zones named `zone` (ids without `/hostedzone/`). */
  async findHostedZones(zone: string, signal?: AbortSignal): Promise<{ id: string; private: boolean }[]> {
    const out = await this.call(zone, 'look up the hosted zone by name', signal, (c, s, o) => c.send(new s.ListHostedZonesByNameCommand({ DNSName: `${zone}.`, MaxItems: 10 }), o));
    return (out.HostedZones ?? []).filter((z) => normalise(z.Name ?? '') === zone.toLowerCase()).map((z) => ({ id: (z.Id ?? '').replace(/^\/hostedzone\//, ''), private: z.Config?.PrivateZone === true }));
  }

  /** ListResourceRecordSets from (`name`, `type`): the first record set there, if it is exactly that one. */
  async getRecordSet(hostedZoneId: string, name: string, type: 'TXT' | 'SOA', zone: string, signal?: AbortSignal): Promise<TxtRecordSet | undefined> {
    const out = await this.call(zone, `read the ${type} record set at ${name}`, signal, (c, s, o) => c.send(new s.ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, StartRecordName: `${name}.`, StartRecordType: type, MaxItems: 1 }), o));
    const set = (out.ResourceRecordSets ?? [])[0];
    if (!set || set.Type !== type || normalise(set.Name ?? '') !== name.toLowerCase()) return undefined;
    if (set.SetIdentifier !== undefined || set.AliasTarget !== undefined) {
      throw new DnsProviderError(this.opts.code, `zone ${zone}: the ${type} records at ${name} use a routing policy or an alias, which certkeeper does not change`);
    }
    return { name: set.Name ?? `${name}.`, ttl: set.TTL ?? 300, values: (set.ResourceRecords ?? []).map((r) => r.Value ?? '') };
  }

  /**
   * ChangeResourceRecordSets: applies `changes` atomically. Resolves the change id, or 'conflict'
   * when Route 53 refused the batch because the record set is not as read (InvalidChangeBatch:
   * "not found", "values provided do not match", "already exists") — someone else changed it.
   */
  async change(hostedZoneId: string, changes: Change[], zone: string, signal?: AbortSignal): Promise<string | 'conflict'> {
    const { sdk } = await this.sdk();
    try {
      const out = await this.call(zone, 'change the TXT record set', signal, (c, s, o) => c.send(new s.ChangeResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, ChangeBatch: { Comment: 'certkeeper dns-01', Changes: changes } }), o));
      return out.ChangeInfo?.Id ?? '';
    } catch (err) {
      const cause = err instanceof DnsProviderError ? err.opts.cause : undefined;
      if (cause instanceof sdk.InvalidChangeBatch && /not found|do not match|already exists/i.test(cause.message)) return 'conflict';
      throw err;
    }
  }

  /** GetChange: PENDING or INSYNC. */
  async changeStatus(changeId: string, zone: string, signal?: AbortSignal): Promise<string> {
    const out = await this.call(zone, `read change ${changeId}`, signal, (c, s, o) => c.send(new s.GetChangeCommand({ Id: changeId }), o));
    return out.ChangeInfo?.Status ?? 'PENDING';
  }

  /** Releases the SDK client. */
  async close(): Promise<void> {
    if (!this.client) return;
    const { client } = await this.client.catch(() => ({ client: undefined }));
    client?.destroy();
    this.client = undefined;
  }

  private sdk(): Promise<{ sdk: Sdk; client: Route53Client }> {
    this.client ??= loadSdk().then((s) => {
      const client = new s.Route53Client({
        region: this.opts.region,
        ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
        ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
        maxAttempts: this.opts.maxAttempts ?? 4,
        requestHandler: fetchHandler(this.opts),
      });
      return { sdk: s, client };
    }, (err: unknown) => {
      this.client = undefined;
      sdk = undefined;
      throw new DnsProviderError(this.opts.code, `zone ${this.opts.zoneName}: cannot load the AWS SDK (@aws-sdk/client-route-53): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    return this.client;
  }

  /** Runs one SDK call; SDK and network errors become DnsProviderError naming zone, status and AWS's code and message. */
  private async call<T>(zone: string, what: string, signal: AbortSignal | undefined, run: (client: Route53Client, sdk: Sdk, options: { abortSignal?: AbortSignal }) => Promise<T>): Promise<T> {
    const { sdk, client } = await this.sdk();
    try {
      return await run(client, sdk, signal ? { abortSignal: signal } : {});
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof DnsProviderError) throw err;
      const e = err as Error & { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; $fault?: string };
      const status = e.$metadata?.httpStatusCode;
      // AWS may append the canonical request after a blank line; the first paragraph says it all.
      const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
      const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
      const text = `${e.name}: ${(e.message ?? '').split(/\n\s*\n/)[0]!.slice(0, 400)}${why ? ` (${why})` : ''}`;
      const message = status ? `zone ${zone}: ${what} failed with HTTP ${status}: ${text}` : `zone ${zone}: ${what} failed: ${text}`;
      const network = status === undefined && e.name !== 'CredentialsProviderError';
      const retryable = network || e.$retryable !== undefined || e.$fault === 'server' || status === 429 || (status !== undefined && status >= 500) || /Throttling|PriorRequestNotComplete/.test(e.name);
      throw new DnsProviderError(this.opts.code, this.opts.http.scrub(message), { retryable, ...(status ? { status } : {}), cause: err });
    }
  }
}

/** A Route 53 name as DNS presentation: lower case, no trailing dot, `\052`-style escapes decoded. */
export function normalise(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

/** The record set of `name` with `values` (quoted), for a change. */
export function recordSet(name: string, ttl: number, values: readonly string[]): ResourceRecordSet {
  return { Name: name, Type: 'TXT', TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) };
}
