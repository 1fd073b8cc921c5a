import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildPemExport } from '../../src/pki/pem-export.js';
import { splitPemCertificates } from '../../src/pki/certificate.js';
import { makeOpensslPki, scratchDir, type OpensslPki } from './openssl-fixture.js';

describe('buildPemExport', () => {
  const s = scratchDir();
  let pki: OpensslPki;
  before(() => {
    pki = makeOpensslPki(s.dir, { prefix: 'exp' });
  });
  after(() => s.remove());

  it('builds certificate, chain and fullchain, with the key only when given', () => {
    const out = buildPemExport({ leafPem: pki.leafPem.replace(/\n/g, '\r\n'), chainPems: [pki.intermediatePem, pki.rootPem] });
    assert.equal(out.certificate, pki.leafPem);
    assert.equal(out.chain, pki.intermediatePem + pki.rootPem);
    assert.equal(out.fullchain, pki.leafPem + pki.intermediatePem + pki.rootPem);
    assert.deepEqual(splitPemCertificates(out.fullchain).length, 3);
    assert.equal('privateKey' in out, false);

    const withKey = buildPemExport({ leafPem: pki.leafPem, chainPems: [], privateKeyPem: `${pki.leafKeyPem}\n\n` });
    assert.equal(withKey.chain, '');
    assert.equal(withKey.fullchain, pki.leafPem);
    assert.equal(withKey.privateKey, pki.leafKeyPem);
  });
});
