// dns-01 end to end against real Pebble, which resolves through the BIND 9 that certkeeper
// updates (RFC 2136 + TSIG) and, by forwarding, the PowerDNS that certkeeper writes through its
// API. BIND listens on 127.0.0.1 port 53 (only this test file uses that port), so the solver finds
// the zones' authoritative servers by walking NS records to their port-53 addresses, exactly as in
// production.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { createServer } from 'node:http';
import { startBind, type BindHandle } from '../harness/bind.js';
import { startPowerDns } from '../harness/powerdns.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { dnsQuery } from '../../src/dns/wire/dns-query.js';
import { manifest as rfc2136 } from '../../src/dns/providers/rfc2136/manifest.js';

const key = { name: 'certkeeper-e2e.', algorithm: 'hmac-sha256' as const, secret: randomBytes(32).toString('base64') };
const bindHost = '127.0.0.1';
const pdnsKey = randomBytes(16).toString('hex');
let bind: BindHandle;
let pdns: Awaited<ReturnType<typeof startPowerDns>>;
let pebble: PebbleHandle;
let ck: CertkeeperHandle;
let root: string;

async function txt(fqdn: string): Promise<string[]> {
  const res = await dnsQuery({ host: bindHost, port: 53 }, fqdn, 'TXT', { recursionDesired: false });
  return res.answers.filter((a) => a.type === 'TXT').map((a) => a.txt ?? '');
}

async function zone(zoneName: string, extra: Record<string, unknown> = {}) {
  const res = await ck.api('POST', '/api/v1/dns-zones', { properties: {
    zoneName, provider: 'rfc2136',
    settings: { nameserver: `${bindHost}:53`, tsigKeyName: key.name, tsigAlgorithm: key.algorithm },
    credentials: { tsigSecret: key.secret }, ...extra,
  } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function issue(name: string, commonName: string, sans: string[], challengeType = 'dns-01') {
  const res = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name, provider: 'pebble', commonName, subjectAlternativeNames: sans, challengeType } });
  assert.equal(res.status, 202, res.text);
  return res.body;
}

const settled = (b: any) => b.metadata.state !== 'PROVISIONING';

before(async () => {
  pdns = await startPowerDns({ zones: ['pdns.test'], apiKey: pdnsKey });
  bind = await startBind({
    listenAddress: bindHost,
    port: 53,
    zones: [
      { name: 'wild.test', updateKey: key },
      { name: 'delegated.test', updateKey: key },
      { name: 'source.test', records: ['_acme-challenge.www CNAME _acme-challenge.www.delegated.test.'] },
      { name: 'manual.test', updateKey: key },
      { name: 'broken.test', updateKey: key },
    ],
    forwardZones: [{ name: 'pdns.test', forwarders: [pdns.dnsAddress] }],
  });
  // http-01 at port 80, as in production: the manual-http-01 test serves the file there itself.
  pebble = await startPebble({ httpPort: 80, dnsServer: `${bindHost}:53` });
  root = await pebble.issuingRootPem();
  ck = await startCertkeeper({ CERTKEEPER_DNS_RESOLVERS: `${bindHost}:53` });
  const p = await ck.api('POST', '/api/v1/providers', { properties: { name: 'pebble', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
  assert.equal((await ck.waitFor(`/api/v1/providers/${p.body.id}`, settled)).metadata.state, 'AVAILABLE');
});

after(async () => {
  await ck?.stop();
  await pebble?.stop();
  await bind?.stop();
  await pdns?.stop();
});

describe('dns-01 through Pebble', () => {
  test('zones: credentials are checked at creation and never returned', async () => {
    const z = await zone('wild.test');
    assert.equal(z.metadata.state, 'AVAILABLE', z.metadata.message);
    assert.ok(!JSON.stringify(z).includes(key.secret));
    assert.equal(z.metadata.credentialsSet, true);
    await zone('delegated.test');
    const bad = await ck.api('POST', '/api/v1/dns-zones', { properties: { zoneName: 'manual.test', provider: 'rfc2136', settings: { nameserver: `${bindHost}:53`, tsigKeyName: key.name }, credentials: { tsigSecret: randomBytes(32).toString('base64') }, enabled: true } });
    assert.equal(bad.status, 201);
    assert.equal(bad.body.metadata.state, 'FAILED');
    assert.match(bad.body.metadata.message, /rfc2136/);
    assert.match(bad.body.metadata.message, /BADSIG|NOTAUTH|BADKEY/);
    assert.equal((await ck.api('DELETE', `/api/v1/dns-zones/${bad.body.id}`)).status, 204);
    const pz = await ck.api('POST', '/api/v1/dns-zones', { properties: { zoneName: 'pdns.test', provider: 'powerdns', settings: { apiUrl: pdns.apiUrl }, credentials: { apiKey: pdnsKey }, resolvers: [pdns.dnsAddress] } });
    assert.equal(pz.status, 201, pz.text);
    assert.equal(pz.body.metadata.state, 'AVAILABLE', pz.body.metadata.message);
    assert.ok(!pz.text.includes(pdnsKey));
  });

  test('a wildcard and its apex through rfc2136 on BIND 9: two TXT values on one name, then cleaned up', async () => {
    const ac = await issue('wild', '*.wild.test', ['wild.test']);
    const done = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, settled, 120_000);
    assert.equal(done.metadata.state, 'AVAILABLE', done.metadata.message);
    const cert = await ck.api('GET', `/api/v1/certificates/${done.metadata.lastIssuedCertificate}`);
    assert.deepEqual([...cert.body.metadata.subjectAlternativeNames].sort(), ['*.wild.test', 'wild.test']);
    assert.ok(root.includes('BEGIN CERTIFICATE'));
    assert.deepEqual(await txt('_acme-challenge.wild.test'), [], 'both records removed');
  });

  test('a certificate through the PowerDNS API', async () => {
    const ac = await issue('pdns', 'www.pdns.test', []);
    const done = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, settled, 120_000);
    assert.equal(done.metadata.state, 'AVAILABLE', done.metadata.message);
  });

  test('_acme-challenge delegated by CNAME into another zone', async () => {
    const ac = await issue('delegated', 'www.source.test', []);
    const done = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, settled, 120_000);
    assert.equal(done.metadata.state, 'AVAILABLE', done.metadata.message);
    assert.deepEqual(await txt('_acme-challenge.www.delegated.test'), [], 'cleaned up at the CNAME target');
  });

  test('names in no zone are refused, each listed', async () => {
    const res = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'uncovered', provider: 'pebble', commonName: 'ok.wild.test', subjectAlternativeNames: ['a.nozone.test', 'b.elsewhere.test'], challengeType: 'dns-01' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'names_not_covered');
    assert.deepEqual(res.body.errors.map((e: any) => e.value), ['a.nozone.test', 'b.elsewhere.test']);
  });

  test('manual-dns-01: validations, a premature verify says what is missing, publish, verify, issued', async () => {
    const ac = await issue('manual', 'www.manual.test', [], 'manual-dns-01');
    const waiting = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, (b: any) => b.metadata.state !== 'PROVISIONING', 60_000);
    assert.equal(waiting.metadata.state, 'AWAITING_VALIDATION', waiting.metadata.message);
    const v = await ck.api('GET', `/api/v1/auto-certificates/${ac.id}/validations`);
    assert.equal(v.body.total, 1);
    const item = v.body.items[0];
    assert.equal(item.identifier, 'www.manual.test');
    assert.equal(item.type, 'dns-01');
    assert.equal(item.recordName, '_acme-challenge.www.manual.test');
    assert.equal(item.recordType, 'TXT');
    assert.match(item.recordValue, /^[A-Za-z0-9_-]{43}$/);
    assert.match(item.instructions, /TXT/);
    assert.equal(item.httpPath, undefined);
    const early = await ck.api('POST', `/api/v1/auto-certificates/${ac.id}/verify`, {});
    assert.equal(early.status, 409, early.text);
    assert.equal(early.body.code, 'records_not_visible');
    assert.match(early.body.errors[0].message, new RegExp(`${bindHost.replace(/\./g, '\\.')}:53 does not answer TXT _acme-challenge\\.www\\.manual\\.test`));
    // The user publishes the record (here through our own RFC 2136 code, as nsupdate would).
    const publisher = await rfc2136.create({ zoneName: 'manual.test', settings: { nameserver: `${bindHost}:53`, tsigKeyName: key.name, tsigAlgorithm: key.algorithm }, credentials: { tsigSecret: key.secret }, allowPrivateAddresses: true });
    await publisher.appendTxt({ zone: 'manual.test', fqdn: item.recordName, value: item.recordValue, ttl: 60 });
    const verified = await ck.api('POST', `/api/v1/auto-certificates/${ac.id}/verify`, {});
    assert.equal(verified.status, 202, verified.text);
    const done = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, (b: any) => b.metadata.state === 'AVAILABLE' || b.metadata.state === 'FAILED', 120_000);
    assert.equal(done.metadata.state, 'AVAILABLE', done.metadata.message);
    await publisher.deleteTxt({ zone: 'manual.test', fqdn: item.recordName, value: item.recordValue, ttl: 60 });
  });

  test('manual-http-01: validations give the path and body; verify checks port 80 first; then issued', async () => {
    const ac = await issue('manual-http', 'site.manual.test', [], 'manual-http-01');
    const waiting = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, (b: any) => b.metadata.state !== 'PROVISIONING', 60_000);
    assert.equal(waiting.metadata.state, 'AWAITING_VALIDATION', waiting.metadata.message);
    const item = (await ck.api('GET', `/api/v1/auto-certificates/${ac.id}/validations`)).body.items[0];
    assert.equal(item.type, 'http-01');
    assert.match(item.httpPath, /^\/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+$/);
    assert.ok(item.httpBody.startsWith(item.httpPath.split('/').pop() + '.'));
    assert.equal(item.recordName, undefined);
    const early = await ck.api('POST', `/api/v1/auto-certificates/${ac.id}/verify`, {});
    assert.equal(early.status, 409, early.text);
    assert.match(early.body.errors[0].message, /site\.manual\.test/);
    // The user's web server on port 80 (site.manual.test resolves to 127.0.0.1 through BIND).
    const web = createServer((req, res) => {
      if (req.url === item.httpPath && /^site\.manual\.test(:80)?$/.test(req.headers.host ?? '')) res.end(item.httpBody);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => web.listen(80, '127.0.0.1', r));
    try {
      const ok = await ck.api('POST', `/api/v1/auto-certificates/${ac.id}/verify`, {});
      assert.equal(ok.status, 202, ok.text);
      const done = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, (b: any) => b.metadata.state === 'AVAILABLE' || b.metadata.state === 'FAILED', 120_000);
      assert.equal(done.metadata.state, 'AVAILABLE', done.metadata.message);
    } finally {
      await new Promise<void>((r) => web.close(() => r()));
    }
  });

  test('a failing provider leaves the auto certificate FAILED naming zone, provider and answer; earlier records are removed', async () => {
    // A zone registered with a wrong TSIG secret: enabled (so it covers its names) but FAILED.
    const z = await zone('broken.test', { credentials: { tsigSecret: randomBytes(32).toString('base64') } });
    assert.equal(z.metadata.state, 'FAILED');
    const ac = await issue('broken', 'a.wild.test', ['b.broken.test']);
    const done = await ck.waitFor(`/api/v1/auto-certificates/${ac.id}`, (b: any) => b.metadata.state === 'FAILED' || b.metadata.state === 'AVAILABLE', 120_000);
    assert.equal(done.metadata.state, 'FAILED');
    assert.match(done.metadata.message, /broken\.test/);
    assert.match(done.metadata.message, /rfc2136/);
    assert.match(done.metadata.message, /BADSIG|NOTAUTH|BADKEY/);
    assert.deepEqual(await txt('_acme-challenge.a.wild.test'), [], 'the record written before the failure was removed');
    const rows = await ck.server.ctx.db.kysely.selectFrom('challenges').selectAll().where('identifier', '=', 'a.wild.test').execute();
    assert.deepEqual(rows.map((r) => r.status), ['cleaned'], 'it had been written, then removed');
    assert.ok(!ck.logs().includes(key.secret), 'the TSIG secret is never logged');
  });
});
