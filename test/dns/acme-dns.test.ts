// The acme-dns provider. acme-dns keeps the two most recent values per registration and cannot
// delete, so the shared conformance suite (whose "deleting both empties the name" and "deleting one
// keeps the other" need a delete) cannot hold for it: this file asserts acme-dns's real semantics
// with the suite's shape — present, two values coexist, idempotence, check, bad credentials.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { manifest } from '../../src/dns/providers/acme-dns/manifest.js';
import { createAcmeDnsProvider } from '../../src/dns/providers/acme-dns/provider.js';
import type { DnsProvider } from '../../src/dns/dns-provider.js';
import type { ProviderInit } from '../../src/dns/provider-manifest.js';
import { FakeAcmeDns } from './fakes/acme-dns.js';

const value = () => randomBytes(32).toString('base64url');
const ZONE = 'example.com';
const FQDN = `_acme-challenge.${ZONE}`;
const rec = (v: string, fqdn = FQDN) => ({ zone: ZONE, fqdn, value: v, ttl: 60 });

function init(fake: FakeAcmeDns, over: { username?: string; password?: string; settings?: Record<string, unknown> } = {}, allowPrivateAddresses = true): ProviderInit {
  return {
    zoneName: ZONE,
    settings: { apiUrl: fake.apiUrl, subdomain: fake.subdomain, ...over.settings },
    credentials: { username: over.username ?? fake.username, password: over.password ?? fake.password },
    allowPrivateAddresses,
  };
}

describe('acme-dns provider (its own semantics: two latest values, no delete)', () => {
  let fake: FakeAcmeDns;
  let provider: DnsProvider;
  before(async () => {
    fake = await FakeAcmeDns.start();
  });
  after(async () => {
    try {
      fake.server.assertClean();
    } finally {
      await fake.close();
    }
  });
  // Each test starts from a fresh provider instance (its memory of the latest values is per instance).
  const fresh = async () => {
    provider = await manifest.create(init(fake));
    return provider;
  };

  test('present one value: visible; presenting it again writes nothing', async () => {
    const p = await fresh();
    const v = value();
    await p.appendTxt(rec(v));
    assert.ok(fake.lookup().includes(v));
    const writes = fake.writes;
    await p.appendTxt(rec(v));
    assert.equal(fake.writes, writes, 'idempotent: not sent again');
  });

  test('two values coexist (a wildcard and its apex); a repeated append does not push the other out', async () => {
    const p = await fresh();
    const a = value();
    const b = value();
    await p.appendTxt(rec(a));
    await p.appendTxt(rec(b));
    assert.deepEqual(fake.lookup().sort(), [a, b].sort());
    await p.appendTxt(rec(a));
    assert.deepEqual(fake.lookup().sort(), [a, b].sort(), 'a retried append of a keeps b');
    await Promise.all([p.appendTxt(rec(a)), p.appendTxt(rec(b))]);
    assert.deepEqual(fake.lookup().sort(), [a, b].sort(), 'concurrent repeats too');
  });

  test('a third value replaces the oldest', async () => {
    const p = await fresh();
    const [a, b, c] = [value(), value(), value()];
    await p.appendTxt(rec(a));
    await p.appendTxt(rec(b));
    await p.appendTxt(rec(c));
    assert.deepEqual(fake.lookup(), [b, c]);
    // a is gone from the server, so appending it again must be sent.
    await p.appendTxt(rec(a));
    assert.deepEqual(fake.lookup(), [c, a]);
  });

  test('deleteTxt is a no-op (acme-dns cannot delete): nothing is sent, the values stay', async () => {
    const p = await fresh();
    const v = value();
    await p.appendTxt(rec(v));
    const sent = fake.server.log.length;
    await p.deleteTxt(rec(v));
    await p.deleteTxt(rec(value()));
    assert.equal(fake.server.log.length, sent);
    assert.ok(fake.lookup().includes(v));
  });

  test('check() passes with good credentials and writes nothing', async () => {
    const p = await fresh();
    const before = [...fake.lookup()];
    const writes = fake.writes;
    await p.check(ZONE);
    assert.equal(fake.writes, writes);
    assert.deepEqual(fake.lookup(), before);
    assert.deepEqual(fake.server.log.slice(-2).map((e) => `${e.method} ${e.path} ${e.status}`), ['GET /health 200', 'POST /update 400']);
  });

  test('bad credentials fail check() and appendTxt with an error that names the provider, zone and status, and no secret', async () => {
    const wrongPassword = randomBytes(30).toString('base64url');
    const bads = [
      await manifest.create(init(fake, { password: wrongPassword })),
      await manifest.create(init(fake, { username: randomUUID() })),
      await manifest.create(init(fake, { settings: { subdomain: randomUUID() } })),
    ];
    const before = [...fake.lookup()];
    for (const bad of bads) {
      for (const call of [() => bad.check(ZONE), () => bad.appendTxt(rec(value()))]) {
        const err = await call().then(() => null, (e: Error) => e);
        assert.ok(err, 'the call failed');
        assert.equal(err.name, 'DnsProviderError');
        assert.match(err.message, /^acme-dns: zone example\.com: .*HTTP 401: forbidden/);
        for (const secret of [fake.password, wrongPassword]) {
          assert.ok(!err.message.includes(secret), `the error leaks a secret: ${err.message}`);
          assert.ok(!JSON.stringify(err).includes(secret));
        }
      }
    }
    assert.deepEqual(fake.lookup(), before);
  });

  test('an unhealthy server fails check()', async () => {
    const p = createAcmeDnsProvider(init(fake), { maxRetryDelayMs: 0 });
    fake.healthy = false;
    try {
      await assert.rejects(p.check(ZONE), /^DnsProviderError: acme-dns: zone example\.com: check the server health \(GET \/health\) failed with HTTP 503/);
    } finally {
      fake.healthy = true;
    }
  });

  test('with fulldomain set, a name of another registration is refused', async () => {
    const fulldomain = `${fake.subdomain}.auth.example.org`;
    const p = createAcmeDnsProvider(init(fake, { settings: { fulldomain } }));
    await p.appendTxt({ zone: 'auth.example.org', fqdn: fulldomain, value: value(), ttl: 60 });
    await p.appendTxt(rec(value()));
    await assert.rejects(p.appendTxt({ zone: 'auth.example.org', fqdn: `${randomUUID()}.auth.example.org`, value: value(), ttl: 60 }), /acme-dns: zone auth\.example\.org: .* belongs to another acme-dns registration/);
  });

  test('a loopback API URL is refused unless private addresses are allowed', async () => {
    const sent = fake.server.log.length;
    await assert.rejects(createAcmeDnsProvider(init(fake, {}, false)).appendTxt(rec(value())), /^DnsProviderError: acme-dns: zone example\.com: .*CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1/);
    assert.equal(fake.server.log.length, sent);
  });

  test('missing settings fail at creation', () => {
    assert.throws(() => createAcmeDnsProvider({ ...init(fake), settings: { subdomain: 'x' } }), /acme-dns: zone example\.com: settings\.apiUrl is required/);
    assert.throws(() => createAcmeDnsProvider({ ...init(fake), settings: { apiUrl: fake.apiUrl } }), /acme-dns: zone example\.com: settings\.subdomain is required/);
  });
});

// Live: acme-dns has no read API, so the live test checks what it can: check(), an update, and
// that wrong credentials are refused.
const live = {
  apiUrl: process.env.CERTKEEPER_LIVE_ACMEDNS_API_URL,
  subdomain: process.env.CERTKEEPER_LIVE_ACMEDNS_SUBDOMAIN,
  username: process.env.CERTKEEPER_LIVE_ACMEDNS_USERNAME,
  password: process.env.CERTKEEPER_LIVE_ACMEDNS_PASSWORD,
};
if (live.apiUrl && live.subdomain && live.username && live.password) {
  const { apiUrl, subdomain, username, password } = live;
  test('acme-dns (live server): check, update, wrong credentials refused', async () => {
    const liveInit: ProviderInit = { zoneName: ZONE, settings: { apiUrl, subdomain }, credentials: { username, password }, allowPrivateAddresses: false };
    const p = createAcmeDnsProvider(liveInit);
    await p.check(ZONE);
    await p.appendTxt(rec(value()));
    const bad = createAcmeDnsProvider({ ...liveInit, credentials: { username, password: randomBytes(30).toString('base64url') } });
    await assert.rejects(bad.check(ZONE), /acme-dns: .*HTTP 401/);
  });
} else {
  console.error('acme-dns live test not run: set CERTKEEPER_LIVE_ACMEDNS_API_URL, _SUBDOMAIN, _USERNAME and _PASSWORD to run it against a real acme-dns server');
}
