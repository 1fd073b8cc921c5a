import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  keyMatchesCertificate, loadCertificate, orderChain, parseCertificate, pemToDer, splitPemCertificates, toPem, verifyIssuedBy,
} from '../../src/pki/certificate.js';
import { parsePrivateKey } from '../../src/pki/keys.js';
import { PkiError } from '../../src/pki/pki-error.js';
import { makeOpensslPki, openssl, scratchDir, type OpensslPki } from './openssl-fixture.js';

function shuffled<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

describe('certificates', () => {
  const s = scratchDir();
  let pki: OpensslPki;
  let other: OpensslPki;
  before(() => {
    pki = makeOpensslPki(s.dir, { prefix: 'a', leafKey: 'rsa2048', names: ['DNS:leaf.example.com', 'DNS:*.leaf.example.com', 'IP:192.0.2.7', 'IP:2001:db8::7'] });
    other = makeOpensslPki(s.dir, { prefix: 'b', leafKey: 'ec384' });
  });
  after(() => s.remove());

  describe('parseCertificate', () => {
    it('matches what openssl says about the same certificate', () => {
      const facts = parseCertificate(pki.leafPem);
      const out = openssl(s.dir, ['x509', '-in', pki.files.leaf, '-noout', '-serial', '-fingerprint', '-sha256', '-dates']);
      const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(out)?.[1] ?? '';
      assert.equal(facts.serialNumber, field('serial').toLowerCase());
      assert.equal(facts.serialNumber, '8f1a2b3c4d5e6f7081'); // no DER sign octet
      assert.equal(facts.fingerprintSha256, field('sha256 Fingerprint'));
      assert.match(facts.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.equal(facts.notBefore.getTime(), new Date(field('notBefore')).getTime());
      assert.equal(facts.notAfter.getTime(), new Date(field('notAfter')).getTime());
      assert.deepEqual(facts.subjectAlternativeNames, ['leaf.example.com', '*.leaf.example.com', '192.0.2.7', '2001:db8::7']);
      assert.equal(facts.commonName, 'leaf.example.com');
      assert.equal(facts.issuerCommonName, 'a Intermediate');
      assert.equal(facts.keyAlgorithm, 'rsa2048');
      assert.equal(facts.keyDescription, 'RSA 2048');
      assert.equal(facts.isCa, false);
      assert.equal(facts.selfSigned, false);
      const rfc2253 = (file: string, what: string) =>
        openssl(s.dir, ['x509', '-in', file, '-noout', `-${what}`, '-nameopt', 'RFC2253']).trim().replace(/^\w+=/, '');
      assert.equal(facts.subject, rfc2253(pki.files.leaf, 'subject'));
      assert.equal(facts.issuer, rfc2253(pki.files.leaf, 'issuer'));
      assert.equal(facts.issuer, 'CN=a Intermediate,O=Certkeeper Tests,C=DE');
    });

    it('knows roots and EC keys, and accepts DER and Buffers', () => {
      const root = parseCertificate(Buffer.from(pemToDer(pki.rootPem)));
      assert.equal(root.isCa, true);
      assert.equal(root.selfSigned, true);
      assert.equal(root.subject, root.issuer);
      assert.equal(root.keyAlgorithm, 'ecdsa256');
      assert.equal(root.keyDescription, 'EC P-256');
      assert.deepEqual(root.subjectAlternativeNames, []);
      const leafB = parseCertificate(Buffer.from(other.leafPem));
      assert.equal(leafB.keyAlgorithm, 'ecdsa384');
      assert.equal(leafB.serialNumber, '8f1a2b3c4d5e6f7081');
    });

    it('formats names with escapes and multi-valued RDNs as openssl RFC2253 does', () => {
      openssl(s.dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'odd.key', '-out', 'odd.pem',
        '-days', '1', '-multivalue-rdn', '-subj', '/C=US/O=Example\\, Inc./OU=a+OU=b/CN=#odd; name <x> "q" /emailAddress=ops@example.com',
        '-set_serial', '0x00']);
      const facts = parseCertificate(readFileSync(s.path('odd.pem'), 'utf8'));
      const expected = openssl(s.dir, ['x509', '-in', 'odd.pem', '-noout', '-subject', '-nameopt', 'RFC2253']).trim().replace(/^subject=/, '');
      assert.equal(facts.subject, expected);
      assert.equal(facts.commonName, '#odd; name <x> "q" ');
      assert.equal(facts.serialNumber, '00');
      assert.equal(facts.selfSigned, true);
      assert.equal(facts.isCa, true); // openssl req -x509 marks CA:TRUE by default
    });

    it('refuses garbage with typed errors', () => {
      assert.throws(() => parseCertificate('nothing here'), { code: 'invalid_pem' });
      assert.throws(() => parseCertificate(Buffer.from('not der at all')), { code: 'invalid_certificate' });
      assert.throws(() => parseCertificate(pki.leafKeyPem), { code: 'invalid_pem' });
    });
  });

  describe('splitPemCertificates', () => {
    it('returns each certificate as normalised PEM and ignores text between blocks', () => {
      const messy = `subject=CN = leaf\r\n${pki.leafPem.replace(/\n/g, '\r\n')}\nsome note\n  ${pki.intermediatePem}`;
      const out = splitPemCertificates(messy);
      assert.equal(out.length, 2);
      assert.equal(out[0], pki.leafPem);
      assert.equal(out[1], pki.intermediatePem);
      const long = pki.leafPem.replace(/\n(?!-----)/g, '').replace('-----END', '\n-----END').replace('-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----\n');
      assert.deepEqual(splitPemCertificates(long), [pki.leafPem]);
    });

    it('refuses garbage, keys and damaged blocks', () => {
      assert.throws(() => splitPemCertificates(''), { code: 'invalid_pem' });
      assert.throws(() => splitPemCertificates('garbage'), { code: 'invalid_pem' });
      assert.throws(() => splitPemCertificates(pki.leafPem + pki.leafKeyPem), (err: unknown) => {
        assert.ok(err instanceof PkiError);
        assert.equal(err.code, 'invalid_pem');
        assert.match(err.message, /PRIVATE KEY.*block 2 of 2.*own field/);
        return true;
      });
      assert.throws(() => splitPemCertificates(pki.leafPem.replace('-----END CERTIFICATE-----\n', '')), { code: 'invalid_pem', message: /no matching END/ });
      assert.throws(() => splitPemCertificates(pki.leafPem.replace(/\n[A-Za-z0-9+/]{10}/, '\n')), { code: 'invalid_pem' });
      const cut = pki.leafPem.split('\n');
      cut.splice(3, 2);
      assert.throws(() => splitPemCertificates(cut.join('\n')), { code: /invalid_(pem|certificate)/ });
    });
  });

  describe('chains', () => {
    it('verifyIssuedBy follows real signatures only', () => {
      assert.ok(verifyIssuedBy(pki.leafPem, pki.intermediatePem));
      assert.ok(verifyIssuedBy(pki.intermediatePem, pki.rootPem));
      assert.ok(verifyIssuedBy(pki.rootPem, pki.rootPem));
      assert.ok(!verifyIssuedBy(pki.leafPem, pki.rootPem));
      assert.ok(!verifyIssuedBy(pki.leafPem, other.intermediatePem));
      assert.ok(!verifyIssuedBy(pki.intermediatePem, pki.leafPem));
    });

    it('orders shuffled intermediates upward, dropping duplicates and the leaf', () => {
      for (let round = 0; round < 5; round++) {
        const input = shuffled([pki.rootPem, pki.intermediatePem, pki.leafPem, pki.intermediatePem]);
        assert.deepEqual(orderChain(pki.leafPem, input), [pki.intermediatePem, pki.rootPem]);
      }
      assert.deepEqual(orderChain(pki.leafPem, [pki.intermediatePem]), [pki.intermediatePem]);
      assert.deepEqual(orderChain(pki.leafPem, []), []);
      assert.deepEqual(orderChain(pki.rootPem, [pki.rootPem]), []);
    });

    it('refuses a certificate that does not link, naming its subject', () => {
      assert.throws(() => orderChain(pki.leafPem, [pki.intermediatePem, other.intermediatePem]), (err: unknown) => {
        assert.ok(err instanceof PkiError);
        assert.equal(err.code, 'chain_broken');
        assert.match(err.message, /"CN=b Intermediate,O=Certkeeper Tests,C=DE"/);
        return true;
      });
      // The intermediate is missing: the root does not link to the leaf.
      assert.throws(() => orderChain(pki.leafPem, [pki.rootPem]), { code: 'chain_broken', message: /a Root/ });
    });
  });

  describe('keys and PEM', () => {
    it('keyMatchesCertificate compares public keys', () => {
      const key = parsePrivateKey(pki.leafKeyPem);
      assert.ok(keyMatchesCertificate(key, pki.leafPem));
      assert.ok(!keyMatchesCertificate(key, other.leafPem));
      assert.ok(!keyMatchesCertificate(parsePrivateKey(other.leafKeyPem), pki.leafPem));
      assert.ok(keyMatchesCertificate(new X509Certificate(pki.leafPem).publicKey, pki.leafPem));
    });

    it('toPem and pemToDer round-trip', () => {
      const der = pemToDer(pki.leafPem);
      assert.deepEqual(der, loadCertificate(pki.leafPem).raw);
      assert.equal(toPem(der), pki.leafPem);
      assert.match(toPem(Buffer.from('hi'), 'TEST'), /^-----BEGIN TEST-----\naGk=\n-----END TEST-----\n$/);
      assert.throws(() => pemToDer(pki.leafPem, 'PRIVATE KEY'), { code: 'invalid_pem' });
    });
  });
});
