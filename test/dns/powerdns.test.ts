// The `powerdns` provider against a real pdns_server (Debian pdns-server + gsqlite3): the shared
// conformance suite, reading back through DNS as a CA would, plus what is special to PowerDNS.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { DnsProviderError, type DnsProvider, type TxtRecord } from '../../src/dns/dns-provider.js';
import type { ProviderInit } from '../../src/dns/provider-manifest.js';
import { quoteTxt, unquoteTxt, zoneId } from '../../src/dns/providers/powerdns/client.js';
import { manifest } from '../../src/dns/providers/powerdns/manifest.js';
import { createPowerDnsProvider, type PowerDnsTuning } from '../../src/dns/providers/powerdns/provider.js';
import { startPowerDns, type PowerDnsHandle } from '../harness/powerdns.js';
import { dnsProviderConformance } from './conformance.js';

const ZONE = 'certkeeper-pdns.test';
const API_KEY = `pdns-test-key-${randomBytes(12).toString('hex')}`;
const WRONG_KEY = `pdns-wrong-key-${randomBytes(12).toString('hex')}`;

// One pdns_server for the whole file, started by whichever suite needs it first.
let started: Promise<PowerDnsHandle> | undefined;
const pdns = (): Promise<PowerDnsHandle> => (started ??= startPowerDns({ zones: [ZONE], apiKey: API_KEY }));
after(async () => {
  const handle = await started?.catch(() => undefined);
  await handle?.stop();
});

function init(apiUrl: string, apiKey: string, extra: Partial<ProviderInit> = {}): ProviderInit {
  return { zoneName: ZONE, settings: { apiUrl, serverId: 'localhost' }, credentials: { apiKey }, allowPrivateAddresses: true, ...extra };
}

async function provider(apiKey = API_KEY, extra: Partial<ProviderInit> = {}, tuning?: PowerDnsTuning): Promise<DnsProvider> {
  const { apiUrl } = await pdns();
  return tuning ? await createPowerDnsProvider(init(apiUrl, apiKey, extra), tuning) : await manifest.create(init(apiUrl, apiKey, extra));
}

/** The TXT values at `fqdn` as pdns serves them over DNS (each record's strings joined). */
async function lookupTxt(fqdn: string): Promise<string[]> {
  // A fresh resolver each time: c-ares may cache answers (negative ones too) per channel.
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([(await pdns()).dnsAddress]);
  try {
    return (await resolver.resolveTxt(fqdn)).map((parts) => parts.join(''));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw err;
  }
}

/** The TXT RRset at `fqdn` as the API holds it (TTL and disabled records included). */
async function apiRrset(fqdn: string): Promise<{ ttl: number; records: { content: string; disabled: boolean }[] } | undefined> {
  const { apiUrl } = await pdns();
  const res = await fetch(`${apiUrl}/api/v1/servers/localhost/zones/${ZONE}.`, { headers: { 'X-API-Key': API_KEY } });
  assert.equal(res.status, 200);
  const zone = (await res.json()) as { rrsets: { name: string; type: string; ttl: number; records: { content: string; disabled: boolean }[] }[] };
  return zone.rrsets.find((r) => r.name === `${fqdn}.` && r.type === 'TXT');
}

/** A REPLACE of the TXT RRset at `fqdn` made directly through the API: another writer. */
async function foreignReplace(fqdn: string, records: { content: string; disabled: boolean }[]): Promise<void> {
  const { apiUrl } = await pdns();
  const res = await fetch(`${apiUrl}/api/v1/servers/localhost/zones/${ZONE}.`, {
    method: 'PATCH',
    headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({ rrsets: [{ name: `${fqdn}.`, type: 'TXT', ttl: 60, changetype: 'REPLACE', records }] }),
  });
  assert.equal(res.status, 204, await res.text());
}

const value = (): string => randomBytes(32).toString('base64url');
const name = (label: string): string => `_acme-challenge.${label}-${randomBytes(3).toString('hex')}.${ZONE}`;
const rec = (fqdn: string, v: string, ttl = 60): TxtRecord => ({ zone: ZONE, fqdn, value: v, ttl });

dnsProviderConformance('powerdns', async () => ({
  provider: await provider(),
  zone: ZONE,
  lookup: lookupTxt,
  badProvider: await provider(WRONG_KEY),
  secrets: [WRONG_KEY, API_KEY],
  teardown: async () => {},
}));

describe('powerdns: provider specifics', () => {
  test('a wrong API key: the error names HTTP 401 and says the key was refused, without the key', async () => {
    const bad = await provider(WRONG_KEY);
    for (const call of [() => bad.check(ZONE), () => bad.appendTxt(rec(name('bad'), value())), () => bad.deleteTxt(rec(name('bad'), value()))]) {
      const err = await call().then(() => assert.fail('the call succeeded'), (e: unknown) => e);
      assert.ok(err instanceof DnsProviderError, String(err));
      assert.match(err.message, /^powerdns: /);
      assert.match(err.message, /401/);
      assert.match(err.message, /API key was refused/);
      assert.match(err.message, new RegExp(ZONE.replace(/\./g, '\\.')), 'names the zone');
      assert.equal(err.opts.status, 401);
      assert.equal(err.retryable, false);
      assert.ok(!err.message.includes(WRONG_KEY) && !err.message.includes(API_KEY), err.message);
    }
  });

  test('two concurrent appendTxt of different values on one name both survive (one provider and two)', async () => {
    const [p1, p2] = [await provider(), await provider()];
    const fqdn = name('race');
    const values = [value(), value(), value(), value()];
    await Promise.all(values.map((v, i) => (i % 2 === 0 ? p1 : p2).appendTxt(rec(fqdn, v))));
    assert.deepEqual((await lookupTxt(fqdn)).sort(), [...values].sort());
    await Promise.all(values.slice(0, 3).map((v, i) => (i % 2 === 0 ? p2 : p1).deleteTxt(rec(fqdn, v))));
    assert.deepEqual(await lookupTxt(fqdn), [values[3]]);
    await p1.deleteTxt(rec(fqdn, values[3] ?? ''));
    assert.deepEqual(await lookupTxt(fqdn), []);
  });

  test('another writer that undoes our PATCH: the re-read notices and the read-modify-write runs again', async () => {
    const fqdn = name('clobber');
    const ours = value();
    const theirs = value();
    let patches = 0;
    // After our first PATCH, a writer that read the RRset before it REPLACEs it with its own value only.
    const racingFetch: typeof fetch = async (input, reqInit) => {
      const res = await fetch(input, reqInit);
      if (reqInit?.method === 'PATCH' && ++patches === 1) await foreignReplace(fqdn, [{ content: quoteTxt(theirs), disabled: false }]);
      return res;
    };
    const p = await provider(API_KEY, { fetch: racingFetch }, { retryDelayMs: 5 });
    await p.appendTxt(rec(fqdn, ours));
    assert.equal(patches, 2, 'one PATCH undone, one that stuck');
    assert.deepEqual((await lookupTxt(fqdn)).sort(), [ours, theirs].sort(), 'ours added to theirs, not over it');
    await p.deleteTxt(rec(fqdn, ours));
    await p.deleteTxt(rec(fqdn, theirs));
    assert.deepEqual(await lookupTxt(fqdn), []);
  });

  test('a writer that always undoes our PATCH: a retryable error after the bounded attempts', async () => {
    const fqdn = name('stubborn');
    const theirs = value();
    let patches = 0;
    const racingFetch: typeof fetch = async (input, reqInit) => {
      const res = await fetch(input, reqInit);
      if (reqInit?.method === 'PATCH') {
        patches++;
        await foreignReplace(fqdn, [{ content: quoteTxt(theirs), disabled: false }]);
      }
      return res;
    };
    const p = await provider(API_KEY, { fetch: racingFetch }, { maxAttempts: 3, retryDelayMs: 5 });
    const err = await p.appendTxt(rec(fqdn, value())).then(() => assert.fail('succeeded'), (e: unknown) => e);
    assert.ok(err instanceof DnsProviderError);
    assert.match(err.message, /did not stick after 3 attempts/);
    assert.equal(err.retryable, true);
    assert.equal(patches, 3);
    assert.deepEqual(await lookupTxt(fqdn), [theirs]);
    await (await provider()).deleteTxt(rec(fqdn, theirs));
  });

  test('other values stay exactly as they were, disabled ones included; the TTL comes from the record', async () => {
    const fqdn = name('keep');
    const foreign = { content: quoteTxt('v=spf1 -all'), disabled: false };
    const hidden = { content: quoteTxt('a "quoted" \\ value'), disabled: true };
    await foreignReplace(fqdn, [foreign, hidden]);
    const p = await provider();
    const v = value();
    await p.appendTxt(rec(fqdn, v, 123));
    let rrset = await apiRrset(fqdn);
    assert.equal(rrset?.ttl, 123);
    assert.deepEqual(rrset?.records.map((r) => [unquoteTxt(r.content), r.disabled]).sort(), [['v=spf1 -all', false], ['a "quoted" \\ value', true], [v, false]].sort());
    assert.deepEqual((await lookupTxt(fqdn)).sort(), ['v=spf1 -all', v].sort());
    await p.deleteTxt(rec(fqdn, v));
    rrset = await apiRrset(fqdn);
    assert.deepEqual(rrset?.records.map((r) => [unquoteTxt(r.content), r.disabled]).sort(), [['v=spf1 -all', false], ['a "quoted" \\ value', true]].sort());
    await foreignReplace(fqdn, []);
  });

  test('a zone that does not exist on the server: a clear error', async () => {
    const p = await provider();
    const absent = 'absent-zone.test';
    for (const call of [() => p.check(absent), () => p.appendTxt({ zone: absent, fqdn: `_acme-challenge.${absent}`, value: value(), ttl: 60 })]) {
      const err = await call().then(() => assert.fail('succeeded'), (e: unknown) => e);
      assert.ok(err instanceof DnsProviderError);
      assert.match(err.message, /^powerdns: .*zone absent-zone\.test does not exist on the PowerDNS server 'localhost' at http:\/\/127\.0\.0\.1:\d+ \(HTTP 404/);
      assert.equal(err.opts.status, 404);
    }
  });

  test('a name outside the zone is refused before any request', async () => {
    const err = await (await provider()).appendTxt({ zone: ZONE, fqdn: '_acme-challenge.example.org', value: value(), ttl: 60 }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof DnsProviderError);
    assert.match(err.message, /not inside zone/);
  });

  test('an aborted signal rejects with its reason', async () => {
    const p = await provider();
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await assert.rejects(p.appendTxt(rec(name('abort'), value()), ac.signal), /stop now/);
  });

  test('an unreachable server: a retryable error naming the zone and the URL', async () => {
    const { freePort } = await import('../harness/ports.js');
    const port = await freePort();
    const p = await manifest.create(init(`http://127.0.0.1:${port}`, API_KEY));
    const err = await p.check(ZONE).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof DnsProviderError);
    assert.match(err.message, new RegExp(`cannot reach the PowerDNS API at http://127\\.0\\.0\\.1:${port}`));
    assert.equal(err.retryable, true);
  });
});

describe('powerdns: address policy and settings', () => {
  const refuses = async (apiUrl: string, tuning: PowerDnsTuning = {}): Promise<DnsProviderError> => {
    const err = await Promise.resolve()
      .then(() => createPowerDnsProvider(init(apiUrl, API_KEY, { allowPrivateAddresses: false }), tuning))
      .then(() => assert.fail(`${apiUrl} was accepted`), (e: unknown) => e);
    assert.ok(err instanceof DnsProviderError, String(err));
    return err;
  };

  test('a loopback apiUrl is refused when private addresses are not allowed, naming the switch', async () => {
    for (const url of ['http://127.0.0.1:8081', 'http://localhost:8081', 'http://[::1]:8081']) {
      const err = await refuses(url);
      assert.match(err.message, /^powerdns: .*loopback or private address/);
      assert.match(err.message, /CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1/);
    }
    // Through the manifest's factory too.
    await assert.rejects(Promise.resolve().then(() => manifest.create(init('http://127.0.0.1:8081', API_KEY, { allowPrivateAddresses: false }))), /CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1/);
  });

  test('a host name that resolves to a private address is refused; a public one is accepted', async () => {
    const lookupHost = async (host: string): Promise<string[]> => (host === 'pdns.internal.example' ? ['10.1.2.3'] : ['192.0.2.10']);
    const err = await refuses('https://pdns.internal.example/', { lookupHost });
    assert.match(err.message, /10\.1\.2\.3/);
    const p = await createPowerDnsProvider(init('https://pdns.example.com/', API_KEY, { allowPrivateAddresses: false }), { lookupHost });
    assert.equal(typeof p.appendTxt, 'function');
  });

  test('bad settings are refused with the field named', async () => {
    await assert.rejects(createPowerDnsProvider({ ...init('x', API_KEY), settings: {} }), /apiUrl is required/);
    await assert.rejects(createPowerDnsProvider(init('not a url', API_KEY)), /apiUrl is not a valid URL/);
    await assert.rejects(createPowerDnsProvider(init('ftp://127.0.0.1/', API_KEY)), /http:\/\/ or https:\/\//);
    await assert.rejects(createPowerDnsProvider(init('http://u:p@127.0.0.1/', API_KEY)), /must not carry a user name or password/);
    await assert.rejects(createPowerDnsProvider(init('http://127.0.0.1/', '')), /apiKey is required/);
  });

  test('the manifest: code, settings with the serverId default, the apiKey credential', () => {
    assert.equal(manifest.code, 'powerdns');
    assert.deepEqual(manifest.settings.map((f) => [f.name, f.required ?? false, f.default]), [['apiUrl', true, undefined], ['serverId', false, 'localhost']]);
    assert.deepEqual(manifest.credentials.map((f) => [f.name, f.required]), [['apiKey', true]]);
  });
});

describe('powerdns: API wire forms', () => {
  test('zone ids: trailing dot, =XX escapes (pdns apiZoneNameToId), the root as =2E', () => {
    assert.equal(zoneId('example.com'), 'example.com.');
    assert.equal(zoneId('example.com.'), 'example.com.');
    assert.equal(zoneId('_acme.example.com'), '=5Facme.example.com.');
    assert.equal(zoneId('a/b.example'), 'a=2Fb.example.');
    assert.equal(zoneId('.'), '=2E');
  });

  test('TXT content: quoted, escaped, split at 255 bytes; and back', () => {
    assert.equal(quoteTxt('abc'), '"abc"');
    assert.equal(quoteTxt('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(quoteTxt('é'), '"\\195\\169"');
    const long = 'x'.repeat(300);
    assert.equal(quoteTxt(long), `"${'x'.repeat(255)}" "${'x'.repeat(45)}"`);
    for (const v of ['abc', 'a"b\\c', 'é ü', long, '']) assert.equal(unquoteTxt(quoteTxt(v)), v);
    assert.equal(unquoteTxt('"a\\"b c" "d"'), 'a"b cd');
    assert.equal(unquoteTxt('bare words'), 'barewords');
  });
});
