import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bmpPassword, pkcs12Kdf } from '../../src/pki/pkcs12-kdf.js';

// The classic PKCS#12 KDF vectors (SHA-1) that OpenSSL, Bouncy Castle and NSS test against.
const VECTORS: [string, string, number, number, number, string][] = [
  ['smeg', '0a58cf64530d823f', 1, 1, 24, '8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3'],
  ['smeg', '0a58cf64530d823f', 2, 1, 8, '79993dfe048d3b76'],
  ['smeg', '642b99ab44fb4b1f', 1, 1, 24, 'f3a95fec48d7711e985cfe67908c5ab79fa3d7c5caa5d966'],
  ['smeg', '642b99ab44fb4b1f', 2, 1, 8, 'c0a38d64a79bea1d'],
  ['smeg', '3d83c0e4546ac140', 3, 1, 20, '8d967d88f6caa9d714800ab3d48051d63f73a312'],
  ['queeg', '05dec959acff72f7', 1, 1000, 24, 'ed2034e36328830ff09df1e1a07dd357185dac0d4f9eb3d4'],
];

describe('PKCS#12 KDF (RFC 7292 Appendix B)', () => {
  it('encodes passwords as BMPString with a terminator', () => {
    assert.equal(bmpPassword('smeg').toString('hex'), '0073006d006500670000');
    assert.equal(bmpPassword('').toString('hex'), '0000');
    assert.equal(bmpPassword('ä€').toString('hex'), '00e420ac0000');
  });

  for (const [password, salt, id, iterations, n, expected] of VECTORS) {
    it(`derives ${password}/${salt} id ${id}, ${iterations} iteration(s)`, () => {
      assert.equal(pkcs12Kdf('sha1', bmpPassword(password), Buffer.from(salt, 'hex'), iterations, id, n).toString('hex'), expected);
    });
  }

  it('returns exactly n octets across digest blocks', () => {
    for (const n of [1, 20, 21, 40, 64, 100]) {
      assert.equal(pkcs12Kdf('sha256', bmpPassword('x'), Buffer.alloc(8), 2, 1, n).length, n);
    }
    const long = pkcs12Kdf('sha1', bmpPassword('x'), Buffer.alloc(8), 3, 1, 60);
    assert.deepEqual(long.subarray(0, 24), pkcs12Kdf('sha1', bmpPassword('x'), Buffer.alloc(8), 3, 1, 24));
  });
});
