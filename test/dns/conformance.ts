/**
 * The conformance suite every DNS provider runs (STYLE.md habit 4): present one value, it is
 * visible; present a second value on the same name, both are visible; delete one, the other stays;
 * delete the other, the name is empty; presenting twice is idempotent; errors never carry secrets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { DnsProvider } from '../../src/dns/dns-provider.js';

/** What a provider's test supplies. */
export interface ConformanceSetup {
  provider: DnsProvider;
  /** The zone the provider writes, lower case, no trailing dot. */
  zone: string;
  /** Reads the TXT values at `fqdn` from the source of truth (the real server, or the fake's state). */
  lookup(fqdn: string): Promise<string[]>;
  /** A provider for the same zone whose credentials are wrong (or, for `exec`, whose program fails): its calls must fail. */
  badProvider: DnsProvider;
  /** Secret strings that must never appear in an error message. */
  secrets: string[];
  teardown(): Promise<void>;
}

const value = () => randomBytes(32).toString('base64url');

/** Registers the suite for `name`. `setup` runs once before the tests. */
export function dnsProviderConformance(name: string, setup: () => Promise<ConformanceSetup>): void {
  describe(`${name}: DNS provider conformance`, () => {
    let s: ConformanceSetup;
    before(async () => {
      s = await setup();
    });
    after(async () => {
      await s?.teardown();
    });
    const rec = (fqdn: string, v: string) => ({ zone: s.zone, fqdn, value: v, ttl: 60 });

    test('present one value: visible; twice: still one value', async () => {
      const fqdn = `_acme-challenge.one-${randomBytes(3).toString('hex')}.${s.zone}`;
      const v = value();
      await s.provider.appendTxt(rec(fqdn, v));
      assert.deepEqual(await s.lookup(fqdn), [v]);
      await s.provider.appendTxt(rec(fqdn, v));
      assert.deepEqual(await s.lookup(fqdn), [v], 'idempotent');
      await s.provider.deleteTxt(rec(fqdn, v));
      assert.deepEqual(await s.lookup(fqdn), []);
    });

    test('two values on one name coexist; deleting one keeps the other; deleting both empties the name', async () => {
      const fqdn = `_acme-challenge.two-${randomBytes(3).toString('hex')}.${s.zone}`;
      const a = value();
      const b = value();
      await s.provider.appendTxt(rec(fqdn, a));
      await s.provider.appendTxt(rec(fqdn, b));
      assert.deepEqual((await s.lookup(fqdn)).sort(), [a, b].sort());
      await s.provider.deleteTxt(rec(fqdn, a));
      assert.deepEqual(await s.lookup(fqdn), [b]);
      await s.provider.deleteTxt(rec(fqdn, a));
      assert.deepEqual(await s.lookup(fqdn), [b], 'deleting an absent value is a no-op');
      await s.provider.deleteTxt(rec(fqdn, b));
      assert.deepEqual(await s.lookup(fqdn), []);
    });

    test('at the zone apex too', async () => {
      const fqdn = `_acme-challenge.${s.zone}`;
      const v = value();
      await s.provider.appendTxt(rec(fqdn, v));
      assert.ok((await s.lookup(fqdn)).includes(v));
      await s.provider.deleteTxt(rec(fqdn, v));
      assert.ok(!(await s.lookup(fqdn)).includes(v));
    });

    test('check() passes with good credentials and leaves nothing behind', async () => {
      await s.provider.check(s.zone);
    });

    test('bad credentials fail with an error that names the provider and carries no secret', async () => {
      const fqdn = `_acme-challenge.bad.${s.zone}`;
      for (const call of [() => s.badProvider.check(s.zone), () => s.badProvider.appendTxt(rec(fqdn, value()))]) {
        const err = await call().then(() => null, (e: Error) => e);
        assert.ok(err, 'the call failed');
        assert.equal(err.name, 'DnsProviderError');
        assert.match(err.message, /^[a-z0-9-]+: /, 'the message starts with the provider code');
        for (const secret of s.secrets) assert.ok(!err.message.includes(secret), `the error leaks a secret: ${err.message}`);
        assert.ok(!JSON.stringify(err).includes(s.secrets[0] ?? '\u0000'), 'nor in its serialised form');
      }
      assert.deepEqual(await s.lookup(fqdn), []);
    });
  });
}
