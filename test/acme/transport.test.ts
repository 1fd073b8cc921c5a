// The node:http(s) transport: timeouts, refused connections, abort, Link headers, keep-alive.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { AcmeClient, AcmeTransportError, createHttpTransport, generateAccountKey, isRetryableAcmeError, linksWithRel, parseLinks } from '../../src/acme/index.js';
import { freePort } from '../harness/ports.js';

let server: Server;
let base: string;
const sockets = new Set<unknown>();

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/hang') return; // never answers
    if (req.url === '/links') {
      res.writeHead(200, [
        ['Link', '<https://ca.test/cert/1/1>;rel="alternate"'],
        ['Link', '</cert/1/2>; rel="alternate", <https://ca.test/dir>;rel="index"'],
        ['Replay-Nonce', 'abc'],
      ]).end('ok');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.url} ${req.headers['user-agent'] ?? ''}`);
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  base = `http://127.0.0.1:${addr.port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('a port where nothing listens fails fast with a retryable AcmeTransportError', async () => {
  const port = await freePort();
  const statuses: number[] = [];
  const http = createHttpTransport({ timeoutMs: 2000, onRequest: (_m, _u, s) => statuses.push(s) });
  const t0 = Date.now();
  await assert.rejects(http.request({ method: 'GET', url: `http://127.0.0.1:${port}/dir` }), (err: unknown) => {
    assert.ok(err instanceof AcmeTransportError, String(err));
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.retryable, true);
    assert.ok(isRetryableAcmeError(err));
    return true;
  });
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual(statuses, [0]);
  http.close();
});

test('the client surfaces the transport error for an unreachable CA (https)', async () => {
  const port = await freePort();
  const client = new AcmeClient({ directoryUrl: `https://127.0.0.1:${port}/dir`, accountKey: await generateAccountKey(), timeoutMs: 1000 });
  await assert.rejects(client.getDirectory(), AcmeTransportError);
});

test('a server that never answers times out within timeoutMs', async () => {
  const http = createHttpTransport({ timeoutMs: 300 });
  const t0 = Date.now();
  await assert.rejects(http.request({ method: 'GET', url: `${base}/hang` }), (err: unknown) => {
    assert.ok(err instanceof AcmeTransportError, String(err));
    assert.equal(err.code, 'ETIMEDOUT');
    return true;
  });
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 1500, `took ${took} ms`);
  http.close();
});

test('an AbortSignal aborts the request with its reason', async () => {
  const http = createHttpTransport({ timeoutMs: 10_000 });
  const ac = new AbortController();
  const reason = new Error('stop now');
  setTimeout(() => ac.abort(reason), 50);
  await assert.rejects(http.request({ method: 'GET', url: `${base}/hang`, signal: ac.signal }), (err: unknown) => err === reason);
  await assert.rejects(http.request({ method: 'GET', url: `${base}/x`, signal: ac.signal }), (err: unknown) => err === reason);
  http.close();
});

test('raw Link headers are kept one per line and parse into rel targets', async () => {
  const http = createHttpTransport();
  const res = await http.request({ method: 'GET', url: `${base}/links` });
  assert.equal(res.links.length, 2);
  assert.equal(res.headers['replay-nonce'], 'abc');
  assert.deepEqual(linksWithRel(res.links, 'alternate', 'https://ca.test/cert/1'), ['https://ca.test/cert/1/1', 'https://ca.test/cert/1/2']);
  assert.deepEqual(linksWithRel(res.links, 'index'), ['https://ca.test/dir']);
  http.close();
});

test('Link parsing copes with quoted commas and several rels', () => {
  const links = parseLinks(['<https://a.test/x>; title="a, b"; rel="alternate up", <https://a.test/y>;rel=next']);
  assert.deepEqual(links, [
    { url: 'https://a.test/x', rel: ['alternate', 'up'] },
    { url: 'https://a.test/y', rel: ['next'] },
  ]);
});

test('keep-alive: sequential requests share one connection and send a User-Agent', async () => {
  const before = sockets.size;
  const http = createHttpTransport({ userAgent: 'certkeeper-test/1' });
  for (let i = 0; i < 5; i++) {
    const res = await http.request({ method: 'GET', url: `${base}/n${i}` });
    assert.equal(res.body.toString(), `GET /n${i} certkeeper-test/1`);
  }
  assert.equal(sockets.size - before, 1);
  http.close();
});
