// The Route 53 provider: the shared conformance suite against a route-checking, SigV4-verifying fake
// of the REST/XML API, the provider's own edges (optimistic concurrency, INSYNC wait, zone lookup),
// and the suite against real Route 53 when credentials are given.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { dnsProviderConformance } from './conformance.js';
import { manifest } from '../../src/dns/providers/route53/manifest.js';
import { createRoute53Provider, type Route53Tuning } from '../../src/dns/providers/route53/provider.js';
import { Route53Api } from '../../src/dns/providers/route53/client.js';
import { ProviderHttp, unquoteTxt } from '../../src/dns/providers/provider-http.js';
import type { ProviderInit } from '../../src/dns/provider-manifest.js';
import { FakeRoute53 } from './fakes/route53.js';

// The SDK warns once that its releases after January 2027 need Node 22 (the dependency is pinned below that).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const value = () => randomBytes(32).toString('base64url');
const wrongSecret = randomBytes(30).toString('base64');
const FAST: Route53Tuning = { pollIntervalMs: 5, syncTimeoutMs: 2000 };

function init(fake: FakeRoute53, creds: { accessKeyId?: string; secretAccessKey?: string } = {}, settings: Record<string, unknown> = {}, allowPrivateAddresses = true): ProviderInit {
  return {
    zoneName: fake.zone,
    settings: { endpoint: fake.server.url, ...settings },
    credentials: { accessKeyId: creds.accessKeyId ?? fake.accessKeyId, secretAccessKey: creds.secretAccessKey ?? fake.secretAccessKey },
    allowPrivateAddresses,
  };
}

async function stop(fake: FakeRoute53): Promise<void> {
  try {
    fake.server.assertClean();
  } finally {
    await fake.close();
  }
}

dnsProviderConformance('route53 (hosted zone looked up by name)', async () => {
  const fake = await FakeRoute53.start();
  const provider = createRoute53Provider(init(fake), FAST);
  return {
    provider,
    badProvider: createRoute53Provider(init(fake, { secretAccessKey: wrongSecret }), FAST),
    zone: fake.zone,
    lookup: async (fqdn) => fake.lookup(fqdn),
    secrets: [fake.secretAccessKey, wrongSecret],
    teardown: async () => {
      await provider.close();
      await stop(fake);
    },
  };
});

dnsProviderConformance('route53 (settings.hostedZoneId, region eu-west-1)', async () => {
  const fake = await FakeRoute53.start('example.org', 'eu-west-1');
  const settings = { hostedZoneId: `/hostedzone/${fake.hostedZoneId}`, region: 'eu-west-1' };
  return {
    provider: createRoute53Provider(init(fake, {}, settings), FAST),
    badProvider: createRoute53Provider(init(fake, { accessKeyId: 'AKIAWRONGWRONGWRONG0' }, settings), FAST),
    zone: fake.zone,
    lookup: async (fqdn) => fake.lookup(fqdn),
    secrets: [fake.secretAccessKey],
    teardown: async () => {
      assert.ok(!fake.server.log.some((e) => e.path.endsWith('/hostedzonesbyname')), 'no lookup with hostedZoneId');
      await stop(fake);
    },
  };
});

describe('route53 provider', () => {
  let fake: FakeRoute53;
  before(async () => {
    fake = await FakeRoute53.start();
  });
  after(() => stop(fake));
  const rec = (fqdn: string, v: string) => ({ zone: fake.zone, fqdn, value: v, ttl: 60 });

  test('the manifest builds the provider (default INSYNC timing)', async () => {
    const p = await manifest.create(init(fake));
    assert.equal(typeof p.appendTxt, 'function');
    assert.equal(manifest.credentialsOptional, true);
  });

  test('the SDK is not loaded until the first call', async () => {
    // A resolve hook that refuses the SDK: creating the provider must not trip it, the first call must.
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'certkeeper-r53-'));
    try {
      writeFileSync(join(dir, 'hooks.mjs'), "export async function resolve(s, c, next) { if (s === '@aws-sdk/client-route-53') throw new Error('the SDK was loaded'); return next(s, c); }\n");
      writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${join(dir, 'hooks.mjs')}`).href)});\n`);
      const script = [
        "const { manifest } = await import('./src/dns/providers/route53/manifest.ts');",
        "const p = await manifest.create({ zoneName: 'example.com', settings: { hostedZoneId: 'Z1', endpoint: 'http://127.0.0.1:9' }, credentials: {}, allowPrivateAddresses: true });",
        "console.log('created');",
        "await p.check('example.com').catch((e) => console.log(e.message));",
      ].join('\n');
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', join(dir, 'register.mjs'), '--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8' });
      assert.deepEqual(out.trim().split('\n'), ['created', 'route53: zone example.com: cannot load the AWS SDK (@aws-sdk/client-route-53): the SDK was loaded']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('wrong credentials: errors name the zone, HTTP 403 and AWS\'s code, never the secret', async () => {
    const err = await createRoute53Provider(init(fake, { secretAccessKey: wrongSecret }), FAST).check(fake.zone).then(() => null, (e: Error & { retryable?: boolean }) => e);
    assert.ok(err);
    assert.match(err.message, /^route53: zone example\.com: look up the hosted zone by name failed with HTTP 403: SignatureDoesNotMatch: The request signature we calculated does not match/);
    assert.equal(err.retryable, false);
    assert.ok(!err.message.includes(wrongSecret));
    await assert.rejects(createRoute53Provider(init(fake, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00' }), FAST).check(fake.zone), /HTTP 403: InvalidClientTokenId: The security token included in the request is invalid\./);
  });

  test('the public hosted zone is chosen over a private one of the same name', async () => {
    const p = createRoute53Provider(init(fake), FAST);
    const fqdn = `_acme-challenge.pub.${fake.zone}`;
    const v = value();
    await p.appendTxt(rec(fqdn, v));
    assert.deepEqual(fake.lookup(fqdn), [v]);
    assert.equal(fake.rrsets.get(fake.zones[1]!.id)!.size, 2, 'the private zone is untouched');
    await p.deleteTxt(rec(fqdn, v));
  });

  test('a hosted zone id of another zone fails check()', async () => {
    await assert.rejects(createRoute53Provider(init(fake, {}, { hostedZoneId: fake.zones[2]!.id }), FAST).check(fake.zone), new RegExp(`route53: zone example\\.com: hosted zone ${fake.zones[2]!.id} is not the zone example\\.com`));
  });

  test('changes wait for INSYNC, polling GetChange', async () => {
    fake.pendingPolls = 2;
    try {
      const p = createRoute53Provider(init(fake), FAST);
      const before = fake.server.log.length;
      await p.appendTxt(rec(`_acme-challenge.sync.${fake.zone}`, value()));
      const polls = fake.server.log.slice(before).filter((e) => e.path.startsWith('/2013-04-01/change/'));
      assert.equal(polls.length, 3, 'PENDING, PENDING, INSYNC');
    } finally {
      fake.pendingPolls = 1;
    }
  });

  test('a concurrent writer: the batch is refused, read again, and both values kept; its TTL too', async () => {
    const p = createRoute53Provider(init(fake), FAST);
    const fqdn = `_acme-challenge.race.${fake.zone}`;
    const mine = value();
    const theirs = value();
    fake.beforeNextChange = () => fake.seed(fqdn, [`"${theirs}"`], 120);
    await p.appendTxt(rec(fqdn, mine));
    assert.deepEqual(fake.lookup(fqdn).sort(), [mine, theirs].sort());
    assert.equal(fake.txtSet(fqdn)?.ttl, 120);
    const later = value();
    fake.beforeNextChange = () => fake.seed(fqdn, [`"${theirs}"`, `"${mine}"`, `"${later}"`], 120);
    await p.deleteTxt(rec(fqdn, mine));
    assert.deepEqual(fake.lookup(fqdn).sort(), [theirs, later].sort());
    const posts = fake.server.log.filter((e) => e.method === 'POST').slice(-4).map((e) => e.status);
    assert.deepEqual(posts, [400, 200, 400, 200]);
  });

  test('a value written by another tool as several strings still counts once', async () => {
    const p = createRoute53Provider(init(fake), FAST);
    const fqdn = `_acme-challenge.split.${fake.zone}`;
    const v = value();
    fake.seed(fqdn, [`"${v.slice(0, 20)}" "${v.slice(20)}"`]);
    await p.appendTxt(rec(fqdn, v));
    assert.equal(fake.txtSet(fqdn)?.values.length, 1);
    await p.deleteTxt(rec(fqdn, v));
    assert.equal(fake.txtSet(fqdn), undefined);
  });

  test('throttling is retried by the SDK', async () => {
    const p = createRoute53Provider(init(fake), FAST);
    fake.server.inject('GET', /\/rrset$/, { status: 400, headers: { 'content-type': 'text/xml' }, text: `<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>` });
    await p.check(fake.zone);
  });

  test('a loopback endpoint is refused unless private addresses are allowed', async () => {
    const before = fake.server.log.length;
    await assert.rejects(createRoute53Provider(init(fake, {}, {}, false), FAST).check(fake.zone), /route53: zone example\.com: .*CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1/);
    assert.equal(fake.server.log.length, before);
  });

  test('half a key pair fails at creation', () => {
    assert.throws(() => createRoute53Provider({ ...init(fake), credentials: { accessKeyId: 'AKIA' } }), /route53: zone example\.com: give both credentials\.accessKeyId and credentials\.secretAccessKey, or neither/);
  });
});

const liveKey = process.env.CERTKEEPER_LIVE_ROUTE53_ACCESS_KEY_ID;
const liveSecret = process.env.CERTKEEPER_LIVE_ROUTE53_SECRET_ACCESS_KEY;
const liveZone = process.env.CERTKEEPER_LIVE_ROUTE53_ZONE;
if (liveKey && liveSecret && liveZone) {
  dnsProviderConformance('route53 (live)', async () => {
    const settings = process.env.CERTKEEPER_LIVE_ROUTE53_HOSTED_ZONE_ID ? { hostedZoneId: process.env.CERTKEEPER_LIVE_ROUTE53_HOSTED_ZONE_ID } : {};
    const live: ProviderInit = { zoneName: liveZone, settings, credentials: { accessKeyId: liveKey, secretAccessKey: liveSecret }, allowPrivateAddresses: false };
    const api = new Route53Api({ code: 'route53', zoneName: liveZone, region: 'us-east-1', credentials: { accessKeyId: liveKey, secretAccessKey: liveSecret }, http: new ProviderHttp({ provider: 'route53', allowPrivateAddresses: false, secrets: [liveSecret] }) });
    const zoneId = process.env.CERTKEEPER_LIVE_ROUTE53_HOSTED_ZONE_ID ?? (await api.findHostedZones(liveZone)).find((z) => !z.private)?.id;
    assert.ok(zoneId, `a public hosted zone ${liveZone}`);
    return {
      provider: createRoute53Provider(live),
      badProvider: createRoute53Provider({ ...live, credentials: { accessKeyId: liveKey, secretAccessKey: wrongSecret } }),
      zone: liveZone,
      lookup: async (fqdn) => ((await api.getRecordSet(zoneId, fqdn, 'TXT', liveZone))?.values ?? []).map(unquoteTxt),
      secrets: [liveSecret, wrongSecret],
      teardown: () => api.close(),
    };
  });
} else {
  console.error('route53 live test not run: set CERTKEEPER_LIVE_ROUTE53_ACCESS_KEY_ID, _SECRET_ACCESS_KEY and _ZONE (optional _HOSTED_ZONE_ID) to run it against real Route 53');
}
