import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { keyMatchesCertificate, pemToDer, splitPemCertificates } from '../../src/pki/certificate.js';
import { parsePrivateKey, samePublicKey } from '../../src/pki/keys.js';
import { createPkcs12, MAX_PKCS12_BYTES, parsePkcs12 } from '../../src/pki/pkcs12.js';
import { PkiError } from '../../src/pki/pki-error.js';
import { makeOpensslPki, openssl, opensslOutput, scratchDir, type FixtureKey, type OpensslPki } from './openssl-fixture.js';

const LEGACY = ['-legacy'];

describe('PKCS#12', () => {
  const s = scratchDir();
  const pkis: Partial<Record<FixtureKey, OpensslPki>> = {};
  before(() => {
    for (const k of ['rsa2048', 'ec256', 'ec384'] as const) pkis[k] = makeOpensslPki(s.dir, { prefix: k, leafKey: k });
  });
  after(() => s.remove());
  const pkiOf = (k: FixtureKey) => pkis[k] as OpensslPki;

  /** Exports the leaf, its key and the chain with `openssl pkcs12 -export` plus `extra` options. */
  function exportP12(name: string, pki: OpensslPki, password: string, extra: string[] = []): Buffer {
    writeFileSync(s.path(`${name}-chain.pem`), pki.intermediatePem + pki.rootPem);
    openssl(s.dir, ['pkcs12', '-export', '-in', pki.files.leaf, '-inkey', pki.files.leafKey, '-certfile', `${name}-chain.pem`,
      '-name', 'imported', '-passout', `pass:${password}`, '-out', `${name}.p12`, ...extra]);
    return readFileSync(s.path(`${name}.p12`));
  }

  /** What `openssl pkcs12 -info` says about a file (it writes to stderr). */
  function info(file: string, password: string, extra: string[] = []): string {
    const out = opensslOutput(s.dir, ['pkcs12', '-in', file, '-passin', `pass:${password}`, '-info', '-noout', ...extra]);
    return out.stdout + out.stderr;
  }

  function assertContents(p12: ReturnType<typeof parsePkcs12>, pki: OpensslPki): void {
    assert.equal(p12.certificatePem, pki.leafPem);
    assert.ok(keyMatchesCertificate(p12.privateKey, pki.leafPem));
    assert.ok(samePublicKey(p12.privateKey, parsePrivateKey(pki.leafKeyPem)));
    assert.deepEqual([...p12.chainPems].sort(), [pki.intermediatePem, pki.rootPem].sort());
  }

  describe('parsePkcs12 reads files made by openssl', () => {
    for (const k of ['rsa2048', 'ec256', 'ec384'] as const) {
      it(`modern (OpenSSL 3 default: PBES2/AES-256, SHA-256 MAC), ${k} key`, () => {
        const der = exportP12(`modern-${k}`, pkiOf(k), 'secret');
        assert.match(info(`modern-${k}.p12`, 'secret'), /PBES2, PBKDF2, AES-256-CBC/);
        assertContents(parsePkcs12(der, 'secret'), pkiOf(k));
      });

      it(`legacy (-legacy: RC2-40 certificates, 3DES key, SHA-1 MAC), ${k} key`, () => {
        const der = exportP12(`legacy-${k}`, pkiOf(k), 'secret', LEGACY);
        const text = info(`legacy-${k}.p12`, 'secret', LEGACY);
        assert.match(text, /pbeWithSHA1And40BitRC2-CBC/);
        assert.match(text, /pbeWithSHA1And3-KeyTripleDES-CBC/);
        assert.match(text, /MAC: sha1/);
        assertContents(parsePkcs12(der, 'secret'), pkiOf(k));
      });
    }

    const variants: [string, string, string[]][] = [
      ['empty password (modern)', '', []],
      ['empty password (legacy)', '', LEGACY],
      ['non-ASCII password', 'pässwörd€', []],
      ['non-ASCII password (legacy)', 'pässwörd€', LEGACY],
      ['no MAC', 'secret', ['-nomac']],
      ['unencrypted bags', 'secret', ['-keypbe', 'NONE', '-certpbe', 'NONE']],
      ['3DES for everything', 'secret', ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']],
      ['2-key 3DES key, RC2-128 certificates', 'secret', ['-legacy', '-keypbe', 'PBE-SHA1-2DES', '-certpbe', 'PBE-SHA1-RC2-128']],
      ['AES-128 key, SHA-512 MAC, many iterations', 'secret', ['-keypbe', 'AES-128-CBC', '-certpbe', 'AES-192-CBC', '-macalg', 'sha512', '-iter', '20000']],
      ['PBES2 with 3DES', 'secret', ['-keypbe', 'DES-EDE3-CBC', '-certpbe', 'DES-EDE3-CBC']],
    ];
    variants.forEach(([label, password, extra], i) => {
      it(label, () => {
        const der = exportP12(`variant-${i}`, pkiOf('ec256'), password, extra);
        assertContents(parsePkcs12(der, password), pkiOf('ec256'));
      });
    });

    it('finds the leaf by its key when there is no localKeyId and the chain comes first', () => {
      const pki = pkiOf('ec256');
      writeFileSync(s.path('odd-certs.pem'), pki.rootPem + pki.intermediatePem + pki.leafPem);
      openssl(s.dir, ['pkcs12', '-export', '-nocerts', '-inkey', pki.files.leafKey, '-certfile', 'odd-certs.pem', '-passout', 'pass:x', '-out', 'odd.p12']);
      const text = info('odd.p12', 'x');
      assert.doesNotMatch(text, /localKeyID/);
      assertContents(parsePkcs12(readFileSync(s.path('odd.p12')), 'x'), pki);
    });
  });

  describe('parsePkcs12 refuses', () => {
    it('a wrong password with wrong_password (modern, legacy, without MAC)', () => {
      const pki = pkiOf('rsa2048');
      for (const [name, extra] of [['wp-modern', []], ['wp-legacy', LEGACY], ['wp-nomac', ['-nomac']], ['wp-nomac-legacy', ['-nomac', ...LEGACY]]] as const) {
        const der = exportP12(name, pki, 'right', [...extra]);
        for (const wrong of ['wrong', '', 'Right']) {
          assert.throws(() => parsePkcs12(der, wrong), (err: unknown) => {
            assert.ok(err instanceof PkiError, `${name}: ${String(err)}`);
            assert.equal(err.code, 'wrong_password', `${name} with "${wrong}": ${err.message}`);
            assert.equal(err.field, 'password');
            assert.ok(!err.message.includes('right'));
            return true;
          });
        }
      }
    });

    it('garbage with invalid_pkcs12', () => {
      const pki = pkiOf('ec256');
      const good = exportP12('garbage-base', pki, 'pw');
      const cases: [string, Buffer][] = [
        ['random bytes', randomBytes(300)],
        ['empty', Buffer.alloc(0)],
        ['PEM text', Buffer.from(pki.leafPem)],
        ['a DER certificate', pemToDer(pki.leafPem)],
        ['a truncated file', good.subarray(0, good.length - 40)],
        ['trailing bytes', Buffer.concat([good, Buffer.from([0, 0])])],
      ];
      for (const [label, der] of cases) {
        assert.throws(() => parsePkcs12(der, 'pw'), (err: unknown) => {
          assert.ok(err instanceof PkiError, `${label}: ${String(err)}`);
          assert.equal(err.code, 'invalid_pkcs12', `${label}: ${err.message}`);
          assert.equal(err.field, 'pkcs12');
          return true;
        });
      }
    });

    it('a damaged MAC-protected file as wrong_password (cannot tell from a wrong password)', () => {
      const good = exportP12('flip', pkiOf('ec256'), 'pw');
      const flipped = Buffer.from(good);
      flipped[flipped.length - 60] = (flipped[flipped.length - 60] ?? 0) ^ 0xff;
      assert.throws(() => parsePkcs12(flipped, 'pw'), { code: /wrong_password|invalid_pkcs12/ });
    });

    it('files without a key or without a certificate', () => {
      const pki = pkiOf('ec256');
      openssl(s.dir, ['pkcs12', '-export', '-nokeys', '-in', pki.files.leaf, '-passout', 'pass:pw', '-out', 'nokey.p12']);
      assert.throws(() => parsePkcs12(readFileSync(s.path('nokey.p12')), 'pw'), { code: 'invalid_pkcs12', message: /no private key/ });
      openssl(s.dir, ['pkcs12', '-export', '-nocerts', '-inkey', pki.files.leafKey, '-passout', 'pass:pw', '-out', 'nocert.p12']);
      assert.throws(() => parsePkcs12(readFileSync(s.path('nocert.p12')), 'pw'), { code: 'invalid_pkcs12', message: /no certificate/ });
      // A key with only someone else's certificates.
      openssl(s.dir, ['pkcs12', '-export', '-nocerts', '-inkey', pki.files.leafKey, '-passout', 'pass:pw', '-out', 'other.p12',
        '-certfile', pkiOf('ec384').files.leaf]);
      const other = readFileSync(s.path('other.p12'));
      assert.throws(() => parsePkcs12(other, 'pw'), { code: 'key_mismatch', message: /No certificate/ });
    });

    it('input over 1 MiB with too_large', () => {
      assert.throws(() => parsePkcs12(Buffer.alloc(MAX_PKCS12_BYTES + 1), 'pw'), { code: 'too_large' });
    });
  });

  describe('createPkcs12', () => {
    for (const k of ['rsa2048', 'ec384'] as const) {
      it(`writes a modern file that openssl reads back completely (${k})`, () => {
        const pki = pkiOf(k);
        const privateKey = parsePrivateKey(pki.leafKeyPem);
        const der = createPkcs12({
          certificatePem: pki.leafPem, chainPems: [pki.intermediatePem, pki.rootPem], privateKey, password: 'export-pw', friendlyName: 'leaf.example.com_20261126T013000Z',
        });
        const file = `ours-${k}.p12`;
        writeFileSync(s.path(file), der);
        openssl(s.dir, ['pkcs12', '-in', file, '-passin', 'pass:export-pw', '-noout']); // MAC verifies
        const text = info(file, 'export-pw');
        assert.match(text, /MAC: sha256, Iteration 10000/);
        assert.match(text, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/);
        assert.match(text, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/);
        const certs = openssl(s.dir, ['pkcs12', '-in', file, '-passin', 'pass:export-pw', '-nokeys']);
        assert.match(certs, /friendlyName: leaf\.example\.com_20261126T013000Z/);
        assert.deepEqual(splitPemCertificates(certs), [pki.leafPem, pki.intermediatePem, pki.rootPem]);
        const key = openssl(s.dir, ['pkcs12', '-in', file, '-passin', 'pass:export-pw', '-nocerts', '-nodes']);
        assert.ok(samePublicKey(parsePrivateKey(key), privateKey));
        assert.throws(() => openssl(s.dir, ['pkcs12', '-in', file, '-passin', 'pass:wrong', '-noout']), /mac verify (error|failure)/i);
        assertContents(parsePkcs12(der, 'export-pw'), pki);
      });
    }

    it('handles empty and non-ASCII passwords the way openssl does', () => {
      const pki = pkiOf('ec256');
      const privateKey = parsePrivateKey(pki.leafKeyPem);
      for (const [i, password] of ['', 'pässwörd€'].entries()) {
        const der = createPkcs12({ certificatePem: pki.leafPem, chainPems: [], privateKey, password, iterations: 2048 });
        writeFileSync(s.path(`pw-${i}.p12`), der);
        const certs = openssl(s.dir, ['pkcs12', '-in', `pw-${i}.p12`, '-passin', `pass:${password}`, '-nokeys']);
        assert.deepEqual(splitPemCertificates(certs), [pki.leafPem]);
        const key = openssl(s.dir, ['pkcs12', '-in', `pw-${i}.p12`, '-passin', `pass:${password}`, '-nocerts', '-nodes']);
        assert.ok(samePublicKey(parsePrivateKey(key), privateKey));
        assert.equal(parsePkcs12(der, password).chainPems.length, 0);
      }
    });

    it('refuses a key that does not belong to the certificate', () => {
      assert.throws(() => createPkcs12({
        certificatePem: pkiOf('ec256').leafPem, chainPems: [], privateKey: parsePrivateKey(pkiOf('ec384').leafKeyPem), password: 'pw',
      }), { code: 'key_mismatch' });
    });
  });
});
