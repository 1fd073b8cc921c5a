import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isWildcard, normalizeNames, wildcardBase } from '../../src/pki/names.js';

function refused(name: string, opts?: Parameters<typeof normalizeNames>[1]): string {
  const r = normalizeNames([name], opts);
  assert.deepEqual(r.names, [], `${name} should be refused`);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]?.index, 0);
  assert.equal(r.errors[0]?.name, name);
  return r.errors[0]?.reason ?? '';
}

function accepted(name: string, expected: string, opts?: Parameters<typeof normalizeNames>[1]): void {
  const r = normalizeNames([name], opts);
  assert.deepEqual(r.errors, [], `${name} should be accepted`);
  assert.deepEqual(r.names, [expected]);
}

describe('normalizeNames', () => {
  it('trims, lower-cases and strips one trailing dot', () => {
    accepted('  WWW.Example.COM  ', 'www.example.com');
    accepted('example.com.', 'example.com');
    assert.match(refused('example.com..'), /dot/);
  });

  it('converts internationalised names to punycode', () => {
    accepted('bücher.example', 'xn--bcher-kva.example');
    accepted('BÜCHER.example', 'xn--bcher-kva.example');
    accepted('*.bücher.example', '*.xn--bcher-kva.example');
    accepted('xn--bcher-kva.example', 'xn--bcher-kva.example');
    accepted('例え.テスト', 'xn--r8jz45g.xn--zckzah');
  });

  it('allows a wildcard only as the whole leftmost label above a registered domain', () => {
    accepted('*.example.com', '*.example.com');
    assert.match(refused('a.*.example.com'), /leftmost label/);
    assert.match(refused('*a.example.com'), /leftmost label/);
    assert.match(refused('a*.example.com'), /leftmost label/);
    assert.match(refused('*.*.example.com'), /leftmost label/);
    assert.match(refused('*.com'), /too broad/);
    assert.match(refused('*'), /every name/);
    assert.ok(isWildcard('*.example.com'));
    assert.ok(!isWildcard('example.com'));
    assert.equal(wildcardBase('*.example.com'), 'example.com');
    assert.equal(wildcardBase('www.example.com'), 'www.example.com');
  });

  it('checks label syntax and lengths, saying how to fix each', () => {
    assert.match(refused('-a.example.com'), /hyphen/);
    assert.match(refused('a-.example.com'), /hyphen/);
    assert.match(refused('under_score.example.com'), /letters, digits and hyphens/);
    assert.match(refused('a..example.com'), /empty label/);
    assert.match(refused('.example.com'), /empty label/);
    assert.match(refused('localhost'), /two labels/);
    assert.match(refused(`${'a'.repeat(64)}.example.com`), /at most 63/);
    accepted(`${'a'.repeat(63)}.example.com`, `${'a'.repeat(63)}.example.com`);
    const long = `${Array(4).fill('a'.repeat(63)).join('.')}.com`; // 4*64 + 3 = 259
    assert.match(refused(long), /at most 253/);
    assert.match(refused('ex ample.com'), /white space/);
    assert.match(refused('ab--cd.example.com'), /reserved for IDNA/);
    assert.match(refused('exa/mple.com'), /not a valid domain name/);
    assert.match(refused(''), /empty/);
    assert.match(refused('   '), /empty/);
    assert.match(refused('foo.123'), /numeric/);
    assert.match(refused('1.2.3'), /numeric/);
  });

  it('refuses IP literals unless allowed, and then normalises them', () => {
    assert.match(refused('192.0.2.1'), /IP addresses are not allowed/);
    assert.match(refused('2001:db8::1'), /IP addresses are not allowed/);
    accepted('192.0.2.1', '192.0.2.1', { allowIpAddresses: true });
    accepted('2001:DB8:0:0:0:0:0:1', '2001:db8::1', { allowIpAddresses: true });
    accepted('[2001:db8::1]', '2001:db8::1', { allowIpAddresses: true });
    accepted('::ffff:192.0.2.1', '::ffff:c000:201', { allowIpAddresses: true });
    accepted('2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', { allowIpAddresses: true });
    assert.match(refused('fe80::1%eth0', { allowIpAddresses: true }), /zone/);
    assert.match(refused('192.0.2.300', { allowIpAddresses: true }), /numeric/);
  });

  it('removes duplicates (after normalisation) without an error, keeping the first', () => {
    const r = normalizeNames(['b.example.com', 'A.example.com', 'a.example.com.', 'B.EXAMPLE.COM', 'bücher.example', 'xn--bcher-kva.example']);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.names, ['b.example.com', 'a.example.com', 'xn--bcher-kva.example']);
  });

  it('reports every bad name with its index and keeps the good ones', () => {
    const r = normalizeNames(['good.example.com', 'bad_name.example.com', '*.com', 'also.good.example']);
    assert.deepEqual(r.names, ['good.example.com', 'also.good.example']);
    assert.deepEqual(r.errors.map((e) => [e.index, e.name]), [[1, 'bad_name.example.com'], [2, '*.com']]);
    for (const e of r.errors) assert.ok(e.reason.length > 20);
  });

  it('refuses an empty list and more than max names (index -1)', () => {
    const empty = normalizeNames([]);
    assert.deepEqual(empty.names, []);
    assert.equal(empty.errors[0]?.index, -1);

    const hundred = Array.from({ length: 100 }, (_, i) => `n${i}.example.com`);
    assert.deepEqual(normalizeNames(hundred).errors, []);
    const r = normalizeNames([...hundred, 'n100.example.com']);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]?.index, -1);
    assert.match(r.errors[0]?.reason ?? '', /101 different names.*at most 100/);
    // Duplicates do not count against the limit.
    assert.deepEqual(normalizeNames([...hundred, 'N0.example.com']).errors, []);
    assert.equal(normalizeNames(['a.example.com', 'b.example.com'], { max: 1 }).errors[0]?.index, -1);
  });

  it('refuses values that are not strings', () => {
    const r = normalizeNames([42 as unknown as string]);
    assert.equal(r.errors[0]?.index, 0);
  });
});
