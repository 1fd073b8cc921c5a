// Pure rules of the lifecycle, with fixed clocks and fixed randomness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs, nextAttemptAt } from '../../src/lifecycle/backoff.js';
import { decideRenewal, type RenewalInput } from '../../src/lifecycle/renewal-policy.js';
import { versionName } from '../../src/lifecycle/version-name.js';
import { boundedMap } from '../../src/lifecycle/bounded-map.js';
import { isPrivateAddress, checkOutboundUrl } from '../../src/lifecycle/address-policy.js';

test('version names are <commonName>_<UTC timestamp>', () => {
  assert.equal(versionName('www.example.com', new Date('2026-11-26T01:30:00.123Z')), 'www.example.com_20261126T013000Z');
  assert.equal(versionName('*.example.com', new Date('2026-01-02T03:04:05Z')), '*.example.com_20260102T030405Z');
});

test('renewal policy chain: each rule with a fixed clock', () => {
  const day = 86_400_000;
  const nb = new Date('2026-01-01T00:00:00Z');
  const now = new Date('2026-01-10T00:00:00Z');
  const active = (days: number, extra: Partial<NonNullable<RenewalInput['active']>> = {}) => ({ serialNumber: 'abc', names: ['a.example'], keyAlgorithm: 'ecdsa256', notBefore: nb, notAfter: new Date(nb.getTime() + days * day), revoked: false, ...extra });
  const input = (a: RenewalInput['active'], more: Partial<RenewalInput> = {}): RenewalInput => ({ now, wanted: { names: ['a.example'], keyAlgorithm: 'ecdsa256', renewBeforeDays: null }, active: a, ari: null, ...more });
  // one third of the lifetime left: 30 days of 90, 15 of 45, 2 of 6
  assert.equal(decideRenewal(input(active(90))).at.getTime(), nb.getTime() + 60 * day);
  assert.equal(decideRenewal(input(active(45))).at.getTime(), nb.getTime() + 30 * day);
  const six = decideRenewal(input(active(6)));
  assert.equal(six.at.getTime(), nb.getTime() + 4 * day);
  assert.equal(six.reason, 'lifetime_fraction');
  assert.match(six.message, /2 days/);
  const fixed = decideRenewal(input(active(90), { wanted: { names: ['a.example'], keyAlgorithm: 'ecdsa256', renewBeforeDays: 10 } }));
  assert.deepEqual([fixed.reason, fixed.at.getTime()], ['renew_before_days', nb.getTime() + 80 * day]);
  assert.deepEqual([decideRenewal(input(null)).reason, decideRenewal(input(null)).at], ['no_active_version', now]);
  assert.equal(decideRenewal(input(active(90, { names: ['a.example', 'b.example'] }))).reason, 'names_changed');
  assert.equal(decideRenewal(input(active(90, { keyAlgorithm: 'rsa2048' }))).reason, 'key_algorithm_changed');
  assert.equal(decideRenewal(input(active(90, { revoked: true }))).reason, 'active_revoked');
  // ARI: a stable point inside the window; a window already past means now
  const ari = { start: new Date(nb.getTime() + 20 * day), end: new Date(nb.getTime() + 22 * day) };
  const d1 = decideRenewal(input(active(90), { ari }));
  const d2 = decideRenewal(input(active(90), { ari }));
  assert.equal(d1.reason, 'ari_window');
  assert.ok(d1.at >= ari.start && d1.at <= ari.end);
  assert.equal(d1.at.getTime(), d2.at.getTime(), 'the same point each time');
  const past = decideRenewal(input(active(90), { ari: { start: new Date(nb.getTime() + day), end: new Date(nb.getTime() + 2 * day) } }));
  assert.equal(past.at.getTime(), now.getTime());
});

test('backoff doubles to a cap with ±20 % jitter and never undercuts Retry-After', () => {
  assert.equal(backoffDelayMs(1, 1000, 60_000, () => 0.5), 1000);
  assert.equal(backoffDelayMs(3, 1000, 60_000, () => 0.5), 4000);
  assert.equal(backoffDelayMs(20, 1000, 60_000, () => 0.5), 60_000);
  assert.equal(backoffDelayMs(1, 1000, 60_000, () => 0), 800);
  assert.equal(backoffDelayMs(1, 1000, 60_000, () => 1), 1200);
  const now = new Date('2026-01-01T00:00:00Z');
  const later = new Date('2026-01-01T01:00:00Z');
  assert.equal(nextAttemptAt(now, 1, { baseMs: 1000, capMs: 5000, retryAfter: later, random: () => 0.5 }).toISOString(), later.toISOString());
  assert.equal(nextAttemptAt(now, 1, { baseMs: 1000, capMs: 5000, random: () => 0.5 }).getTime(), now.getTime() + 1000);
});

test('boundedMap keeps order and never exceeds its limit', async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await boundedMap([5, 1, 4, 2, 3, 0], 2, async (n) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, n * 3));
    inFlight--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30, 0]);
  assert.equal(peak, 2);
});

test('private and loopback addresses are refused unless allowed', async () => {
  for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '0.0.0.0']) {
    assert.equal(isPrivateAddress(a), true, a);
  }
  for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700::1111']) assert.equal(isPrivateAddress(a), false, a);
  await assert.rejects(checkOutboundUrl('https://127.0.0.1:14000/dir', 'properties.server', false), /CERTKEEPER_ALLOW_PRIVATE_ADDRESSES/);
  await assert.rejects(checkOutboundUrl('https://localhost/dir', 'properties.server', false), /private|loopback/);
  await assert.rejects(checkOutboundUrl('ftp://8.8.8.8/dir', 'properties.server', false), /https/);
  assert.equal((await checkOutboundUrl('https://127.0.0.1:14000/dir', 'properties.server', true)).port, '14000');
  assert.equal((await checkOutboundUrl('https://8.8.8.8/dir', 'properties.server', false)).hostname, '8.8.8.8');
});
