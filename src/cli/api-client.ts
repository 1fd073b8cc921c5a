/**
 * The CLI's HTTP client of the REST API (`/api/v1`): bearer auth, JSON in and out, and typed
 * errors for the three ways a call goes wrong — the server answered with a problem document
 * (RFC 9457), the server could not be reached, or it answered with something that is not the API.
 */

/** API base path under the server URL. */
export const API_BASE = '/api/v1';

/** Per-request timeout; `--wait` polls make many short requests, never one long one. */
const REQUEST_TIMEOUT_MS = 60_000;

/** One field or name at fault, as the API reports it. */
export interface ProblemFieldError {
  field: string;
  value?: string;
  message: string;
}

/** An RFC 9457 problem document as certkeeper sends it. */
export interface ProblemDocument {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  instance?: string;
  errors?: ProblemFieldError[];
}

/** A resource as every endpoint reads it. */
export interface Resource {
  id: string;
  type: string;
  href: string;
  metadata: Record<string, unknown> & { state?: string; message?: string };
  properties: Record<string, unknown>;
}

/** A page of a collection. */
export interface Collection<T = Resource> {
  id?: string;
  type?: string;
  href?: string;
  items: T[];
  offset: number;
  limit: number;
  total: number;
}

/** Where the token came from, so a 401 can say which setting to fix. */
export type TokenSource = 'flag' | 'CERTKEEPER_TOKEN' | 'CERTKEEPER_ADMIN_TOKEN' | 'config' | 'none';

/** The server answered with an error status. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem: ProblemDocument,
    /** The raw body, for `--json`. */
    readonly body: string,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

/** The server could not be reached or did not answer like certkeeper. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

/** A binary download. */
export interface BinaryResponse {
  data: Buffer;
  contentType: string;
  /** The file name of `Content-Disposition`, when the server gave one. */
  filename: string | null;
}

/** A text download that may be a 304. */
export interface TextResponse {
  notModified: boolean;
  text: string;
  etag: string | null;
  headers: Headers;
}

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Server URL, e.g. `http://127.0.0.1:8080` (a trailing `/api/v1` is tolerated). */
  server: string;
  token: string | null;
  tokenSource: TokenSource;
  /** Injected for tests; default the global `fetch`. */
  fetch?: typeof fetch;
}

/** Normalises a server URL: http(s) only, no trailing slash, no `/api/v1` suffix. */
export function normaliseServerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConnectionError(`"${raw}" is not a URL; give the server as http://host:port (for example http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConnectionError(`"${raw}" is not an http:// or https:// URL`);
  }
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

/** Explains a `fetch` failure in terms of the server the user asked for. */
function describeNetworkError(server: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code;
  const hint = 'is `certkeeper serve` running there? Set the URL with --server or CERTKEEPER_SERVER';
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to the certkeeper server at ${server}: connection refused; ${hint}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host of the certkeeper server ${server}; ${hint}`;
    case 'ECONNRESET':
      return `the certkeeper server at ${server} closed the connection; ${hint}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `the certkeeper server at ${server} is unreachable; ${hint}`;
    default:
      break;
  }
  if ((err as Error).name === 'TimeoutError') return `the certkeeper server at ${server} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const detail = cause?.message ?? (err as Error).message ?? String(err);
  return `cannot reach the certkeeper server at ${server}: ${detail}; ${hint}`;
}

/** Reads a problem document from an error response, or makes one from whatever came back. */
function toProblem(status: number, contentType: string, text: string): ProblemDocument {
  if (/json/i.test(contentType)) {
    try {
      const doc = JSON.parse(text) as Partial<ProblemDocument>;
      if (doc && typeof doc === 'object') return { ...doc, status: typeof doc.status === 'number' ? doc.status : status };
    } catch {
      // fall through to the plain-text form
    }
  }
  const snippet = text.trim().slice(0, 200);
  return { status, detail: `HTTP ${status}${snippet ? `: ${snippet}` : ''}` };
}

/** Client of the certkeeper REST API. */
export class ApiClient {
  /** Server URL without the API base. */
  readonly server: string;
  readonly tokenSource: TokenSource;
  private readonly token: string | null;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ApiClientOptions) {
    this.server = normaliseServerUrl(opts.server);
    this.token = opts.token;
    this.tokenSource = opts.tokenSource;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  private async send(method: string, path: string, body: unknown, accept: string, extra: { headers?: Record<string, string>; allow304?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...extra.headers, accept };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.server}${API_BASE}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        redirect: 'error',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ConnectionError(describeNetworkError(this.server, err));
    }
    if (!res.ok && !(extra.allow304 && res.status === 304)) {
      const text = await res.text().catch(() => '');
      throw new ApiError(res.status, toProblem(res.status, res.headers.get('content-type') ?? '', text), text);
    }
    return res;
  }

  /** A JSON call; resolves to `undefined` for 204. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, 'application/json');
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ConnectionError(`${this.server} answered ${method} ${API_BASE}${path} with something that is not JSON; is --server pointing at certkeeper?`);
    }
  }

  /** A call whose answer is a file. */
  async download(method: string, path: string, body?: unknown): Promise<BinaryResponse> {
    const res = await this.send(method, path, body, 'application/json, application/x-pkcs12, application/octet-stream');
    const disposition = res.headers.get('content-disposition') ?? '';
    const m = /filename="([^"]+)"/i.exec(disposition);
    return { data: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? '', filename: m?.[1] ?? null };
  }

  /**
   * A GET of a text document that may answer 304 to `If-None-Match` (RFC 9110 §13.1.2): the pull
   * of a certificate bundle. `notModified` is true on 304, and `text` is then empty.
   */
  async getText(path: string, opts: { accept: string; ifNoneMatch?: string }): Promise<TextResponse> {
    const headers = opts.ifNoneMatch ? { 'if-none-match': opts.ifNoneMatch } : undefined;
    const res = await this.send('GET', path, undefined, opts.accept, { ...(headers ? { headers } : {}), allow304: true });
    const notModified = res.status === 304;
    return { notModified, text: notModified ? '' : await res.text(), etag: res.headers.get('etag'), headers: res.headers };
  }

  get<T = Resource>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T = Resource>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T = Resource>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path);
  }

  /**
   * Lists a collection. With `page` only that page is read; without it every page is read and
   * merged into one collection (offset 0, limit = number of items).
   */
  async list<T = Resource>(path: string, filters: Record<string, string>, page?: { offset?: number; limit?: number }): Promise<Collection<T>> {
    const query = (offset: number, limit: number) => {
      const q = new URLSearchParams();
      q.set('offset', String(offset));
      q.set('limit', String(limit));
      for (const [k, v] of Object.entries(filters)) q.set(`filter.${k}`, v);
      return `${path}?${q.toString()}`;
    };
    if (page && (page.offset !== undefined || page.limit !== undefined)) {
      return this.get<Collection<T>>(query(page.offset ?? 0, page.limit ?? 100));
    }
    const pageSize = 500;
    const first = await this.get<Collection<T>>(query(0, pageSize));
    const items = [...first.items];
    while (items.length < first.total) {
      const next = await this.get<Collection<T>>(query(items.length, pageSize));
      if (next.items.length === 0) break;
      items.push(...next.items);
    }
    return { ...first, items, offset: 0, limit: items.length };
  }
}
