// The Cloudflare provider: the shared conformance suite against a route-checking fake of the API v4,
// the provider's own edges, and the same suite against the real API when credentials are given.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { dnsProviderConformance } from './conformance.js';
import { manifest } from '../../src/dns/providers/cloudflare/manifest.js';
import { createCloudflareProvider } from '../../src/dns/providers/cloudflare/provider.js';
import { CloudflareClient } from '../../src/dns/providers/cloudflare/client.js';
import { ProviderHttp, unquoteTxt } from '../../src/dns/providers/provider-http.js';
import type { ProviderInit } from '../../src/dns/provider-manifest.js';
import { FakeCloudflare } from './fakes/cloudflare.js';

const value = () => randomBytes(32).toString('base64url');
const wrongToken = randomBytes(20).toString('base64url');

function init(fake: FakeCloudflare, token: string, settings: Record<string, unknown> = {}, allowPrivateAddresses = true): ProviderInit {
  return { zoneName: fake.zone, settings: { apiUrl: fake.apiUrl, ...settings }, credentials: { apiToken: token }, allowPrivateAddresses };
}

async function stop(fake: FakeCloudflare): Promise<void> {
  try {
    fake.server.assertClean();
  } finally {
    await fake.close();
  }
}

dnsProviderConformance('cloudflare (zone looked up by name)', async () => {
  const fake = await FakeCloudflare.start();
  return {
    provider: await manifest.create(init(fake, fake.token)),
    badProvider: await manifest.create(init(fake, wrongToken)),
    zone: fake.zone,
    lookup: async (fqdn) => fake.lookup(fqdn),
    secrets: [fake.token, wrongToken],
    teardown: () => stop(fake),
  };
});

dnsProviderConformance('cloudflare (settings.zoneId)', async () => {
  const fake = await FakeCloudflare.start('example.org');
  return {
    provider: await manifest.create(init(fake, fake.token, { zoneId: fake.zoneId })),
    badProvider: await manifest.create(init(fake, wrongToken, { zoneId: fake.zoneId })),
    zone: fake.zone,
    lookup: async (fqdn) => fake.lookup(fqdn),
    secrets: [fake.token, wrongToken],
    teardown: async () => {
      assert.ok(!fake.server.log.some((e) => e.path === '/client/v4/zones'), 'no lookup by name when zoneId is set');
      await stop(fake);
    },
  };
});

describe('cloudflare provider', () => {
  let fake: FakeCloudflare;
  before(async () => {
    fake = await FakeCloudflare.start();
  });
  after(() => stop(fake));
  const rec = (fqdn: string, v: string) => ({ zone: fake.zone, fqdn, value: v, ttl: 30 });

  test('an error names the zone, the HTTP status and Cloudflare\'s message, not the token', async () => {
    const bad = createCloudflareProvider(init(fake, wrongToken));
    const err = await bad.check(fake.zone).then(() => null, (e: Error) => e);
    assert.ok(err);
    assert.match(err.message, /^cloudflare: zone example\.com: .*HTTP 403: Authentication error \(code 10000\)/);
    assert.equal((err as { retryable?: boolean }).retryable, false);
    assert.ok(!err.message.includes(wrongToken));
  });

  test('a TTL below Cloudflare\'s minimum is raised to 60 and content is sent quoted', async () => {
    const p = createCloudflareProvider(init(fake, fake.token));
    const fqdn = `_acme-challenge.ttl.${fake.zone}`;
    const v = value();
    await p.appendTxt(rec(fqdn, v));
    const stored = [...fake.records.values()].find((r) => r.name === fqdn);
    assert.equal(stored?.ttl, 60);
    assert.equal(stored?.content, `"${v}"`);
    await p.deleteTxt(rec(fqdn, v));
  });

  test('a record written unquoted by another tool counts as the same value; other values stay', async () => {
    const p = createCloudflareProvider(init(fake, fake.token));
    const fqdn = `_acme-challenge.legacy.${fake.zone}`;
    const mine = value();
    fake.seed(fqdn, mine);
    fake.seed(fqdn, '"someone-else"');
    await p.appendTxt(rec(fqdn, mine));
    assert.equal(fake.lookup(fqdn).filter((v) => v === mine).length, 1, 'present already: nothing created');
    await p.deleteTxt(rec(fqdn, mine));
    assert.deepEqual(fake.lookup(fqdn), ['someone-else']);
  });

  test('settings.zoneId of another zone fails check() with both names', async () => {
    const p = createCloudflareProvider({ ...init(fake, fake.token, { zoneId: fake.zoneId }), zoneName: 'example.net' });
    await assert.rejects(p.check('example.net'), /^DnsProviderError: cloudflare: zone example\.net: settings\.zoneId [0-9a-f]+ is the zone example\.com, not example\.net$/);
  });

  test('a zone the token cannot see is a clear error', async () => {
    const p = createCloudflareProvider({ ...init(fake, fake.token), zoneName: 'example.net' });
    await assert.rejects(p.check('example.net'), /cloudflare: zone example\.net: no such zone in the account the API token sees/);
  });

  test('429 with Retry-After is retried; persistent 5xx ends as a retryable error', async () => {
    const p = createCloudflareProvider(init(fake, fake.token));
    const fqdn = `_acme-challenge.retry.${fake.zone}`;
    const v = value();
    fake.server.inject('GET', /\/dns_records$/, { status: 429, headers: { 'retry-after': '0' }, json: { success: false, errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }] } });
    await p.appendTxt(rec(fqdn, v));
    assert.deepEqual(fake.lookup(fqdn), [v]);
    const statuses = fake.server.log.filter((e) => e.path.endsWith('/dns_records') && e.method === 'GET').slice(-2).map((e) => e.status);
    assert.deepEqual(statuses, [429, 200]);

    fake.server.inject('DELETE', /\/dns_records\//, { status: 503, headers: { 'retry-after': '0' }, text: '<html>Service Unavailable</html>' }, 4);
    const err = await p.deleteTxt(rec(fqdn, v)).then(() => null, (e: Error & { retryable?: boolean; opts?: { status?: number } }) => e);
    assert.ok(err);
    assert.equal(err.retryable, true);
    assert.equal(err.opts?.status, 503);
    assert.match(err.message, /HTTP 503: <html>Service Unavailable<\/html>/);
    await p.deleteTxt(rec(fqdn, v));
    assert.deepEqual(fake.lookup(fqdn), []);
  });

  test('a loopback API URL is refused unless private addresses are allowed', async () => {
    const before = fake.server.log.length;
    const p = createCloudflareProvider(init(fake, fake.token, {}, false));
    await assert.rejects(p.check(fake.zone), /^DnsProviderError: cloudflare: zone example\.com: .*CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1/);
    assert.equal(fake.server.log.length, before, 'no request was sent');
  });

  test('an aborted signal stops the call', async () => {
    const p = createCloudflareProvider(init(fake, fake.token));
    const ac = new AbortController();
    ac.abort(new Error('stopped by the caller'));
    await assert.rejects(p.appendTxt(rec(`_acme-challenge.abort.${fake.zone}`, value()), ac.signal), /stopped by the caller/);
  });

  test('a malformed apiUrl or a missing token fails at creation', () => {
    assert.throws(() => createCloudflareProvider(init(fake, fake.token, { apiUrl: 'not a url' })), /cloudflare: zone example\.com: settings\.apiUrl is not a URL/);
    assert.throws(() => createCloudflareProvider(init(fake, '')), /cloudflare: zone example\.com: credentials\.apiToken is required/);
  });
});

// Live: the same suite against the real API, only with credentials; never reported as a pass otherwise.
const liveToken = process.env.CERTKEEPER_LIVE_CLOUDFLARE_TOKEN;
const liveZone = process.env.CERTKEEPER_LIVE_CLOUDFLARE_ZONE;
if (liveToken && liveZone) {
  dnsProviderConformance('cloudflare (live API)', async () => {
    const live: ProviderInit = { zoneName: liveZone, settings: {}, credentials: { apiToken: liveToken }, allowPrivateAddresses: false };
    const provider = createCloudflareProvider(live);
    const client = new CloudflareClient(new ProviderHttp({ provider: 'cloudflare', allowPrivateAddresses: false, secrets: [liveToken] }), 'https://api.cloudflare.com/client/v4', liveToken);
    const zones = await client.findZones(liveZone);
    const zoneId = zones.find((z) => z.name === liveZone)?.id;
    assert.ok(zoneId, `zone ${liveZone} is visible to the token`);
    return {
      provider,
      badProvider: createCloudflareProvider({ ...live, credentials: { apiToken: wrongToken } }),
      zone: liveZone,
      lookup: async (fqdn) => (await client.listTxt(zoneId, fqdn, liveZone)).map((r) => unquoteTxt(r.content)),
      secrets: [liveToken, wrongToken],
      teardown: async () => {},
    };
  });
} else {
  console.error('cloudflare live test not run: set CERTKEEPER_LIVE_CLOUDFLARE_TOKEN and CERTKEEPER_LIVE_CLOUDFLARE_ZONE to run it against the real API');
}
