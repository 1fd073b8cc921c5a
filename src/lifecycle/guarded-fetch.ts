/**
 * A `fetch` for user-given URLs (DNS provider APIs, webhooks) over node:http/https whose
 * connections go through {@link guardedLookup}: the address checked is the address connected to,
 * so a name that rebinds to 127.0.0.1 after the URL was saved is still refused. The global fetch
 * (undici) takes no lookup hook without a dispatcher from the `undici` package, hence this small
 * client. It covers what certkeeper's clients use: string/bytes/URLSearchParams bodies, headers,
 * an AbortSignal, and redirects that are never followed (a redirect could lead to a refused
 * address; 3xx answers are returned as they are).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { guardedLookup, vetHost, type ResolveAll } from './address-policy.js';

/** Options of {@link guardedFetch}. */
export interface GuardedFetchOptions {
  /** CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: when true, every address is allowed (the lookup still runs). */
  allowPrivateAddresses: boolean;
  /** Origins exempt from the rule: fixed, well-known endpoints (e.g. Azure IMDS), never user input. */
  trustedOrigins?: readonly string[];
  /** Name resolution (tests inject one); default the system resolver. */
  resolve?: ResolveAll;
  /** Largest response body read; default 32 MiB. */
  maxBodyBytes?: number;
}

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

/** A `fetch` whose every connection is vetted by the private-address rule. */
export function guardedFetch(opts: GuardedFetchOptions): typeof fetch {
  const guarded = guardedLookup({ allowPrivate: opts.allowPrivateAddresses, ...(opts.resolve ? { resolve: opts.resolve } : {}) });
  const open = guardedLookup({ allowPrivate: true, ...(opts.resolve ? { resolve: opts.resolve } : {}) });
  const trusted = new Set(opts.trustedOrigins ?? []);
  const maxBodyBytes = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (input instanceof Request) throw new TypeError('guardedFetch takes a URL, not a Request');
    const url = new URL(String(input));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
    const lookup = trusted.has(url.origin) ? open : guarded;
    init.signal?.throwIfAborted();
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // Node calls no lookup for an IP literal: vet it here, before any connection.
    if (isIP(host)) await vetHost(lookup, host).catch((err: unknown) => {
      throw new TypeError('fetch failed', { cause: err });
    });
    const { headers, body } = requestParts(init);
    const res = await send(url, init.method ?? 'GET', headers, body, lookup, init.signal ?? undefined);
    return toResponse(res, init.signal ?? undefined, maxBodyBytes);
  }) as typeof fetch;
}

function requestParts(init: RequestInit): { headers: Record<string, string>; body: Buffer | undefined } {
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => {
    headers[k] = v;
  });
  let body: Buffer | undefined;
  const b = init.body;
  if (b === undefined || b === null) body = undefined;
  else if (typeof b === 'string') body = Buffer.from(b, 'utf8');
  else if (b instanceof URLSearchParams) {
    body = Buffer.from(b.toString(), 'utf8');
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
  } else if (b instanceof ArrayBuffer) body = Buffer.from(b);
  else if (ArrayBuffer.isView(b)) body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  else throw new TypeError('guardedFetch: the body must be a string, bytes or URLSearchParams');
  if (typeof b === 'string') headers['content-type'] ??= 'text/plain;charset=UTF-8';
  if (body !== undefined) headers['content-length'] = String(body.length);
  headers.accept ??= '*/*';
  headers['user-agent'] ??= 'certkeeper';
  headers['accept-encoding'] ??= 'gzip, deflate, br';
  return { headers, body };
}

function send(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, lookup: LookupFunction, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // No shared keep-alive pool (`agent: false`): a pooled socket would skip the lookup, and one
    // opened under another policy (a trusted origin, another instance) must never be reused here.
    const req = requestFn(url, { method, headers, lookup, agent: false }, (res) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(res);
    });
    const onAbort = (): void => {
      req.destroy();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // As the global fetch does: a network failure is a TypeError whose cause says why.
    req.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err }));
    });
    req.end(body);
  });
}

async function toResponse(res: IncomingMessage, signal: AbortSignal | undefined, maxBodyBytes: number): Promise<Response> {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : null;
  const stream: Readable = decoder ? res.pipe(decoder) : res;
  if (decoder) res.on('error', (err) => decoder.destroy(err));
  const onAbort = (): void => {
    res.destroy(signal?.reason);
    stream.destroy(signal?.reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBodyBytes) throw new TypeError(`fetch failed: the response body exceeds ${maxBodyBytes} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    res.destroy();
    if (signal?.aborted) throw signal.reason;
    throw err instanceof TypeError ? err : new TypeError('fetch failed', { cause: err });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (decoder) {
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
  if (status < 200 || status > 599) throw new TypeError(`fetch failed: unexpected HTTP status ${status}`);
  return new Response(NULL_BODY_STATUS.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers });
}
