/**
 * A small route-checking fake HTTP server (after lego's test servers): each vendor fake declares the
 * routes of the vendor's documented API; a route's handler asserts the method, path, headers and
 * body it receives. Anything unexpected — an unknown route, a failed assertion — is answered with
 * HTTP 400 (so the provider fails at once, without retries) and recorded, and
 * {@link RouteServer.assertClean} makes the test fail on it even when the provider swallowed the 400.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';

/** A request as a handler sees it. */
export interface FakeRequest {
  method: string;
  /** Raw path, without the query. */
  path: string;
  query: URLSearchParams;
  /** The query as sent (`?a=b&…`, or empty), for signature checks. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Values of the route's `:name` segments, URI-decoded. */
  params: Record<string, string>;
}

/** What a handler answers. `json` is serialised with `content-type: application/json` unless a content-type is given. */
export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
}

/** One route: `path` is a pattern like `/zones/:zoneId/dns_records`, or a RegExp whose groups are params. */
export interface Route {
  method: string;
  path: string | RegExp;
  handle(req: FakeRequest): FakeReply | Promise<FakeReply>;
}

/** One logged exchange. */
export interface Exchange {
  method: string;
  path: string;
  query: string;
  status: number;
}

interface Injection {
  method: string;
  path: RegExp;
  reply: FakeReply;
  times: number;
}

/** A running fake. */
export class RouteServer {
  /** Every exchange, in order. */
  readonly log: Exchange[] = [];
  /** Every unexpected request and failed assertion. */
  readonly failures: string[] = [];
  private readonly injections: Injection[] = [];

  private constructor(
    private readonly server: Server,
    readonly name: string,
    readonly url: string,
  ) {}

  /** Starts a fake named `name` on 127.0.0.1 with `routes`. */
  static async start(name: string, routes: readonly Route[]): Promise<RouteServer> {
    const compiled = routes.map((r) => ({ ...r, re: compile(r.path) }));
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const url = new URL(req.url ?? '/', 'http://fake');
          const method = req.method ?? 'GET';
          const body = Buffer.concat(chunks).toString('utf8');
          let reply: FakeReply;
          try {
            reply = await self.dispatch(compiled, { method, path: url.pathname, query: url.searchParams, rawQuery: url.search, headers: req.headers, body, params: {} });
          } catch (err) {
            const message = `${method} ${url.pathname}${url.search}: ${err instanceof Error ? err.message : String(err)}`;
            self.failures.push(message);
            reply = { status: 400, text: `fake ${name}: ${message}` };
          }
          self.log.push({ method, path: url.pathname, query: url.search, status: reply.status });
          const headers: Record<string, string> = { ...(reply.headers ?? {}) };
          let payload = '';
          if (reply.json !== undefined) {
            payload = JSON.stringify(reply.json);
            if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
          } else if (reply.text !== undefined) {
            payload = reply.text;
          }
          res.writeHead(reply.status, headers);
          res.end(payload);
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const self = new RouteServer(server, name, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Answers the next `times` requests matching `method` and `path` with `reply` instead of the route (for 429/5xx). */
  inject(method: string, path: RegExp, reply: FakeReply, times = 1): void {
    this.injections.push({ method, path, reply, times });
  }

  /** Fails with every unexpected request and failed assertion seen so far. */
  assertClean(): void {
    assert.deepEqual(this.failures, [], `fake ${this.name} saw unexpected requests:\n${this.failures.join('\n')}`);
  }

  /** Stops the server. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async dispatch(routes: (Route & { re: RegExp })[], req: FakeRequest): Promise<FakeReply> {
    const inj = this.injections.find((i) => i.times > 0 && i.method === req.method && i.path.test(req.path));
    if (inj) {
      inj.times--;
      return inj.reply;
    }
    for (const r of routes) {
      if (r.method !== req.method) continue;
      const m = r.re.exec(req.path);
      if (!m) continue;
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v);
      return r.handle({ ...req, params });
    }
    throw new Error('no such route in the vendor API');
  }
}

function compile(path: string | RegExp): RegExp {
  if (path instanceof RegExp) return path;
  const src = path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? `(?<${seg.slice(1)}>[^/]+)` : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${src}$`);
}

/** Asserts the named headers: a string is an exact value, a RegExp a pattern, `undefined` means absent. */
export function expectHeaders(req: FakeRequest, expected: Record<string, string | RegExp | undefined>): void {
  for (const [name, want] of Object.entries(expected)) {
    const raw = req.headers[name.toLowerCase()];
    const got = Array.isArray(raw) ? raw.join(', ') : raw;
    if (want === undefined) assert.equal(got, undefined, `header ${name} must be absent`);
    else if (typeof want === 'string') assert.equal(got, want, `header ${name}`);
    else assert.match(got ?? '', want, `header ${name}`);
  }
}

/** Asserts the query has exactly the parameters `required` plus any of `optional`, and returns it. */
export function expectQuery(req: FakeRequest, required: readonly string[], optional: readonly string[] = []): URLSearchParams {
  const names = [...new Set(req.query.keys())];
  for (const n of required) assert.ok(req.query.has(n), `query parameter ${n} is required`);
  for (const n of names) assert.ok(required.includes(n) || optional.includes(n), `unexpected query parameter ${n}`);
  for (const n of names) assert.equal(req.query.getAll(n).length, 1, `query parameter ${n} given more than once`);
  return req.query;
}

/** Parses a JSON body and asserts it is an object with exactly the keys `required` plus any of `optional`. */
export function expectJsonBody(req: FakeRequest, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  expectHeaders(req, { 'content-type': /^application\/json(;\s*charset=utf-8)?$/i });
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    assert.fail(`body is not JSON: ${req.body.slice(0, 100)}`);
  }
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), 'body is a JSON object');
  expectKeys(body as Record<string, unknown>, required, optional, 'body');
  return body as Record<string, unknown>;
}

/** Asserts `obj` has exactly the keys `required` plus any of `optional`. */
export function expectKeys(obj: Record<string, unknown>, required: readonly string[], optional: readonly string[] = [], what = 'object'): void {
  for (const k of required) assert.ok(k in obj, `${what} lacks "${k}"`);
  for (const k of Object.keys(obj)) assert.ok(required.includes(k) || optional.includes(k), `${what} has an unexpected "${k}"`);
}

/** Asserts an empty body (GET, DELETE). */
export function expectNoBody(req: FakeRequest): void {
  assert.equal(req.body, '', 'no body expected');
}

/** A dns-01 value: 43 base64url characters. */
export const DNS01_VALUE = /^[A-Za-z0-9_-]{43}$/;
