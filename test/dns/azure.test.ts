// The Azure DNS provider: the shared conformance suite (service principal, and managed identity)
// against a route-checking fake of Entra ID, IMDS and ARM; token caching, ETag races and the
// provider's edges; and the suite against the real Azure when credentials are given.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { dnsProviderConformance } from './conformance.js';
import { manifest } from '../../src/dns/providers/azure/manifest.js';
import { createAzureProvider } from '../../src/dns/providers/azure/provider.js';
import { AZURE_CLOUDS, AzureDnsClient, AzureTokenSource } from '../../src/dns/providers/azure/client.js';
import { ProviderHttp } from '../../src/dns/providers/provider-http.js';
import type { ProviderInit } from '../../src/dns/provider-manifest.js';
import { FakeAzure } from './fakes/azure.js';

const value = () => randomBytes(32).toString('base64url');
const wrongSecret = `xyz8Q~${randomBytes(24).toString('base64url')}`;

function spInit(fake: FakeAzure, secret = fake.clientSecret, settings: Record<string, unknown> = {}, allowPrivateAddresses = true): ProviderInit {
  return {
    zoneName: fake.zone,
    settings: { subscriptionId: fake.subscriptionId, resourceGroup: fake.resourceGroup, tenantId: fake.tenantId, clientId: fake.clientId, authorityHost: fake.server.url, resourceManagerUrl: fake.server.url, ...settings },
    credentials: { clientSecret: secret },
    allowPrivateAddresses,
  };
}

function miInit(fake: FakeAzure, clientId?: string): ProviderInit {
  return {
    zoneName: fake.zone,
    settings: { subscriptionId: fake.subscriptionId, resourceGroup: fake.resourceGroup, resourceManagerUrl: fake.server.url, imdsUrl: `${fake.server.url}/metadata/identity/oauth2/token`, ...(clientId ? { clientId } : {}) },
    credentials: {},
    allowPrivateAddresses: true,
  };
}

async function stop(fake: FakeAzure): Promise<void> {
  try {
    fake.server.assertClean();
  } finally {
    await fake.close();
  }
}

dnsProviderConformance('azure (service principal)', async () => {
  const fake = await FakeAzure.start();
  return {
    provider: await manifest.create(spInit(fake)),
    badProvider: await manifest.create(spInit(fake, wrongSecret)),
    zone: fake.zone,
    lookup: async (fqdn) => fake.lookup(fqdn),
    secrets: [fake.clientSecret, wrongSecret],
    teardown: async () => {
      assert.equal(fake.tokenRequests, 1 + 2, 'one token for the good provider, cached; one per failed call of the bad one');
      await stop(fake);
    },
  };
});

dnsProviderConformance('azure (managed identity)', async () => {
  const fake = await FakeAzure.start('example.org');
  return {
    provider: await manifest.create(miInit(fake, fake.identityClientId)),
    badProvider: await manifest.create(miInit(fake, randomUUID())),
    zone: fake.zone,
    lookup: async (fqdn) => fake.lookup(fqdn),
    secrets: [],
    teardown: () => stop(fake),
  };
});

describe('azure provider', () => {
  let fake: FakeAzure;
  before(async () => {
    fake = await FakeAzure.start();
  });
  after(() => stop(fake));
  const rec = (fqdn: string, v: string) => ({ zone: fake.zone, fqdn, value: v, ttl: 60 });

  test('a wrong secret: the error names the zone, HTTP 401 and Entra\'s error, without trace ids or the secret', async () => {
    const err = await createAzureProvider(spInit(fake, wrongSecret)).check(fake.zone).then(() => null, (e: Error) => e);
    assert.ok(err);
    assert.match(err.message, /^azure: zone example\.com: get a token for client [0-9a-f-]+ in tenant [0-9a-f-]+ \(POST \/[0-9a-f-]+\/oauth2\/v2\.0\/token\) failed with HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided\./);
    assert.ok(!/Trace ID/.test(err.message));
    assert.ok(!err.message.includes(wrongSecret));
  });

  test('a wrong resource group or zone fails check() with ARM\'s code', async () => {
    await assert.rejects(createAzureProvider(spInit(fake, fake.clientSecret, { resourceGroup: 'other-rg' })).check(fake.zone), /azure: zone example\.com: read the DNS zone .* HTTP 404: ResourceGroupNotFound: Resource group 'other-rg' could not be found\./);
    await assert.rejects(createAzureProvider({ ...spInit(fake), zoneName: 'example.net' }).appendTxt({ zone: 'example.net', fqdn: '_acme-challenge.example.net', value: value(), ttl: 60 }), /HTTP 404: ParentResourceNotFound/);
  });

  test('the token is cached until shortly before it expires, and renewed after that', async () => {
    let now = Date.now();
    const p = createAzureProvider(spInit(fake), { now: () => now });
    const before = fake.tokenRequests;
    await p.check(fake.zone);
    await p.check(fake.zone);
    assert.equal(fake.tokenRequests, before + 1);
    now += 3599_000 - 4 * 60_000; // within the 5-minute margin
    await p.check(fake.zone);
    assert.equal(fake.tokenRequests, before + 2);
  });

  test('a token ARM refuses (revoked) is replaced once', async () => {
    const p = createAzureProvider(spInit(fake));
    await p.check(fake.zone);
    fake.tokens.clear();
    const before = fake.tokenRequests;
    await p.check(fake.zone);
    assert.equal(fake.tokenRequests, before + 1);
  });

  test('a concurrent writer between read and write: 412, read again, both values kept', async () => {
    const p = createAzureProvider(spInit(fake));
    const fqdn = `_acme-challenge.race.${fake.zone}`;
    const mine = value();
    const theirs = value();
    fake.beforeNextWrite = () => fake.seed('_acme-challenge.race', [[theirs]]);
    await p.appendTxt(rec(fqdn, mine));
    assert.deepEqual(fake.lookup(fqdn).sort(), [mine, theirs].sort());
    const other = value();
    fake.beforeNextWrite = (sets) => {
      const cur = sets.get('_acme-challenge.race')!;
      sets.set('_acme-challenge.race', { ...cur, etag: randomUUID(), records: [...cur.records, [other]] });
    };
    await p.deleteTxt(rec(fqdn, mine));
    assert.deepEqual(fake.lookup(fqdn).sort(), [theirs, other].sort());
    const statuses = fake.server.log.filter((e) => e.path.endsWith('/TXT/_acme-challenge.race') && e.method !== 'GET').map((e) => e.status);
    assert.deepEqual(statuses, [412, 200, 412, 200], "each write lost once, then made over the new ETag");
  });

  test('a race lost every time ends as a retryable 412 error', async () => {
    const p = createAzureProvider(spInit(fake));
    const hook = (sets: Map<string, { etag: string; ttl: number; records: string[][] }>) => {
      sets.set('_acme-challenge.busy', { etag: randomUUID(), ttl: 60, records: [[value()]] });
      fake.beforeNextWrite = hook;
    };
    fake.beforeNextWrite = hook;
    try {
      const err = await p.appendTxt(rec(`_acme-challenge.busy.${fake.zone}`, value())).then(() => null, (e: Error & { retryable?: boolean }) => e);
      assert.ok(err);
      assert.equal(err.retryable, true);
      assert.match(err.message, /azure: zone example\.com: the TXT record set _acme-challenge\.busy kept changing under us \(HTTP 412 Precondition Failed 5 times\)/);
    } finally {
      fake.beforeNextWrite = undefined;
    }
  });

  test('other values (split long strings too), the TTL and the metadata of a record set are kept', async () => {
    const p = createAzureProvider(spInit(fake));
    const fqdn = `_acme-challenge.keep.${fake.zone}`;
    fake.seed('_acme-challenge.keep', [['a'.repeat(255), 'b']], { owner: 'someone' });
    const v = value();
    await p.appendTxt(rec(fqdn, v));
    const set = fake.recordSets.get('_acme-challenge.keep')!;
    assert.deepEqual(set.records, [['a'.repeat(255), 'b'], [v]]);
    assert.deepEqual(set.metadata, { owner: 'someone' });
    assert.equal(set.ttl, 3600);
    await p.deleteTxt(rec(fqdn, v));
    assert.deepEqual(fake.recordSets.get('_acme-challenge.keep')?.records, [['a'.repeat(255), 'b']]);
  });

  test('the zone apex is the relative name @', async () => {
    const p = createAzureProvider(spInit(fake));
    const v = value();
    await p.appendTxt(rec(fake.zone, v));
    assert.deepEqual(fake.recordSets.get('@')?.records, [[v]]);
    await p.deleteTxt(rec(fake.zone, v));
    assert.equal(fake.recordSets.has('@'), false);
  });

  test('429 from ARM with Retry-After is retried', async () => {
    const p = createAzureProvider(spInit(fake));
    fake.server.inject('GET', /\/dnsZones\/example\.com$/, { status: 429, headers: { 'retry-after': '0' }, json: { error: { code: 'TooManyRequests', message: 'The request is being throttled.' } } });
    await p.check(fake.zone);
  });

  test('loopback endpoints are refused unless private addresses are allowed; the default IMDS address is not', async () => {
    const before = fake.server.log.length;
    await assert.rejects(createAzureProvider(spInit(fake, fake.clientSecret, {}, false)).check(fake.zone), /^DnsProviderError: azure: zone example\.com: .*CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1/);
    await assert.rejects(createAzureProvider({ ...miInit(fake), allowPrivateAddresses: false }).check(fake.zone), /CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1/);
    assert.equal(fake.server.log.length, before);

    // The built-in IMDS address (link-local) is used as it is; no packet leaves: fetch is injected.
    const seen: string[] = [];
    const fetchStub: typeof fetch = async (input) => {
      const url = input instanceof URL ? input.href : String(input);
      seen.push(url);
      if (url.startsWith('http://169.254.169.254/')) return new Response(JSON.stringify({ access_token: 'tok', expires_in: '3600', token_type: 'Bearer' }), { status: 200 });
      return new Response(JSON.stringify({ name: 'example.com' }), { status: 200 });
    };
    const p = createAzureProvider({ zoneName: fake.zone, settings: { subscriptionId: 's', resourceGroup: 'g', resourceManagerUrl: 'https://203.0.113.10' }, credentials: {}, allowPrivateAddresses: false, fetch: fetchStub });
    await p.check(fake.zone);
    assert.equal(seen[0], 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2F203.0.113.10%2F');
    assert.equal(seen[1], 'https://203.0.113.10/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/dnsZones/example.com?api-version=2018-05-01');
  });

  test('settings are checked at creation', () => {
    assert.throws(() => createAzureProvider({ ...spInit(fake), settings: { resourceGroup: 'g' } }), /azure: zone example\.com: settings\.subscriptionId is required/);
    assert.throws(() => createAzureProvider({ ...spInit(fake), settings: { subscriptionId: 's', resourceGroup: 'g', tenantId: 't' } }), /settings\.clientId is required with credentials\.clientSecret/);
    assert.throws(() => createAzureProvider({ ...spInit(fake), settings: { subscriptionId: 's', resourceGroup: 'g', clientId: 'c' } }), /settings\.tenantId is required/);
    assert.throws(() => createAzureProvider({ ...spInit(fake, fake.clientSecret, { environment: 'Mars' }) }), /settings\.environment must be one of AzurePublicCloud, AzureChinaCloud, AzureUSGovernment/);
  });
});

const live = {
  subscriptionId: process.env.CERTKEEPER_LIVE_AZURE_SUBSCRIPTION_ID,
  resourceGroup: process.env.CERTKEEPER_LIVE_AZURE_RESOURCE_GROUP,
  tenantId: process.env.CERTKEEPER_LIVE_AZURE_TENANT_ID,
  clientId: process.env.CERTKEEPER_LIVE_AZURE_CLIENT_ID,
  clientSecret: process.env.CERTKEEPER_LIVE_AZURE_CLIENT_SECRET,
  zone: process.env.CERTKEEPER_LIVE_AZURE_ZONE,
};
if (live.subscriptionId && live.resourceGroup && live.tenantId && live.clientId && live.clientSecret && live.zone) {
  const { subscriptionId, resourceGroup, tenantId, clientId, clientSecret, zone } = live;
  dnsProviderConformance('azure (live)', async () => {
    const liveInit: ProviderInit = { zoneName: zone, settings: { subscriptionId, resourceGroup, tenantId, clientId }, credentials: { clientSecret }, allowPrivateAddresses: false };
    const http = new ProviderHttp({ provider: 'azure', allowPrivateAddresses: false, secrets: [clientSecret] });
    const cloud = AZURE_CLOUDS.AzurePublicCloud;
    const tokens = new AzureTokenSource(http, { kind: 'clientSecret', authorityHost: cloud.authorityHost, tenantId, clientId, clientSecret }, cloud.resourceManagerUrl);
    const client = new AzureDnsClient(http, tokens, cloud.resourceManagerUrl, subscriptionId, resourceGroup);
    return {
      provider: createAzureProvider(liveInit),
      badProvider: createAzureProvider({ ...liveInit, credentials: { clientSecret: wrongSecret } }),
      zone,
      lookup: async (fqdn) => ((await client.getTxt(zone, fqdn === zone ? '@' : fqdn.slice(0, -(zone.length + 1))))?.records ?? []).map((r) => r.join('')),
      secrets: [clientSecret, wrongSecret],
      teardown: async () => {},
    };
  });
} else {
  console.error('azure live test not run: set CERTKEEPER_LIVE_AZURE_SUBSCRIPTION_ID, _RESOURCE_GROUP, _TENANT_ID, _CLIENT_ID, _CLIENT_SECRET and _ZONE to run it against real Azure DNS');
}
