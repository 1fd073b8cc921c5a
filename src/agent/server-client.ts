/**
 * The agent's HTTP client of the certkeeper server (`/api/v1/agent/…`): JSON in and out, the
 * agent credential as a bearer token, problem+json errors (RFC 9457) as {@link AgentApiError}, and
 * network failures as {@link AgentTransportError}. Built on node:http(s) so an extra CA (`--ca-file`)
 * can be trusted without replacing the system's roots.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

/** An RFC 9457 problem document. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
}

/** The server answered with an error status. */
export class AgentApiError extends Error {
  override name = 'AgentApiError';
  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** Seconds the server asked to wait (Retry-After), when it did. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`server answered ${status}${problem.title ? ` ${problem.title}` : ''}${problem.detail ? `: ${problem.detail}` : ''}`);
  }

  /** 5xx, 429 and 408 are worth another try; other statuses will not change by retrying. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** The server could not be reached, or the connection broke, or it timed out. */
export class AgentTransportError extends Error {
  override name = 'AgentTransportError';
  readonly retryable = true;
}

/** Whether `err` is worth retrying (network trouble, 5xx, 429). */
export function isRetryable(err: unknown): boolean {
  return (err instanceof AgentApiError && err.retryable) || err instanceof AgentTransportError;
}

/** Options of {@link AgentClient}. */
export interface AgentClientOptions {
  /** The server's base URL, e.g. `https://certkeeper.example.com` (a path prefix is kept). */
  server: string;
  /** Extra trusted CA certificates (PEM), added to the system's roots. */
  caPem?: string;
  userAgent: string;
}

/** Largest response accepted (work lists carry a few PEM files each). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The client; `credential` is set once enrolled. */
export class AgentClient {
  credential: string | undefined;
  private readonly base: URL;
  private readonly httpsAgent: HttpsAgent;
  private readonly httpAgent: HttpAgent;

  constructor(private readonly opts: AgentClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.server);
    } catch {
      throw new Error(`server "${opts.server}" is not a URL (expected https://host[:port])`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`server "${opts.server}" must be an http(s) URL`);
    url.pathname = url.pathname.replace(/\/+$/, '');
    url.search = '';
    url.hash = '';
    this.base = url;
    // Passing `ca` replaces Node's default roots, so they are added back.
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 4, ...(opts.caPem ? { ca: [...rootCertificates, opts.caPem] } : {}) });
    this.httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
  }

  /** True when the URL is plain http to something other than loopback (credentials would travel in clear). */
  get insecure(): boolean {
    return this.base.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(this.base.hostname);
  }

  /** The server's origin and path, for logs. */
  get serverUrl(): string {
    return this.base.toString();
  }

  /**
   * Sends one request and returns the parsed JSON answer (undefined for an empty body). Throws
   * {@link AgentApiError} for a non-2xx answer and {@link AgentTransportError} when no answer came.
   */
  async call<T>(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal, opts: { auth?: boolean; timeoutMs?: number } = {}): Promise<T> {
    signal.throwIfAborted();
    const url = new URL(this.base.toString());
    const [pathname, query] = path.split('?');
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1${pathname ?? ''}`;
    if (query) url.search = `?${query}`;
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', 'user-agent': this.opts.userAgent };
    if (opts.auth !== false) {
      if (!this.credential) throw new Error('no agent credential');
      headers.authorization = `Bearer ${this.credential}`;
    }
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const where = `${method} ${url.pathname}`;
    const { status, text, retryAfter } = await new Promise<{ status: number; text: string; retryAfter?: string }>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, value?: { status: number; text: string; retryAfter?: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value!);
      };
      const onAbort = () => {
        req.destroy();
        finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const req = (isHttps ? httpsRequest : httpRequest)(url, { method, headers, agent: isHttps ? this.httpsAgent : this.httpAgent }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy();
            finish(new AgentTransportError(`${where}: answer larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(new AgentTransportError(`${where}: ${err.message}`)));
        res.on('end', () => {
          const ra = res.headers['retry-after'];
          finish(null, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(typeof ra === 'string' ? { retryAfter: ra } : {}) });
        });
      });
      const timer = setTimeout(() => {
        req.destroy();
        finish(new AgentTransportError(`${where}: no answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => finish(new AgentTransportError(`${where} to ${this.base.host}: ${err.message}`)));
      req.end(payload);
    });
    if (status >= 200 && status < 300) {
      if (text.trim() === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new AgentTransportError(`${where}: the answer (status ${status}) is not JSON; is ${this.base.host} a certkeeper server?`);
      }
    }
    let problem: Problem = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object') problem = parsed as Problem;
    } catch {
      problem = { detail: text.slice(0, 200) };
    }
    const retryAfterSeconds = retryAfter !== undefined && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : undefined;
    throw new AgentApiError(status, problem, retryAfterSeconds);
  }

  /** Drops idle keep-alive sockets. */
  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }
}
