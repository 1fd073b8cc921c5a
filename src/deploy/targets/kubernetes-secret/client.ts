/**
 * A minimal client of the Kubernetes API server (private to this folder): JSON requests with a
 * bearer token over node:https, trusting the cluster's CA when one is given, and connecting only
 * through {@link guardedLookup} (the private-address rule, applied to the address connected to).
 *
 * Not `guardedFetch`: it opens its connections with `agent: false` and takes no CA, and an API
 * server usually presents a certificate of the cluster's own CA. Redirects are never followed.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { guardedLookup, vetHost } from '../../../lifecycle/address-policy.js';

/** Largest response body read (a Secret is at most 1 MiB; a Status far less). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** How to reach the API server. Holds the token: never log it. */
export interface KubeClientOptions {
  /** The API server's base URL; a path (an API proxy's prefix) is kept. */
  apiUrl: URL;
  token: string;
  /** PEM of the CA(s) that issued the API server's certificate; default: Node's trusted roots. */
  caCertificate?: string;
  allowPrivateAddresses: boolean;
  /** Limit of one request. */
  timeoutMs: number;
}

/** One answer of the API server. `json` is undefined when the body is not JSON. */
export interface KubeResponse {
  status: number;
  text: string;
  json: unknown;
}

/** A request that got no HTTP answer (connection, TLS, timeout, private address refused). */
export class KubeNetworkError extends Error {
  override readonly name = 'KubeNetworkError';
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

/** The Kubernetes API client of one target. */
export class KubeClient {
  readonly #opts: KubeClientOptions;
  readonly #lookup: LookupFunction;

  constructor(opts: KubeClientOptions) {
    this.#opts = opts;
    this.#lookup = guardedLookup({ allowPrivate: opts.allowPrivateAddresses });
  }

  /** Host (and port) of the API server, for messages. */
  get label(): string {
    return this.#opts.apiUrl.host;
  }

  /** Sends `method path` (path from `/api/…`) with an optional JSON body. */
  async request(method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, signal: AbortSignal): Promise<KubeResponse> {
    signal.throwIfAborted();
    const base = this.#opts.apiUrl;
    const url = new URL(base.href);
    url.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
    url.search = '';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // Node runs no lookup for an IP literal: vet it here, before connecting.
    if (isIP(host)) {
      await vetHost(this.#lookup, host).catch((err: unknown) => {
        throw new KubeNetworkError((err as Error).message, (err as NodeJS.ErrnoException).code);
      });
    }
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.#opts.token}`,
      'user-agent': 'certkeeper',
    };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = requestFn(url, {
        method,
        headers,
        lookup: this.#lookup,
        agent: false,
        ...(url.protocol === 'https:' && this.#opts.caCertificate ? { ca: this.#opts.caCertificate } : {}),
      }, resolve);
      const onAbort = () => {
        req.destroy();
        reject(signal.aborted ? signal.reason : new KubeNetworkError(`no answer within ${this.#opts.timeoutMs / 1000} s`, 'ETIMEDOUT'));
      };
      both.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: NodeJS.ErrnoException) => {
        both.removeEventListener('abort', onAbort);
        if (both.aborted) return;
        reject(new KubeNetworkError(err.message, err.code));
      });
      req.on('response', () => both.removeEventListener('abort', onAbort));
      req.end(payload);
    });
    const chunks: Buffer[] = [];
    let size = 0;
    // A server that stalls in the middle of the body is cut off by the same limit.
    const onBodyAbort = () => res.destroy(new KubeNetworkError(`no complete answer within ${this.#opts.timeoutMs / 1000} s`, 'ETIMEDOUT'));
    both.addEventListener('abort', onBodyAbort, { once: true });
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) throw new KubeNetworkError(`the answer exceeds ${MAX_BODY_BYTES} bytes`, undefined);
        chunks.push(chunk);
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw err instanceof KubeNetworkError ? err : new KubeNetworkError((err as Error).message, (err as NodeJS.ErrnoException).code);
    } finally {
      both.removeEventListener('abort', onBodyAbort);
      res.destroy();
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode ?? 0, text, json };
  }
}
