// Keys generated on the agent: stored 0600 as PKCS#8, CSR verified by openssl, names in it, never re-generated.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { agentKeyPath, createAgentCsr } from '../../src/agent/keys.js';
import type { AgentCsrWork } from '../../src/deploy/types.js';
import { scratch } from './fixtures.js';

const opensslReq = (csr: string, args: string[]) => execFileSync('openssl', ['req', '-noout', ...args], { input: csr, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

describe('agent keys and CSRs', () => {
  const s = scratch();
  after(() => s.remove());

  const cases: [AgentCsrWork['keyAlgorithm'], RegExp][] = [
    ['ecdsa256', /ASN1 OID: prime256v1/],
    ['ecdsa384', /ASN1 OID: secp384r1/],
    ['rsa2048', /Public-Key: \(2048 bit\)/],
    ['rsa3072', /Public-Key: \(3072 bit\)/],
  ];
  for (const [keyAlgorithm, keyText] of cases) {
    it(`${keyAlgorithm}: key stored 0600 (PKCS#8), CSR verified by openssl with the names`, async () => {
      const work: AgentCsrWork = { kind: 'csr', id: `req-${keyAlgorithm}`, keyId: `key-${keyAlgorithm}`, keyAlgorithm, commonName: 'app.example.test', names: ['app.example.test', 'api.example.test', '192.0.2.10'] };
      const csr = await createAgentCsr(s.dir, work);
      assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
      assert.doesNotMatch(csr, /PRIVATE KEY/);
      const verify = execFileSync('openssl', ['req', '-verify', '-noout'], { input: csr, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
      assert.equal(verify, '');
      const text = opensslReq(csr, ['-text']);
      assert.match(text, /Subject: CN = app\.example\.test/);
      assert.match(text, /DNS:app\.example\.test, DNS:api\.example\.test, IP Address:192\.0\.2\.10/);
      assert.match(text, keyText);
      const keyFile = agentKeyPath(s.dir, work.keyId);
      assert.equal(keyFile, join(s.dir, 'keys', `${work.keyId}.pem`));
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      const keyPem = readFileSync(keyFile, 'utf8');
      assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      // The CSR is signed by the stored key.
      const csrPub = opensslReq(csr, ['-pubkey']);
      const keyPub = execFileSync('openssl', ['pkey', '-pubout'], { input: keyPem, encoding: 'utf8' });
      assert.equal(csrPub, keyPub);
    });
  }

  it('the same key id again reuses the stored key (a lost answer is retried with the same key)', async () => {
    const work: AgentCsrWork = { kind: 'csr', id: 'again', keyId: 'key-again', keyAlgorithm: 'ecdsa256', commonName: 'again.test', names: [] };
    const first = await createAgentCsr(s.dir, work);
    const second = await createAgentCsr(s.dir, work);
    assert.equal(opensslReq(first, ['-pubkey']), opensslReq(second, ['-pubkey']));
    await assert.rejects(createAgentCsr(s.dir, { ...work, keyAlgorithm: 'rsa2048' }), /already exists as ecdsa256/);
  });

  it('refuses key ids that are not plain file names', async () => {
    for (const keyId of ['../escape', '.hidden', 'a/b', 'a\\b', '']) {
      await assert.rejects(createAgentCsr(s.dir, { kind: 'csr', id: 'x', keyId, keyAlgorithm: 'ecdsa256', commonName: 'x.test', names: [] }), /not a valid key id/);
    }
  });
});
