import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseImportedBundle, MAX_IMPORT_FIELD_BYTES, type ImportBundleInput } from '../../src/pki/import-bundle.js';
import { keyMatchesCertificate } from '../../src/pki/certificate.js';
import { PkiError } from '../../src/pki/pki-error.js';
import { makeOpensslPki, openssl, scratchDir, type OpensslPki } from './openssl-fixture.js';

function assertPkiError(fn: () => unknown, code: string, field: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PkiError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.field, field, err.message);
    if (message) assert.match(err.message, message);
    assert.ok(!/MII|BEGIN PRIVATE/.test(err.message), 'messages never carry key material');
    return true;
  });
}

describe('parseImportedBundle', () => {
  const s = scratchDir();
  let pki: OpensslPki;
  let other: OpensslPki;
  before(() => {
    pki = makeOpensslPki(s.dir, { prefix: 'imp', leafKey: 'rsa2048' });
    other = makeOpensslPki(s.dir, { prefix: 'oth', leafKey: 'ec256' });
  });
  after(() => s.remove());

  it('accepts PEM fields with the chain in any order and returns it ordered', () => {
    const b = parseImportedBundle({ certificate: pki.leafPem, certificateChain: pki.rootPem + pki.intermediatePem, privateKey: pki.leafKeyPem });
    assert.equal(b.leafPem, pki.leafPem);
    assert.deepEqual(b.chainPems, [pki.intermediatePem, pki.rootPem]);
    assert.ok(keyMatchesCertificate(b.privateKey, b.leafPem));
    assert.equal(b.facts.commonName, 'leaf.example.com');
    assert.deepEqual(b.facts.subjectAlternativeNames, ['leaf.example.com', 'www.leaf.example.com']);
    assert.equal(b.facts.keyAlgorithm, 'rsa2048');
  });

  it('accepts the chain appended to the certificate, even pasted in reverse', () => {
    const full = parseImportedBundle({ certificate: pki.leafPem + pki.intermediatePem, privateKey: pki.leafKeyPem });
    assert.deepEqual(full.chainPems, [pki.intermediatePem]);
    const reversed = parseImportedBundle({ certificate: pki.rootPem + pki.intermediatePem + pki.leafPem, privateKey: pki.leafKeyPem, certificateChain: '  ' });
    assert.equal(reversed.leafPem, pki.leafPem);
    assert.deepEqual(reversed.chainPems, [pki.intermediatePem, pki.rootPem]);
    const leafOnly = parseImportedBundle({ certificate: pki.leafPem, privateKey: pki.leafKeyPem });
    assert.deepEqual(leafOnly.chainPems, []);
  });

  it('accepts expired certificates', () => {
    // -days -1 puts notAfter a day before now.
    openssl(s.dir, ['x509', '-req', '-in', 'imp-leaf.csr', '-CA', pki.files.intermediate, '-CAkey', pki.files.intermediateKey,
      '-set_serial', '7', '-days', '-1', '-out', 'expired.pem']);
    const b = parseImportedBundle({ certificate: readFileSync(s.path('expired.pem'), 'utf8'), certificateChain: pki.intermediatePem, privateKey: pki.leafKeyPem });
    assert.ok(b.facts.notAfter.getTime() < Date.now());
  });

  it('names the field at fault', () => {
    assertPkiError(() => parseImportedBundle({ certificate: pki.leafPem, privateKey: other.leafKeyPem }), 'key_mismatch', 'privateKey', /leaf\.example\.com/);
    assertPkiError(() => parseImportedBundle({ certificate: pki.leafPem, certificateChain: other.intermediatePem, privateKey: pki.leafKeyPem }),
      'chain_broken', 'certificateChain', /oth Intermediate/);
    assertPkiError(() => parseImportedBundle({ certificate: pki.leafPem, certificateChain: pki.rootPem, privateKey: pki.leafKeyPem }),
      'chain_broken', 'certificateChain');
    assertPkiError(() => parseImportedBundle({ privateKey: pki.leafKeyPem }), 'invalid_certificate', 'certificate');
    assertPkiError(() => parseImportedBundle({ certificate: pki.leafPem }), 'invalid_key', 'privateKey');
    assertPkiError(() => parseImportedBundle({ certificate: 'garbage', privateKey: pki.leafKeyPem }), 'invalid_pem', 'certificate');
    assertPkiError(() => parseImportedBundle({ certificate: pki.leafPem, certificateChain: 'garbage', privateKey: pki.leafKeyPem }), 'invalid_pem', 'certificateChain');
    assertPkiError(() => parseImportedBundle({ certificate: pki.leafPem, privateKey: 'garbage' }), 'invalid_pem', 'privateKey');
    assertPkiError(() => parseImportedBundle({ certificate: pki.leafPem + pki.leafKeyPem, privateKey: pki.leafKeyPem }), 'invalid_pem', 'certificate');
    openssl(s.dir, ['pkey', '-in', pki.files.leafKey, '-aes256', '-passout', 'pass:x', '-out', 'enc.key']);
    assertPkiError(() => parseImportedBundle({ certificate: pki.leafPem, privateKey: readFileSync(s.path('enc.key'), 'utf8') }), 'invalid_key', 'privateKey', /encrypted/);
  });

  it('limits each field to 256 KiB', () => {
    const big = 'x'.repeat(MAX_IMPORT_FIELD_BYTES + 1);
    for (const field of ['certificate', 'certificateChain', 'privateKey', 'pkcs12', 'password'] as const) {
      const input: ImportBundleInput = { certificate: pki.leafPem, privateKey: pki.leafKeyPem, [field]: big };
      assertPkiError(() => parseImportedBundle(input), 'too_large', field);
    }
  });

  describe('PKCS#12', () => {
    const p12 = (name: string, extra: string[], chain = true) => {
      writeFileSync(s.path(`${name}-chain.pem`), pki.intermediatePem + pki.rootPem);
      openssl(s.dir, ['pkcs12', '-export', '-in', pki.files.leaf, '-inkey', pki.files.leafKey, ...(chain ? ['-certfile', `${name}-chain.pem`] : []),
        '-passout', 'pass:pw', '-out', `${name}.p12`, ...extra]);
      return readFileSync(s.path(`${name}.p12`)).toString('base64');
    };

    it('reads modern and legacy files and orders their chain', () => {
      for (const [name, extra] of [['b-modern', []], ['b-legacy', ['-legacy']]] as const) {
        const b = parseImportedBundle({ pkcs12: p12(name, [...extra]), password: 'pw' });
        assert.equal(b.leafPem, pki.leafPem);
        assert.deepEqual(b.chainPems, [pki.intermediatePem, pki.rootPem]);
        assert.ok(keyMatchesCertificate(b.privateKey, b.leafPem));
      }
      // Wrapped base64 and a chain given beside a file that lacks it.
      const wrapped = (p12('b-nochain', [], false).match(/.{1,76}/g) ?? []).join('\n');
      const b = parseImportedBundle({ pkcs12: wrapped, password: 'pw', certificateChain: pki.intermediatePem });
      assert.deepEqual(b.chainPems, [pki.intermediatePem]);
    });

    it('names the field at fault', () => {
      const good = p12('b-errors', []);
      assertPkiError(() => parseImportedBundle({ pkcs12: good, password: 'nope' }), 'wrong_password', 'password');
      assertPkiError(() => parseImportedBundle({ pkcs12: good }), 'wrong_password', 'password');
      assertPkiError(() => parseImportedBundle({ pkcs12: 'not base64!', password: 'pw' }), 'invalid_pkcs12', 'pkcs12');
      assertPkiError(() => parseImportedBundle({ pkcs12: Buffer.from('hello world').toString('base64'), password: 'pw' }), 'invalid_pkcs12', 'pkcs12');
      assertPkiError(() => parseImportedBundle({ pkcs12: pki.leafPem, password: 'pw' }), 'invalid_pkcs12', 'pkcs12', /PEM/);
      assertPkiError(() => parseImportedBundle({ pkcs12: good, password: 'pw', certificate: pki.leafPem, privateKey: pki.leafKeyPem }), 'invalid_pkcs12', 'pkcs12', /not both/);
      assertPkiError(() => parseImportedBundle({ pkcs12: good, password: 'pw', certificateChain: other.intermediatePem }), 'chain_broken', 'certificateChain');
    });
  });
});
