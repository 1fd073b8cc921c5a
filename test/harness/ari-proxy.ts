/**
 * Pebble 2.4 has no ARI (RFC 9773) and no profiles: this serves Pebble's directory with a
 * `renewalInfo` URL and `meta.profiles` added, and answers renewalInfo with a window the test
 * controls. Every other URL in the directory still points at Pebble itself, so JWS URLs match.
 */
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A running proxy. */
export interface AriProxy {
  directoryUrl: string;
  /** The window served; null answers 404 (a CA without a window for that certificate). */
  window: { start: Date; end: Date } | null;
  /** Retry-After seconds sent with each renewalInfo answer. */
  retryAfterSeconds: number;
  /** Certificate IDs asked for, in order. */
  asked: string[];
  /** When true, the directory's newOrder is this proxy, answering 429 rateLimited with Retry-After. */
  rateLimitNewOrder: boolean;
  /** newOrder requests the proxy refused. */
  rateLimited: number;
  stop(): Promise<void>;
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}

/** Starts the proxy in front of Pebble's directory at `pebbleDirectoryUrl`. */
export async function startAriProxy(pebbleDirectoryUrl: string, pebbleCa: string): Promise<AriProxy> {
  let base = '';
  const state: AriProxy = {
    directoryUrl: '',
    window: null,
    retryAfterSeconds: 3600,
    asked: [],
    rateLimitNewOrder: false,
    rateLimited: 0,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/dir') {
        const dir = JSON.parse(await get(pebbleDirectoryUrl, pebbleCa)) as Record<string, any>;
        dir.renewalInfo = `${base}/renewal-info`;
        if (state.rateLimitNewOrder) dir.newOrder = `${base}/new-order`;
        dir.meta = { ...(dir.meta ?? {}), profiles: { classic: 'the usual 90 days', shortlived: 'six days' } };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(dir));
        return;
      }
      const m = /^\/renewal-info\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(req.url ?? '');
      if (m && req.method === 'GET') {
        state.asked.push(m[1]!);
        if (!state.window) {
          res.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail: 'no renewal information', status: 404 }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'retry-after': String(state.retryAfterSeconds) })
          .end(JSON.stringify({ suggestedWindow: { start: state.window.start.toISOString(), end: state.window.end.toISOString() }, explanationURL: 'https://ca.example/incident' }));
        return;
      }
      if (req.url === '/new-order' && req.method === 'POST') {
        state.rateLimited++;
        req.resume();
        res.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': String(state.retryAfterSeconds) })
          .end(JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many certificates for this exact set of names', status: 429 }));
        return;
      }
      res.writeHead(404).end();
    })().catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.directoryUrl = `${base}/dir`;
  return state;
}
