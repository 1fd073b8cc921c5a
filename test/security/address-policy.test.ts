// The private-address rule (SSRF): which addresses are refused, and that the HTTP clients for
// user-given URLs (ACME, DNS provider APIs, webhooks) re-check the address at connection time,
// so a name that resolves to 127.0.0.1 (DNS rebinding) never gets a request through.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { checkOutboundUrl, guardedLookup, isPrivateAddress, PrivateAddressError, type ResolveAll } from '../../src/lifecycle/address-policy.js';
import { guardedFetch } from '../../src/lifecycle/guarded-fetch.js';
import { createHttpTransport } from '../../src/acme/index.js';
import { AcmeTransportError } from '../../src/acme/problem.js';
import { WebhookNotifier } from '../../src/notify/webhook-notifier.js';
import type { Notification } from '../../src/notify/notification.js';

describe('isPrivateAddress', () => {
  test('loopback, private, link-local, CGNAT, unspecified and their IPv6 forms are refused', () => {
    const refused = [
      '127.0.0.1', '127.255.255.254', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.0.1', '192.168.255.255',
      '169.254.0.1', '169.254.169.254', '100.64.0.1', '100.127.255.255', '0.0.0.0', '0.1.2.3', '224.0.0.1', '255.255.255.255', '192.0.0.8',
      '::', '::1', '0:0:0:0:0:0:0:1', 'fc00::1', 'fd12:3456::1', 'fdff:ffff::1', 'fe80::1', 'FE80::1', 'febf:ffff::1', 'fec0::1', 'ff02::1',
      // IPv4-mapped (dotted and hex), IPv4-compatible, NAT64 and 6to4 forms of refused IPv4 addresses.
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.1.2.3', '::ffff:169.254.169.254', '0:0:0:0:0:ffff:a9fe:a9fe', '::ffff:0.0.0.0', '::ffff:100.64.0.1',
      '::127.0.0.1', '::7f00:1', '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::1', '2002:7f00:1::1', '2002:c0a8:101::1',
    ];
    for (const a of refused) assert.equal(isPrivateAddress(a), true, a);
    const allowed = ['8.8.8.8', '1.1.1.1', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.1', '169.253.255.255', '192.169.0.1',
      '2606:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', 'fbff::1', 'fe7f::1'];
    for (const a of allowed) assert.equal(isPrivateAddress(a), false, a);
  });

  test('checkOutboundUrl refuses such URLs unless allowed', async () => {
    await assert.rejects(checkOutboundUrl('https://127.0.0.1:14000/dir', 'properties.server', false), /CERTKEEPER_ALLOW_PRIVATE_ADDRESSES/);
    await assert.rejects(checkOutboundUrl('https://[::ffff:127.0.0.1]/dir', 'properties.server', false), /private|loopback/);
    await assert.rejects(checkOutboundUrl('https://[fe80::1]/dir', 'properties.server', false), /private|loopback/);
    await assert.rejects(checkOutboundUrl('https://localhost/dir', 'properties.server', false), /private|loopback/);
    assert.equal((await checkOutboundUrl('https://127.0.0.1:14000/dir', 'properties.server', true)).port, '14000');
  });
});

describe('guardedLookup', () => {
  const lookupOnce = (allowPrivate: boolean, resolve: ResolveAll, host: string, all: boolean) => new Promise<unknown>((res, rej) => {
    guardedLookup({ allowPrivate, resolve })(host, { all }, (err, address, family) => (err ? rej(err) : res(all ? address : { address, family })));
  });
  const to = (...addresses: string[]): ResolveAll => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  test('a name with any private address is refused; a public one passes, in both callback forms', async () => {
    await assert.rejects(lookupOnce(false, to('127.0.0.1'), 'evil.test', false), PrivateAddressError);
    await assert.rejects(lookupOnce(false, to('93.184.216.34', '10.0.0.7'), 'evil.test', true), /10\.0\.0\.7.*CERTKEEPER_ALLOW_PRIVATE_ADDRESSES/);
    await assert.rejects(lookupOnce(false, to('::ffff:127.0.0.1'), 'evil.test', true), PrivateAddressError);
    assert.deepEqual(await lookupOnce(false, to('93.184.216.34'), 'good.test', false), { address: '93.184.216.34', family: 4 });
    assert.deepEqual(await lookupOnce(false, to('93.184.216.34'), 'good.test', true), [{ address: '93.184.216.34', family: 4 }]);
    assert.deepEqual(await lookupOnce(true, to('127.0.0.1'), 'local.test', false), { address: '127.0.0.1', family: 4 });
  });

  test('IP literals are checked without resolving; the system resolver refuses localhost', async () => {
    const never: ResolveAll = async () => assert.fail('an IP literal is not resolved');
    await assert.rejects(lookupOnce(false, never, '127.0.0.1', false), PrivateAddressError);
    await assert.rejects(lookupOnce(false, never, '[::1]', true), PrivateAddressError);
    await assert.rejects(new Promise((res, rej) => guardedLookup({ allowPrivate: false })('localhost', { all: true }, (err, a) => (err ? rej(err) : res(a)))), PrivateAddressError);
  });
});

describe('connection-time checks of the HTTP clients', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  before(async () => {
    server = createServer((req, res) => {
      hits++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/gzip') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          res.end(gzipSync(JSON.stringify({ zipped: true })));
        } else if (req.url === '/redirect') {
          res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
          res.end();
        } else if (req.url === '/empty') {
          res.writeHead(204);
          res.end();
        } else if (req.url === '/slow') {
          setTimeout(() => res.end('late'), 2000);
        } else {
          res.writeHead(201, { 'content-type': 'application/json', 'x-echo': 'yes' });
          res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  // A name that resolved to a public address when it was checked and resolves to loopback now.
  let answers: string[] = [];
  const rebinding: ResolveAll = async () => [{ address: answers.shift() ?? '127.0.0.1', family: 4 }];

  test('guardedFetch refuses a name that resolves to 127.0.0.1 at connect time; nothing reaches the server', async () => {
    const before = hits;
    const f = guardedFetch({ allowPrivateAddresses: false, resolve: rebinding });
    answers = ['127.0.0.1'];
    await assert.rejects(f(`http://rebind.test:${port}/hook`, { method: 'POST', body: '{}' }), (err: any) => {
      assert.equal(err.name, 'TypeError');
      assert.ok(err.cause instanceof PrivateAddressError, String(err.cause));
      assert.match(err.cause.message, /rebind\.test resolves to 127\.0\.0\.1/);
      return true;
    });
    const system = guardedFetch({ allowPrivateAddresses: false });
    for (const url of [`http://localhost:${port}/`, `http://127.0.0.1:${port}/`, `http://[::ffff:127.0.0.1]:${port}/`, `http://0.0.0.0:${port}/`, `http://[::]:${port}/`]) {
      await assert.rejects(system(url), (err: any) => err.cause instanceof PrivateAddressError, url);
    }
    assert.equal(hits, before, 'no request reached the server');
  });

  test('the ACME transport refuses it too (names at connect time, IP literals before connecting)', async () => {
    const before = hits;
    answers = ['127.0.0.1'];
    const http = createHttpTransport({ lookup: guardedLookup({ allowPrivate: false, resolve: rebinding }), timeoutMs: 2000 });
    try {
      for (const url of [`http://acme.test:${port}/dir`, `http://127.0.0.1:${port}/dir`, `http://[::1]:${port}/dir`]) {
        await assert.rejects(http.request({ method: 'GET', url }), (err: unknown) => err instanceof AcmeTransportError && /loopback or private/.test(err.message), url);
      }
    } finally {
      http.close();
    }
    const open = createHttpTransport({ lookup: guardedLookup({ allowPrivate: true, resolve: rebinding }), timeoutMs: 2000 });
    try {
      assert.equal((await open.request({ method: 'GET', url: `http://acme.test:${port}/dir` })).status, 201, 'allowed: the same name connects');
    } finally {
      open.close();
    }
    assert.equal(hits, before + 1);
  });

  test('a webhook to a loopback name is refused without CERTKEEPER_ALLOW_PRIVATE_ADDRESSES', async () => {
    const before = hits;
    const n = new WebhookNotifier({ preset: 'generic', url: `http://localhost:${port}/hook`, secret: 'a-secret-of-16-chars' }, { allowPrivateAddresses: false });
    const notification: Notification = {
      deliveryId: 'd1', severity: 'info', title: 't', text: 'x',
      event: { id: '1', type: 'certificate.issued', createdAt: new Date().toISOString(), subject: { type: 'certificate', id: null }, message: 'm', data: {} },
    };
    await assert.rejects(n.send(notification, AbortSignal.timeout(5000), new Date()), /loopback or private/);
    assert.equal(hits, before);
  });

  test('when allowed, guardedFetch is a working fetch: body, headers, gzip, 204, no redirects followed, abort', async () => {
    const f = guardedFetch({ allowPrivateAddresses: true });
    const res = await f(`http://localhost:${port}/echo?q=1`, { method: 'PUT', headers: { 'x-api-key': 'k', 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-echo'), 'yes');
    const echo = await res.json() as any;
    assert.equal(echo.method, 'PUT');
    assert.equal(echo.url, '/echo?q=1');
    assert.equal(echo.body, '{"a":1}');
    assert.equal(echo.headers['x-api-key'], 'k');
    assert.equal(echo.headers['content-length'], '7');
    const bytes = await f(`http://127.0.0.1:${port}/bytes`, { method: 'POST', body: new TextEncoder().encode('héllo') });
    assert.equal(((await bytes.json()) as any).body, 'héllo');
    assert.deepEqual(await (await f(`http://127.0.0.1:${port}/gzip`)).json(), { zipped: true });
    const empty = await f(`http://127.0.0.1:${port}/empty`, { method: 'DELETE' });
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), '');
    const redirect = await f(`http://127.0.0.1:${port}/redirect`, { redirect: 'manual' });
    assert.equal(redirect.status, 302, 'the redirect is returned, not followed');
    await assert.rejects(f(`http://127.0.0.1:${port}/slow`, { signal: AbortSignal.timeout(100) }), (err: any) => err.name === 'TimeoutError');
    await assert.rejects(f(`http://127.0.0.1:1/`), (err: any) => err.name === 'TypeError' && err.cause?.code === 'ECONNREFUSED');
  });

  test('trusted origins (fixed endpoints such as Azure IMDS) are exempt; others are not', async () => {
    const f = guardedFetch({ allowPrivateAddresses: false, trustedOrigins: [`http://127.0.0.1:${port}`] });
    assert.equal((await f(`http://127.0.0.1:${port}/imds`)).status, 201);
    await assert.rejects(f(`http://localhost:${port}/imds`), (err: any) => err.cause instanceof PrivateAddressError);
  });
});
