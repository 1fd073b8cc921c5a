// The IONOS Cloud DNS provider: the shared conformance suite against a route-checking fake of the
// API v1, the provider's own edges, and the same suite against the real API when credentials are given.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { dnsProviderConformance } from './conformance.js';
import { manifest } from '../../src/dns/providers/ionos/manifest.js';
import { createIonosProvider } from '../../src/dns/providers/ionos/provider.js';
import { IONOS_API_URL, IonosClient } from '../../src/dns/providers/ionos/client.js';
import { ProviderHttp, unquoteTxt } from '../../src/dns/providers/provider-http.js';
import type { ProviderInit } from '../../src/dns/provider-manifest.js';
import { FakeIonos } from './fakes/ionos.js';

const value = () => randomBytes(32).toString('base64url');
const wrongToken = `eyJ${randomBytes(24).toString('hex')}`;

function init(fake: FakeIonos, token: string, settings: Record<string, unknown> = {}, allowPrivateAddresses = true): ProviderInit {
  return { zoneName: fake.zone, settings: { apiUrl: fake.apiUrl, ...settings }, credentials: { token }, allowPrivateAddresses };
}

async function stop(fake: FakeIonos): Promise<void> {
  try {
    fake.server.assertClean();
  } finally {
    await fake.close();
  }
}

dnsProviderConformance('ionos', async () => {
  const fake = await FakeIonos.start();
  return {
    provider: await manifest.create(init(fake, fake.token)),
    badProvider: await manifest.create(init(fake, wrongToken)),
    zone: fake.zone,
    lookup: async (fqdn) => fake.lookup(fqdn),
    secrets: [fake.token, wrongToken],
    teardown: () => stop(fake),
  };
});

describe('ionos provider', () => {
  let fake: FakeIonos;
  before(async () => {
    fake = await FakeIonos.start();
  });
  after(() => stop(fake));
  const rec = (fqdn: string, v: string) => ({ zone: fake.zone, fqdn, value: v, ttl: 30 });

  test('a bad token: the error names the zone, HTTP 401 and IONOS\'s message and code', async () => {
    const err = await createIonosProvider(init(fake, wrongToken)).check(fake.zone).then(() => null, (e: Error) => e);
    assert.ok(err);
    assert.match(err.message, /^ionos: zone example\.com: .*HTTP 401: Unauthorized, wrong or no api key provided to process this request \(paas-auth-1\)$/);
  });

  test('names that merely contain ours, and the same name in a sub-zone, are left alone', async () => {
    const p = createIonosProvider(init(fake, fake.token));
    const v = value();
    fake.seed('_acme-challenge.www2', v);
    fake.seed('_acme-challenge.www', v, true);
    await p.appendTxt(rec(`_acme-challenge.www.${fake.zone}`, v));
    assert.deepEqual(fake.lookup(`_acme-challenge.www.${fake.zone}`), [v]);
    await p.deleteTxt(rec(`_acme-challenge.www.${fake.zone}`, v));
    assert.deepEqual(fake.lookup(`_acme-challenge.www.${fake.zone}`), []);
    assert.deepEqual(fake.lookup(`_acme-challenge.www2.${fake.zone}`), [v]);
    assert.equal([...fake.records.values()].filter((r) => r.fqdn === `_acme-challenge.www.foo.${fake.zone}`).length, 1);
  });

  test('the zone is picked by its exact name from the "contains" filter, or taken from settings.zoneId', async () => {
    const p = createIonosProvider(init(fake, fake.token, { zoneId: fake.zoneId }));
    const before = fake.server.log.length;
    await p.check(fake.zone);
    assert.ok(!fake.server.log.slice(before).some((e) => e.path === '/zones'), 'no lookup with settings.zoneId');
    await assert.rejects(createIonosProvider({ ...init(fake, fake.token), zoneName: 'example.net' }).check('example.net'), /ionos: zone example\.net: no such zone/);
  });

  test('TTL is at least 60; a quoted value written by another tool matches', async () => {
    const p = createIonosProvider(init(fake, fake.token));
    const v = value();
    fake.seed('_acme-challenge.q', `"${v}"`);
    await p.appendTxt(rec(`_acme-challenge.q.${fake.zone}`, v));
    assert.equal(fake.lookup(`_acme-challenge.q.${fake.zone}`).length, 1);
    await p.deleteTxt(rec(`_acme-challenge.q.${fake.zone}`, v));
    assert.deepEqual(fake.lookup(`_acme-challenge.q.${fake.zone}`), []);
    await p.appendTxt(rec(`_acme-challenge.t.${fake.zone}`, v));
    assert.equal([...fake.records.values()].find((r) => r.fqdn === `_acme-challenge.t.${fake.zone}`)?.properties.ttl, 60);
    await p.deleteTxt(rec(`_acme-challenge.t.${fake.zone}`, v));
  });

  test('429 and 503 with Retry-After are retried', async () => {
    const p = createIonosProvider(init(fake, fake.token));
    const v = value();
    fake.server.inject('POST', /\/records$/, { status: 429, headers: { 'retry-after': '0' }, json: { httpStatus: 429, messages: [{ errorCode: 'paas-rate-1', message: 'Too many requests' }] } });
    fake.server.inject('GET', /^\/records$/, { status: 503, headers: { 'retry-after': '0' }, text: 'unavailable' });
    await p.appendTxt(rec(`_acme-challenge.r.${fake.zone}`, v));
    assert.deepEqual(fake.lookup(`_acme-challenge.r.${fake.zone}`), [v]);
    await p.deleteTxt(rec(`_acme-challenge.r.${fake.zone}`, v));
  });

  test('a loopback API URL is refused unless private addresses are allowed', async () => {
    const before = fake.server.log.length;
    await assert.rejects(createIonosProvider(init(fake, fake.token, {}, false)).appendTxt(rec(`_acme-challenge.p.${fake.zone}`, value())), /^DnsProviderError: ionos: zone example\.com: .*CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1/);
    assert.equal(fake.server.log.length, before);
  });

  test('a name outside the zone is refused before any call', async () => {
    await assert.rejects(createIonosProvider(init(fake, fake.token)).appendTxt({ zone: fake.zone, fqdn: '_acme-challenge.example.net', value: value(), ttl: 60 }), /ionos: zone example\.com: _acme-challenge\.example\.net is not inside the zone/);
  });
});

const liveToken = process.env.CERTKEEPER_LIVE_IONOS_TOKEN;
const liveZone = process.env.CERTKEEPER_LIVE_IONOS_ZONE;
if (liveToken && liveZone) {
  dnsProviderConformance('ionos (live API)', async () => {
    const live: ProviderInit = { zoneName: liveZone, settings: {}, credentials: { token: liveToken }, allowPrivateAddresses: false };
    const client = new IonosClient(new ProviderHttp({ provider: 'ionos', allowPrivateAddresses: false, secrets: [liveToken] }), IONOS_API_URL, liveToken);
    const zoneId = (await client.findZones(liveZone)).find((z) => z.zoneName === liveZone)?.id;
    assert.ok(zoneId, `zone ${liveZone} is visible to the token`);
    return {
      provider: createIonosProvider(live),
      badProvider: createIonosProvider({ ...live, credentials: { token: wrongToken } }),
      zone: liveZone,
      lookup: async (fqdn) => (await client.listRecords(zoneId, undefined, liveZone)).filter((r) => r.type === 'TXT' && r.fqdn === fqdn).map((r) => unquoteTxt(r.content)),
      secrets: [liveToken, wrongToken],
      teardown: async () => {},
    };
  });
} else {
  console.error('ionos live test not run: set CERTKEEPER_LIVE_IONOS_TOKEN and CERTKEEPER_LIVE_IONOS_ZONE to run it against the real API');
}
