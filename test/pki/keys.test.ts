import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { KEY_ALGORITHMS } from '../../src/pki/key-algorithm.js';
import { describeKey, generatePrivateKey, keyAlgorithmOf, parsePrivateKey, privateKeyToPem, samePublicKey } from '../../src/pki/keys.js';
import { PkiError } from '../../src/pki/pki-error.js';
import { openssl, scratchDir } from './openssl-fixture.js';

describe('keys', () => {
  const s = scratchDir();
  after(() => s.remove());

  for (const alg of KEY_ALGORITHMS) {
    it(`generates ${alg}, writes PKCS#8 PEM that openssl reads, and reads it back`, async () => {
      const key = await generatePrivateKey(alg);
      assert.equal(key.type, 'private');
      assert.equal(keyAlgorithmOf(key), alg);
      assert.equal(keyAlgorithmOf(createPublicKey(key)), alg);
      const pem = privateKeyToPem(key);
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
      const file = s.path(`${alg}.pem`);
      writeFileSync(file, pem);
      const text = openssl(s.dir, ['pkey', '-in', file, '-noout', '-text']);
      if (alg.startsWith('rsa')) {
        assert.match(text, new RegExp(`Private-Key: \\(${alg.slice(3)} bit`));
        assert.match(text, /publicExponent: 65537/);
      } else {
        assert.match(text, alg === 'ecdsa256' ? /NIST CURVE: P-256/ : /NIST CURVE: P-384/);
      }
      const back = parsePrivateKey(pem);
      assert.ok(samePublicKey(back, key));
      assert.equal(privateKeyToPem(back), pem);
    });
  }

  describe('parsePrivateKey with openssl-made keys', () => {
    before(() => {
      openssl(s.dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa-pkcs8.pem']);
      openssl(s.dir, ['pkey', '-in', 'rsa-pkcs8.pem', '-traditional', '-out', 'rsa-pkcs1.pem']);
      openssl(s.dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-out', 'ec-sec1-with-params.pem']);
      openssl(s.dir, ['ec', '-in', 'ec-sec1-with-params.pem', '-out', 'ec-sec1.pem']);
      openssl(s.dir, ['pkey', '-in', 'rsa-pkcs8.pem', '-aes256', '-passout', 'pass:secret', '-out', 'rsa-encrypted.pem']);
      openssl(s.dir, ['rsa', '-in', 'rsa-pkcs8.pem', '-traditional', '-des3', '-passout', 'pass:secret', '-out', 'rsa-encrypted-legacy.pem']);
      openssl(s.dir, ['genpkey', '-algorithm', 'ed25519', '-out', 'ed25519.pem']);
      openssl(s.dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'rsa1024.pem']);
    });
    const read = (f: string) => readFileSync(s.path(f), 'utf8');

    it('reads PKCS#8, PKCS#1 and SEC1 (with and without EC PARAMETERS)', () => {
      const pkcs8 = parsePrivateKey(read('rsa-pkcs8.pem'));
      const pkcs1 = parsePrivateKey(read('rsa-pkcs1.pem'));
      assert.match(read('rsa-pkcs1.pem'), /BEGIN RSA PRIVATE KEY/);
      assert.ok(samePublicKey(pkcs8, pkcs1));
      assert.equal(keyAlgorithmOf(pkcs1), 'rsa2048');
      const withParams = parsePrivateKey(read('ec-sec1-with-params.pem'));
      assert.match(read('ec-sec1-with-params.pem'), /BEGIN EC PARAMETERS/);
      const sec1 = parsePrivateKey(read('ec-sec1.pem'));
      assert.ok(samePublicKey(withParams, sec1));
      assert.equal(keyAlgorithmOf(sec1), 'ecdsa256');
      // Text around the block (as in `openssl pkcs12 -nodes` output) is fine.
      assert.ok(samePublicKey(parsePrivateKey(`Bag Attributes\n    friendlyName: x\n${read('ec-sec1.pem')}`), sec1));
    });

    it('refuses encrypted keys with a hint, never echoing the key', () => {
      for (const f of ['rsa-encrypted.pem', 'rsa-encrypted-legacy.pem']) {
        assert.throws(() => parsePrivateKey(read(f)), (err: unknown) => {
          assert.ok(err instanceof PkiError);
          assert.equal(err.code, 'invalid_key');
          assert.match(err.message, /encrypted/);
          assert.ok(!err.message.includes('MII'));
          return true;
        });
      }
    });

    it('refuses garbage, public keys and certificates', () => {
      assert.throws(() => parsePrivateKey('hello'), { code: 'invalid_pem' });
      assert.throws(() => parsePrivateKey('-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n'), { code: 'invalid_pem' });
      assert.throws(() => parsePrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), { code: 'invalid_key' });
      const pub = createPublicKey(parsePrivateKey(read('rsa-pkcs8.pem'))).export({ format: 'pem', type: 'spki' }).toString();
      assert.throws(() => parsePrivateKey(pub), { code: 'invalid_key' });
      assert.throws(() => parsePrivateKey(read('rsa-pkcs8.pem') + read('ec-sec1.pem')), { code: 'invalid_key', message: /more than one/ });
    });

    it('keyAlgorithmOf is null outside the supported list; describeKey names everything', () => {
      const ed = parsePrivateKey(read('ed25519.pem'));
      assert.equal(keyAlgorithmOf(ed), null);
      assert.equal(describeKey(ed), 'Ed25519');
      const small = parsePrivateKey(read('rsa1024.pem'));
      assert.equal(keyAlgorithmOf(small), null);
      assert.equal(describeKey(small), 'RSA 1024');
      const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey;
      assert.equal(keyAlgorithmOf(p521), null);
      assert.equal(describeKey(p521), 'EC P-521');
      assert.equal(describeKey(parsePrivateKey(read('ec-sec1.pem'))), 'EC P-256');
    });
  });
});
