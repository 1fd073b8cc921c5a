// A scripted in-process ACME endpoint for what Pebble 2.4 cannot show (ARI, profiles, exact
// badNonce sequences). It follows RFC 8555's wire format and records what it receives.
import type { AcmeHttp, AcmeHttpRequest, AcmeHttpResponse } from '../../src/acme/index.js';

/** One recorded request, with the decoded JWS when it was a POST. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  protected?: Record<string, unknown>;
  payload?: unknown;
  /** True for POST-as-GET (empty payload). */
  postAsGet?: boolean;
}

/** A response the fake returns; `json` is serialised into the body. */
export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  links?: string[];
  json?: unknown;
  text?: string;
}

/** An AcmeHttp whose answers come from `handler`; every request is recorded. */
export function fakeHttp(handler: (req: RecordedRequest) => FakeResponse | Promise<FakeResponse>): AcmeHttp & { requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = [];
  return {
    requests,
    async request(req: AcmeHttpRequest): Promise<AcmeHttpResponse> {
      const rec = decode(req);
      requests.push(rec);
      const r = await handler(rec);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
      let body = Buffer.alloc(0);
      if (r.json !== undefined) {
        body = Buffer.from(JSON.stringify(r.json));
        headers['content-type'] ??= r.status >= 400 ? 'application/problem+json' : 'application/json';
      } else if (r.text !== undefined) {
        body = Buffer.from(r.text);
      }
      return { status: r.status, headers, links: r.links ?? [], body };
    },
  };
}

/** Decodes a request's flattened JWS body (without checking the signature). */
export function decode(req: AcmeHttpRequest): RecordedRequest {
  const rec: RecordedRequest = { method: req.method, url: req.url, headers: req.headers ?? {} };
  if (req.body) {
    const jws = JSON.parse(req.body) as { protected: string; payload: string };
    rec.protected = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as Record<string, unknown>;
    rec.postAsGet = jws.payload === '';
    if (jws.payload !== '') rec.payload = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8'));
  }
  return rec;
}

/** A directory for base URL `base` (no trailing slash). */
export function fakeDirectory(base: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    newNonce: `${base}/new-nonce`,
    newAccount: `${base}/new-account`,
    newOrder: `${base}/new-order`,
    revokeCert: `${base}/revoke-cert`,
    keyChange: `${base}/key-change`,
    ...extra,
  };
}

/** The fake as a real loopback HTTP server (plain http), so the real transport is exercised. */
export async function startFakeAcmeServer(
  handler: (req: RecordedRequest, base: string) => FakeResponse | Promise<FakeResponse>,
): Promise<{ base: string; requests: RecordedRequest[]; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const requests: RecordedRequest[] = [];
  let base = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const body = Buffer.concat(chunks).toString('utf8');
        const rec = decode({ method: req.method as 'GET' | 'HEAD' | 'POST', url: `${base}${req.url ?? ''}`, headers, ...(body ? { body } : {}) });
        requests.push(rec);
        const r = await handler(rec, base);
        const out: Record<string, string> = { ...(r.headers ?? {}) };
        let payload: string | undefined;
        if (r.json !== undefined) {
          payload = JSON.stringify(r.json);
          out['content-type'] ??= r.status >= 400 ? 'application/problem+json' : 'application/json';
        } else if (r.text !== undefined) payload = r.text;
        const raw: [string, string][] = Object.entries(out);
        for (const l of r.links ?? []) raw.push(['Link', l]);
        res.writeHead(r.status, raw).end(payload);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  base = `http://127.0.0.1:${addr.port}`;
  return {
    base,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
