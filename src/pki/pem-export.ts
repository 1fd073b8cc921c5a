import { splitPemCertificates } from './certificate.js';

/** A certificate version as PEM files, the way servers want them. */
export interface PemExport {
  /** The leaf certificate alone (`cert.pem`). */
  certificate: string;
  /** The intermediates, issuer of the leaf first (`chain.pem`); empty when there are none. */
  chain: string;
  /** Leaf followed by the chain (`fullchain.pem`, for nginx and most servers). */
  fullchain: string;
  /** The private key, only when one was given (`privkey.pem`). */
  privateKey?: string;
}

/** The PEM files of a certificate version; every certificate is re-encoded as normalised PEM. */
export function buildPemExport(input: { leafPem: string; chainPems: string[]; privateKeyPem?: string }): PemExport {
  const [certificate = ''] = splitPemCertificates(input.leafPem);
  const chain = input.chainPems.flatMap((pem) => splitPemCertificates(pem)).join('');
  const out: PemExport = { certificate, chain, fullchain: certificate + chain };
  if (input.privateKeyPem !== undefined) out.privateKey = `${input.privateKeyPem.trim()}\n`;
  return out;
}
