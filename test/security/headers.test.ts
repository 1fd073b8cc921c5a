// Security headers on every answer: API (success, problem, 401, 404, 413, a malformed URL),
// health and metrics; Cache-Control: no-store on /api answers; HSTS only over TLS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { makeChain } from '../harness/openssl-ca.js';
import { addSecurityHeaders, CONTENT_SECURITY_POLICY } from '../../src/api/security-headers.js';

const EXPECTED: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
  'cross-origin-opener-policy': 'same-origin',
};

function assertSecurityHeaders(what: string, headers: Headers | Record<string, string | string[] | undefined>): void {
  const get = (n: string) => (headers instanceof Headers ? headers.get(n) : (headers[n] as string | undefined)) ?? undefined;
  for (const [name, value] of Object.entries(EXPECTED)) assert.equal(get(name), value, `${what}: ${name}`);
  assert.equal(get('strict-transport-security'), undefined, `${what}: no HSTS over plain HTTP`);
}

describe('the served app', () => {
  let ck: CertkeeperHandle;
  before(async () => {
    ck = await startCertkeeper();
  });
  after(() => ck?.stop());

  test('every kind of answer carries the headers; /api answers are not cached', async () => {
    const cases: [string, () => Promise<Response>, number][] = [
      ['a collection', () => fetch(`${ck.url}/api/v1/certificates`, { headers: { authorization: `Bearer ${ck.token}` } }), 200],
      ['the OpenAPI document', () => fetch(`${ck.url}/api/v1/openapi.json`), 200],
      ['no token', () => fetch(`${ck.url}/api/v1/certificates`), 401],
      ['an unknown route', () => fetch(`${ck.url}/api/v1/nothing`, { headers: { authorization: `Bearer ${ck.token}` } }), 404],
      ['a validation problem', () => fetch(`${ck.url}/api/v1/providers`, { method: 'POST', headers: { authorization: `Bearer ${ck.token}`, 'content-type': 'application/json' }, body: '{"properties":{}}' }), 400],
      ['a malformed URL', () => fetch(`${ck.url}/api/v1/certificates/%ff`, { headers: { authorization: `Bearer ${ck.token}` } }), 400],
      ['an over-long id', () => fetch(`${ck.url}/api/v1/certificates/${'a'.repeat(300)}`, { headers: { authorization: `Bearer ${ck.token}` } }), 400],
      ['an oversized body', () => fetch(`${ck.url}/api/v1/certificates`, { method: 'POST', headers: { authorization: `Bearer ${ck.token}`, 'content-type': 'application/json' }, body: 'x'.repeat(3 * 1024 * 1024) }), 413],
    ];
    for (const [what, go, status] of cases) {
      const res = await go();
      await res.arrayBuffer();
      assert.equal(res.status, status, what);
      assertSecurityHeaders(what, res.headers);
      assert.equal(res.headers.get('cache-control'), 'no-store', `${what}: cache-control`);
      if (status >= 400) assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
    }
    for (const path of ['/healthz', '/metrics']) {
      const res = await fetch(`${ck.url}${path}`, { headers: { authorization: `Bearer ${ck.token}` } });
      await res.arrayBuffer();
      assertSecurityHeaders(path, res.headers);
    }
    const health = await fetch(`${ck.url}/healthz`);
    assert.equal(health.headers.get('cache-control'), null, 'outside /api the app sets no cache policy of its own');
  });
});

describe('the onSend hook', () => {
  test('a route\'s own Cache-Control and Content-Security-Policy are kept', async () => {
    const app = Fastify();
    app.addHook('onSend', addSecurityHeaders);
    app.get('/api/v1/x', async (_req, reply) => reply.header('cache-control', 'max-age=60').send({ ok: true }));
    app.get('/ui', async (_req, reply) => reply.header('content-security-policy', "default-src 'self'; img-src data:").type('text/html').send('<p>ui</p>'));
    const api = await app.inject('/api/v1/x');
    assert.equal(api.headers['cache-control'], 'max-age=60');
    assert.equal(api.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    const ui = await app.inject('/ui');
    assert.equal(ui.headers['content-security-policy'], "default-src 'self'; img-src data:");
    assert.equal(ui.headers['x-frame-options'], 'DENY');
    assert.equal(ui.headers['cache-control'], undefined);
    await app.close();
  });

  test('Strict-Transport-Security only on a request that came over TLS', async () => {
    const chain = makeChain('localhost');
    const app = Fastify({ https: { cert: chain.leafPem, key: chain.leafKeyPem } });
    app.addHook('onSend', addSecurityHeaders);
    app.get('/api/v1/x', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as AddressInfo).port;
      const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        httpsRequest({ host: '127.0.0.1', port, path: '/api/v1/x', ca: chain.rootPem + chain.intermediatePem, servername: 'localhost' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers));
        }).on('error', reject).end();
      });
      assert.equal(headers['strict-transport-security'], 'max-age=31536000');
      assert.equal(headers['x-frame-options'], 'DENY');
      assert.equal(headers['cache-control'], 'no-store');
      const plain = Fastify();
      plain.addHook('onSend', addSecurityHeaders);
      plain.get('/api/v1/x', async () => ({ ok: true }));
      assert.equal((await plain.inject('/api/v1/x')).headers['strict-transport-security'], undefined);
      await plain.close();
    } finally {
      await app.close();
    }
  });
});
