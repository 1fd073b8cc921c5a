/** Deployment material from real certificates (a root → intermediate → leaf chain made with openssl). */
import { randomUUID } from 'node:crypto';
import { parseCertificate } from '../../../src/pki/certificate.js';
import type { DeployMaterial } from '../../../src/deploy/types.js';
import { makeChain, type TestChain } from '../../harness/openssl-ca.js';

/** Material plus the chain it came from. */
export type TestMaterial = DeployMaterial & { chain: TestChain };

/** A fresh certificate version for `cn` (and `sans`), with its key. */
export function makeMaterial(cn = 'www.deploy.test', sans: string[] = []): TestMaterial {
  const chain = makeChain(cn, sans);
  const facts = parseCertificate(chain.leafPem);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return {
    chain,
    certificateId: randomUUID(),
    name: `${cn}_${stamp}`,
    commonName: cn,
    names: [cn, ...sans],
    serialNumber: facts.serialNumber,
    notAfter: facts.notAfter.toISOString(),
    certificatePem: chain.leafPem,
    chainPem: chain.intermediatePem,
    fullchainPem: `${chain.leafPem}${chain.intermediatePem}`,
    privateKeyPem: chain.leafKeyPem,
  };
}

/**
 * The base64 body lines of a PEM text (what must never show up in a message or output). A key's
 * PKCS#8 also holds its public key, which the certificate carries too and may line up with it in
 * base64: lines found in `publicTexts` are not secret and are left out.
 */
export function pemBodyLines(pem: string, publicTexts: readonly string[] = []): string[] {
  const pub = publicTexts.map((t) => t.replace(/\s+/g, ''));
  return pem.split(/\r?\n/).filter((l) => l.length >= 16 && !l.startsWith('-----') && !pub.some((p) => p.includes(l)));
}
