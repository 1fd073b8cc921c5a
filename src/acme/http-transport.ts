// The HTTP port of the ACME client: a tiny interface (so tests can inject a fake) and its
// node:http/node:https implementation with keep-alive connections.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { createSecureContext, rootCertificates } from 'node:tls';
import { AcmeTransportError } from './problem.js';

/** One HTTP request as the ACME client makes it. */
export interface AcmeHttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** One HTTP response. */
export interface AcmeHttpResponse {
  status: number;
  /** Lower-case header names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Raw values of every `Link` header, one entry per header line. */
  links: string[];
  body: Buffer;
}

/**
 * The HTTP port of the ACME client. Implementations MUST reject with {@link AcmeTransportError}
 * on network failures and timeouts, MUST reject with the signal's reason when `signal` aborts,
 * and MUST resolve (not reject) for every HTTP status, 4xx and 5xx included.
 */
export interface AcmeHttp {
  request(req: AcmeHttpRequest): Promise<AcmeHttpResponse>;
}

/** Options of {@link createHttpTransport}. */
export interface HttpTransportOptions {
  /** Extra PEM roots trusted in addition to Node's bundled `tls.rootCertificates`. */
  caCertificates?: string;
  /** Whole-request timeout (connect to last body byte); default 30000 ms. */
  timeoutMs?: number;
  /** RFC 8555 §6.1: clients MUST send a User-Agent. */
  userAgent?: string;
  /** Called once per request when it completes; `status` is 0 when no response arrived. */
  onRequest?: (method: string, url: string, status: number) => void;
  /** Largest response body accepted; default 8 MiB. */
  maxBodyBytes?: number;
  /**
   * Name resolution of every connection (net.connect's `lookup` hook), e.g. one that refuses
   * private addresses. IP-literal hosts, which Node resolves without it, are passed to it too
   * before the request, so one function vets every address the transport connects to.
   */
  lookup?: LookupFunction;
}

/** Default User-Agent (RFC 8555 §6.1). */
export const DEFAULT_USER_AGENT = `certkeeper-acme/0.1 node/${process.versions.node}`;

/** An {@link AcmeHttp} over node:https / node:http with keep-alive agents; `close()` drops idle sockets. */
export function createHttpTransport(opts: HttpTransportOptions = {}): AcmeHttp & { close(): void } {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxBodyBytes = opts.maxBodyBytes ?? 8 * 1024 * 1024;
  const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  // Passing `ca` replaces Node's default store, so the bundled roots are added back. Without
  // caCertificates the default store (including NODE_EXTRA_CA_CERTS) is used unchanged.
  // The roots go into one secure context built here, once: given as `ca`, Node would parse the
  // ~150 PEM roots again for every new connection and join them into the agent's pool key on
  // every request (a fifth of certkeeper's CPU per certificate, measured with --cpu-prof).
  const secureContext = opts.caCertificates ? createSecureContext({ ca: [...rootCertificates, opts.caCertificates] }) : undefined;
  const lookup = opts.lookup ? { lookup: opts.lookup } : {};
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16, ...(secureContext ? { secureContext } : {}), ...lookup });
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16, ...lookup });

  return {
    request(req: AcmeHttpRequest): Promise<AcmeHttpResponse> {
      const { method, url, signal } = req;
      const report = (status: number): void => opts.onRequest?.(method, url, status);
      if (signal?.aborted) {
        report(0);
        return Promise.reject(signal.reason);
      }
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        report(0);
        return Promise.reject(new AcmeTransportError(method, url, 'invalid URL', { code: 'ERR_INVALID_URL' }));
      }
      const isHttps = parsed.protocol === 'https:';
      if (!isHttps && parsed.protocol !== 'http:') {
        report(0);
        return Promise.reject(new AcmeTransportError(method, url, `unsupported protocol ${parsed.protocol}`));
      }
      const headers: Record<string, string> = { 'user-agent': userAgent, ...lowerCaseKeys(req.headers ?? {}) };
      const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
      if (body) headers['content-length'] = String(body.length);

      const requestFn = isHttps ? httpsRequest : httpRequest;
      const agent = isHttps ? httpsAgent : httpAgent;
      const once = (): Promise<AcmeHttpResponse> => new Promise<AcmeHttpResponse>((resolve, reject) => {
        let settled = false;
        const onAbort = (): void => {
          finish(signal?.reason);
          r.destroy();
        };
        const finish = (err: unknown, res?: AcmeHttpResponse): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (res) resolve(res);
          else reject(err);
        };
        const r = requestFn(parsed, { method, headers, agent }, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBodyBytes) {
              r.destroy(new AcmeTransportError(method, url, `response body exceeds ${maxBodyBytes} bytes`, { code: 'EBODYTOOLARGE' }));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (err) => finish(toTransportError(method, url, err, r.reusedSocket)));
          res.on('end', () => {
            finish(undefined, {
              status: res.statusCode ?? 0,
              headers: flattenHeaders(res),
              links: rawHeaderValues(res, 'link'),
              body: Buffer.concat(chunks),
            });
          });
        });
        // Callbacks below only run asynchronously, after `r` and `timer` are initialised.
        const timer = setTimeout(() => {
          r.destroy(new AcmeTransportError(method, url, `timed out after ${timeoutMs} ms`, { code: 'ETIMEDOUT' }));
        }, timeoutMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        r.on('error', (err) => finish(toTransportError(method, url, err, r.reusedSocket)));
        r.end(body);
      });

      const run = async (): Promise<AcmeHttpResponse> => {
        const host = parsed.hostname.replace(/^\[|\]$/g, '');
        if (opts.lookup && isIP(host)) {
          const vet = opts.lookup;
          await new Promise<void>((resolve, reject) => vet(host, { all: true }, (err) => (err ? reject(toTransportError(method, url, err, false)) : resolve())));
        }
        // A kept-alive socket the server closed while idle fails at once with a reset; the
        // request did not reach the server, so trying again is safe (for a POST the worst case
        // is a reused nonce, which the client's badNonce handling absorbs). The pool may hold
        // several such sockets, hence a few tries.
        for (let attempt = 1; ; attempt++) {
          try {
            return await once();
          } catch (err) {
            if (err instanceof StaleSocketError && attempt < 4 && !signal?.aborted) continue;
            throw err;
          }
        }
      };
      return run().then(
        (res) => {
          report(res.status);
          return res;
        },
        (err: unknown) => {
          report(0);
          throw err instanceof StaleSocketError ? err.inner : err;
        },
      );
    },
    close(): void {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}

/** Marks a reset on a reused keep-alive socket (internal: unwrapped before it leaves). */
class StaleSocketError extends Error {
  constructor(readonly inner: AcmeTransportError) {
    super(inner.message);
  }
}

function lowerCaseKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

function flattenHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function rawHeaderValues(res: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) out.push(raw[i + 1] ?? '');
  }
  return out;
}

function toTransportError(method: string, url: string, err: unknown, reusedSocket: boolean): Error {
  if (err instanceof AcmeTransportError) return err;
  const e = err as NodeJS.ErrnoException;
  const out = new AcmeTransportError(method, url, e?.message ?? String(err), { code: e?.code, cause: err });
  const stale = reusedSocket && (e?.code === 'ECONNRESET' || e?.code === 'EPIPE');
  return stale ? new StaleSocketError(out) : out;
}
