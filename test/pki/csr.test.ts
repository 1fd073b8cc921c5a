import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { KEY_ALGORITHMS } from '../../src/pki/key-algorithm.js';
import { createCsr } from '../../src/pki/csr.js';
import { generatePrivateKey } from '../../src/pki/keys.js';
import { openssl, scratchDir } from './openssl-fixture.js';

const SIGNATURE: Record<string, RegExp> = {
  rsa2048: /Signature Algorithm: sha256WithRSAEncryption/,
  rsa3072: /Signature Algorithm: sha256WithRSAEncryption/,
  rsa4096: /Signature Algorithm: sha256WithRSAEncryption/,
  ecdsa256: /Signature Algorithm: ecdsa-with-SHA256/,
  ecdsa384: /Signature Algorithm: ecdsa-with-SHA384/,
};

describe('createCsr', () => {
  const s = scratchDir();
  after(() => s.remove());

  function verify(name: string, der: Buffer): string {
    const file = s.path(name);
    writeFileSync(file, der);
    return openssl(s.dir, ['req', '-in', file, '-inform', 'DER', '-verify', '-noout', '-text']);
  }

  for (const alg of KEY_ALGORITHMS) {
    it(`makes a request openssl verifies (${alg})`, async () => {
      const key = await generatePrivateKey(alg);
      const der = await createCsr(['www.example.com', 'example.com', '*.example.com'], key);
      const text = verify(`${alg}.csr`, der);
      assert.match(text, /Subject: CN = www\.example\.com/);
      assert.match(text, /DNS:www\.example\.com, DNS:example\.com, DNS:\*\.example\.com/);
      assert.match(text, SIGNATURE[alg] as RegExp);
    });
  }

  it('carries 100 names, IP addresses as iPAddress, and skips a CN over 64 characters', async () => {
    const key = await generatePrivateKey('ecdsa256');
    const long = `${'a'.repeat(60)}.example.com`;
    const names = [long, ...Array.from({ length: 97 }, (_, i) => `n${i}.example.com`), '192.0.2.10', '2001:db8::10'];
    assert.equal(names.length, 100);
    const text = verify('many.csr', await createCsr(names, key));
    assert.match(text, /Subject:\s*\n/); // empty subject
    assert.match(text, /X509v3 Subject Alternative Name: critical/);
    const sans = /X509v3 Subject Alternative Name: critical\s*\n\s*(.*)/.exec(text)?.[1]?.split(', ') ?? [];
    assert.equal(sans.length, 100);
    assert.equal(sans[0], `DNS:${long}`);
    assert.equal(sans[98], 'IP Address:192.0.2.10');
    assert.equal(sans[99], 'IP Address:2001:DB8:0:0:0:0:0:10');
  });

  it('refuses an empty name list, non-ASCII names and unsupported keys', async () => {
    const key = await generatePrivateKey('ecdsa256');
    await assert.rejects(createCsr([], key), { code: 'invalid_name' });
    await assert.rejects(createCsr(['bücher.example'], key), { code: 'invalid_name' });
    await assert.rejects(createCsr(['a.example.com'], generateKeyPairSync('ed25519').privateKey), { code: 'unsupported_algorithm' });
  });
});
