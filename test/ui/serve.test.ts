// Serving the built web UI (src/api/routes/ui.ts): content types, caching (immutable hashed
// assets, revalidated index.html), the client-route fallback and where it never applies, no
// directory traversal by any spelling, and a clear answer when the UI is not built.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { addSecurityHeaders, CONTENT_SECURITY_POLICY } from '../../src/api/security-headers.js';
import { uiRoutes } from '../../src/api/routes/ui.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-UI-DIR';
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

/** A fake build: web/dist-like files, with a secret file beside (outside) it. */
function fakeBuild(): { base: string; dist: string } {
  const base = mkdtempSync(join(tmpdir(), 'ck-ui-'));
  const dist = join(base, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(base, 'package.json'), SECRET);
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dist, 'assets', 'index-abc123.js'), SCRIPT);
  writeFileSync(join(dist, 'assets', 'style-def456.css'), 'body{color:red}');
  writeFileSync(join(dist, '.hidden'), SECRET);
  return { base, dist };
}

/** The UI routes in an app shaped like buildApp's: security headers, a problem 404, an API route. */
async function appFor(dir: string): Promise<FastifyInstance> {
  const app = Fastify();
  app.addHook('onSend', addSecurityHeaders);
  app.setNotFoundHandler((req, reply) => reply.code(404).type('application/problem+json').send({ status: 404, detail: `no route ${req.method} ${req.url}` }));
  app.get('/api/v1/known', async () => ({ ok: true }));
  await app.register(uiRoutes(dir));
  return app;
}

/** Sends a request line exactly as written (no client-side normalisation of `..`). */
function rawGet(url: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    // write, not end: a half-closed socket would drop an answer that is still being read from disk.
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (c) => (data += c));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('the UI routes over a build', () => {
  let build: { base: string; dist: string };
  let app: FastifyInstance;
  before(async () => {
    build = fakeBuild();
    app = await appFor(build.dist);
  });
  after(async () => {
    await app.close();
    rmSync(build.base, { recursive: true, force: true });
  });

  test('index.html at / with no-cache, under the strict CSP', async () => {
    const res = await app.inject('/');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.body, INDEX);
    const again = await app.inject({ url: '/', headers: { 'if-none-match': String(res.headers.etag) } });
    assert.equal(again.statusCode, 304, 'revalidation by ETag');
    assert.equal(again.body, '');
  });

  test('hashed assets are immutable and typed; compressible ones are gzipped when asked', async () => {
    const js = await app.inject('/assets/index-abc123.js');
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(js.body, SCRIPT);
    const gz = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'accept-encoding');
    assert.equal(gunzipSync(gz.rawPayload).toString(), SCRIPT);
    const css = await app.inject('/assets/style-def456.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(css.headers['content-encoding'], undefined, 'no gzip unless asked');
    const svg = await app.inject('/favicon.svg');
    assert.equal(svg.headers['content-type'], 'image/svg+xml');
    assert.equal(svg.headers['cache-control'], 'no-cache', 'unhashed files are revalidated');
    const head = await app.inject({ method: 'HEAD', url: '/assets/index-abc123.js' });
    assert.equal(head.statusCode, 200);
  });

  test('client routes answer index.html; missing assets and files do not', async () => {
    for (const path of ['/certificates', '/certificates/3f0c9a1e-1b2c-4d5e-8f90-123456789abc', '/auto-certificates/new/', '/login?next=%2F', '/index.html']) {
      const res = await app.inject(path);
      assert.equal(res.statusCode, 200, path);
      assert.equal(res.body, INDEX, path);
      assert.equal(res.headers['cache-control'], 'no-cache', path);
    }
    for (const path of ['/assets/index-gone.js', '/assets/nothing', '/missing.css', '/robots.txt', '/favicon.ico']) {
      const res = await app.inject(path);
      assert.equal(res.statusCode, 404, path);
      assert.notEqual(res.body, INDEX, path);
    }
  });

  test('never for /api, /metrics, /healthz, /readyz or /.well-known', async () => {
    assert.equal((await app.inject('/api/v1/known')).statusCode, 200);
    for (const path of ['/api', '/api/v1/unknown', '/api/v1/certificates/x/y', '/api/other', '/metrics/x', '/healthz/x', '/readyz/x', '/.well-known/acme-challenge/abc', '/%61pi/v1/unknown']) {
      const res = await app.inject(path);
      assert.equal(res.statusCode, 404, path);
      assert.match(String(res.headers['content-type']), /problem\+json/, path);
    }
  });

  test('no directory traversal, however it is spelled', async () => {
    const attempts = [
      '/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt', '/%2e%2e%2f%2e%2e%2fpackage.json', '/assets/..%5c..%5csecret.txt', '/..\\secret.txt',
      '/%252e%252e/secret.txt', '/.hidden', '/assets/%00../secret.txt', '/./secret.txt', '/assets/.%2e/.%2e/package.json',
    ];
    for (const path of attempts) {
      const res = await app.inject(path);
      assert.ok(!res.body.includes(SECRET), `${path} leaked a file outside the UI`);
      assert.ok(res.statusCode === 404 || res.statusCode === 400, `${path}: ${res.statusCode}`);
    }
    // Over a real socket, with the request line exactly as sent.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    assert.match(await rawGet(url, '/assets/index-abc123.js'), /^HTTP\/1\.1 200/, 'the raw client reads answers');
    for (const path of attempts) {
      const answer = await rawGet(url, path);
      assert.ok(!answer.includes(SECRET), `${path} leaked a file outside the UI (raw)`);
      assert.match(answer, /^HTTP\/1\.1 40[04]/, `${path} (raw)`);
    }
  });
});

describe('without a build', () => {
  test('/ and client routes say how to build the UI', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ck-ui-empty-'));
    const app = await appFor(join(empty, 'dist'));
    try {
      for (const path of ['/', '/certificates/1']) {
        const res = await app.inject(path);
        assert.equal(res.statusCode, 503, path);
        assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
        assert.match(res.body, /web UI is not built/);
        assert.match(res.body, /npm run build:web/);
        assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
      }
      assert.equal((await app.inject('/assets/index-abc.js')).statusCode, 404);
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('in the real app', () => {
  let ck: CertkeeperHandle;
  before(async () => {
    ck = await startCertkeeper();
  });
  after(() => ck?.stop());

  test('the UI is served beside the API, which keeps its own answers', async () => {
    const root = await fetch(`${ck.url}/`);
    const body = await root.text();
    // Built (npm test builds it) or not, `/` is the UI's: the app, or how to build it.
    assert.ok(root.status === 200 || root.status === 503, `GET / answered ${root.status}`);
    assert.match(body, root.status === 200 ? /<div id="app"><\/div>/ : /npm run build:web/);
    if (root.status === 200) {
      assert.doesNotMatch(body, /<script>|<style>|style=/, 'no inline script or style (CSP)');
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(body)?.[1];
      assert.ok(script, 'index.html loads a hashed script');
      const js = await fetch(`${ck.url}${script}`);
      assert.equal(js.status, 200);
      assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    }
    const api404 = await fetch(`${ck.url}/api/v1/nothing`, { headers: { authorization: `Bearer ${ck.token}` } });
    assert.equal(api404.status, 404);
    assert.match(api404.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(api404.headers.get('cache-control'), 'no-store');
    // The catch-all does not even match /api paths: an over-long id stays the router's 400.
    const longId = await fetch(`${ck.url}/api/v1/certificates/${'a'.repeat(300)}`, { headers: { authorization: `Bearer ${ck.token}` } });
    assert.equal(longId.status, 400);
    const unauth = await fetch(`${ck.url}/api/v1/certificates`);
    assert.equal(unauth.status, 401);
    assert.equal((await fetch(`${ck.url}/healthz`)).status, 200);
    for (const path of ['/metrics/x', '/.well-known/acme-challenge/t']) assert.equal((await fetch(`${ck.url}${path}`)).status, 404, path);
    assert.match(await rawGet(ck.url, '/certificates/some-id'), /^HTTP\/1\.1 (200|503)/, 'a client route over a raw socket');
    const traversal = await rawGet(ck.url, '/assets/../../package.json');
    assert.match(traversal, /^HTTP\/1\.1 404/);
    assert.ok(!traversal.includes('"devDependencies"'));
  });
});
