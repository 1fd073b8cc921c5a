// The registered domain (eTLD+1 by the Public Suffix List) that Let's Encrypt's "certificates per
// registered domain" limit counts, and what the local budget counts for names the PSL cannot place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registeredDomain, registeredDomains } from '../../src/pki/registered-domain.js';

test('ICANN suffixes: the label left of the public suffix', () => {
  assert.equal(registeredDomain('www.example.com'), 'example.com');
  assert.equal(registeredDomain('example.com'), 'example.com');
  assert.equal(registeredDomain('a.b.example.co.uk'), 'example.co.uk');
  assert.equal(registeredDomain('new.blog.example.co.uk'), 'example.co.uk');
});

test('private PSL section counts, as at Let\'s Encrypt: each github.io user is a registered domain', () => {
  assert.equal(registeredDomain('www.alice.github.io'), 'alice.github.io');
  assert.notEqual(registeredDomain('alice.github.io'), registeredDomain('bob.github.io'));
});

test('a wildcard counts as the domain it covers', () => {
  assert.equal(registeredDomain('*.x.example.com'), 'example.com');
  assert.equal(registeredDomain('*.example.com'), 'example.com');
  assert.equal(registeredDomain('*.example.co.uk'), 'example.co.uk');
});

test('an IP address counts as itself', () => {
  assert.equal(registeredDomain('192.0.2.1'), '192.0.2.1');
  assert.equal(registeredDomain('2001:db8::1'), '2001:db8::1');
  assert.notEqual(registeredDomain('192.0.2.1'), registeredDomain('192.0.2.2'));
});

test('a TLD outside the PSL (.test) takes the last two labels (the PSL default rule "*")', () => {
  assert.equal(registeredDomain('www.wild.test'), 'wild.test');
  assert.equal(registeredDomain('*.wild.test'), 'wild.test');
  assert.equal(registeredDomain('a.b.c.e2e.test'), 'e2e.test');
  assert.equal(registeredDomain('example.test'), 'example.test');
  assert.equal(registeredDomain('host.corp.internal'), 'corp.internal');
});

test('a public suffix or single label counts as itself', () => {
  assert.equal(registeredDomain('localhost'), 'localhost');
  assert.equal(registeredDomain('co.uk'), 'co.uk');
  assert.equal(registeredDomain('test'), 'test');
});

test('IDN: punycode as stored; U-labels count the same; case and a trailing dot do not matter', () => {
  assert.equal(registeredDomain('www.xn--bcher-kva.ch'), 'xn--bcher-kva.ch');
  assert.equal(registeredDomain('www.bücher.ch'), 'xn--bcher-kva.ch');
  assert.equal(registeredDomain('shop.xn--e1afmkfd.xn--p1ai'), 'xn--e1afmkfd.xn--p1ai');
  assert.equal(registeredDomain('shop.пример.рф'), 'xn--e1afmkfd.xn--p1ai');
  assert.equal(registeredDomain('WWW.Example.COM.'), 'example.com');
});

test('registeredDomains: distinct and sorted', () => {
  assert.deepEqual(registeredDomains(['b.example.com', '*.example.com', 'example.org', 'a.example.com', '192.0.2.1']), ['192.0.2.1', 'example.com', 'example.org']);
  assert.deepEqual(registeredDomains([]), []);
});
