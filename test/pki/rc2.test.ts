import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Rc2, rc2CbcDecrypt, rc2CbcEncrypt, Rc2PaddingError } from '../../src/pki/rc2.js';
import { openssl, scratchDir } from './openssl-fixture.js';

// RFC 2268 §5: key, effective key bits, plaintext, ciphertext.
const VECTORS: [string, number, string, string][] = [
  ['0000000000000000', 63, '0000000000000000', 'ebb773f993278eff'],
  ['ffffffffffffffff', 64, 'ffffffffffffffff', '278b27e42e2f0d49'],
  ['3000000000000000', 64, '1000000000000001', '30649edf9be7d2c2'],
  ['88', 64, '0000000000000000', '61a8a244adacccf0'],
  ['88bca90e90875a', 64, '0000000000000000', '6ccf4308974c267f'],
  ['88bca90e90875a7f0f79c384627bafb2', 64, '0000000000000000', '1a807d272bbe5db1'],
  ['88bca90e90875a7f0f79c384627bafb2', 128, '0000000000000000', '2269552ab0f85ca6'],
  ['88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e', 129, '0000000000000000', '5b78d3a43dfff1f1'],
];

describe('RC2 (RFC 2268)', () => {
  for (const [key, bits, plain, cipher] of VECTORS) {
    it(`matches the RFC 2268 vector key=${key.slice(0, 16)}… T1=${bits}`, () => {
      const rc2 = new Rc2(Buffer.from(key, 'hex'), bits);
      const enc = Buffer.alloc(8);
      rc2.encryptBlock(Buffer.from(plain, 'hex'), enc);
      assert.equal(enc.toString('hex'), cipher);
      const dec = Buffer.alloc(8);
      rc2.decryptBlock(Buffer.from(cipher, 'hex'), dec);
      assert.equal(dec.toString('hex'), plain);
    });
  }

  it('CBC round-trips with PKCS#7 padding, and a wrong key fails the padding check', () => {
    const key = randomBytes(5);
    const iv = randomBytes(8);
    for (const len of [0, 1, 7, 8, 9, 100]) {
      const data = randomBytes(len);
      const enc = rc2CbcEncrypt(data, key, iv, 40);
      assert.equal(enc.length % 8, 0);
      assert.deepEqual(rc2CbcDecrypt(enc, key, iv, 40), data);
    }
    const enc = rc2CbcEncrypt(Buffer.alloc(64, 1), key, iv, 40);
    let failures = 0;
    for (let i = 0; i < 20; i++) {
      try {
        rc2CbcDecrypt(enc, randomBytes(5), iv, 40);
      } catch (err) {
        assert.ok(err instanceof Rc2PaddingError);
        failures++;
      }
    }
    assert.ok(failures >= 15, 'wrong keys almost always break the padding');
    assert.throws(() => rc2CbcDecrypt(Buffer.alloc(7), key, iv, 40), Rc2PaddingError);
  });

  it('CBC agrees with OpenSSL (legacy provider) for 40- and 128-bit keys', () => {
    const s = scratchDir();
    try {
      const data = randomBytes(45);
      for (const [name, keyLen, bits] of [['rc2-40-cbc', 5, 40], ['rc2-cbc', 16, 128]] as const) {
        const key = randomBytes(keyLen);
        const iv = randomBytes(8);
        const ours = rc2CbcEncrypt(data, key, iv, bits);
        const theirs = Buffer.from(openssl(s.dir, [
          'enc', `-${name}`, '-provider', 'legacy', '-provider', 'default', '-K', key.toString('hex'), '-iv', iv.toString('hex'), '-a', '-A',
        ], data).trim(), 'base64');
        assert.deepEqual(ours, theirs, name);
        assert.deepEqual(rc2CbcDecrypt(theirs, key, iv, bits), data, name);
      }
    } finally {
      s.remove();
    }
  });
});
