import type { KeyObject } from 'node:crypto';
import { keyMatchesCertificate, orderChain, parseCertificate, splitPemCertificates, type CertificateFacts } from './certificate.js';
import { parsePrivateKey } from './keys.js';
import { looksLikePem } from './pem.js';
import { parsePkcs12 } from './pkcs12.js';
import { PkiError } from './pki-error.js';

/** The largest accepted size of each import field, in bytes. */
export const MAX_IMPORT_FIELD_BYTES = 256 * 1024;

/** A user's import: PEM fields, or a base64 PKCS#12 file with its password (DESIGN.md: `/certificates`). */
export interface ImportBundleInput {
  /** The leaf certificate (PEM); the chain may follow it. */
  certificate?: string;
  /** Intermediates (PEM), in any order. */
  certificateChain?: string;
  /** The unencrypted private key (PEM). */
  privateKey?: string;
  /** A PKCS#12 file, base64-encoded. */
  pkcs12?: string;
  /** The PKCS#12 password. */
  password?: string;
}

/** A checked import: the leaf, its ordered chain, its key and its facts. */
export interface ImportedBundle {
  leafPem: string;
  /** Intermediates from the leaf's issuer upward. */
  chainPems: string[];
  privateKey: KeyObject;
  facts: CertificateFacts;
}

const FIELDS = ['certificate', 'certificateChain', 'privateKey', 'pkcs12', 'password'] as const;

/**
 * Checks an import and returns its parts: the certificate must parse, the key must belong to it
 * (`key_mismatch`), and every chain certificate must link (`chain_broken`); the chain may come in
 * any order and may also follow the certificate. Expired certificates are accepted (the caller
 * marks them). Every {@link PkiError} thrown names the `field` at fault.
 */
export function parseImportedBundle(input: ImportBundleInput): ImportedBundle {
  for (const field of FIELDS) {
    const value: unknown = input[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      throw new PkiError(field === 'privateKey' ? 'invalid_key' : field === 'pkcs12' || field === 'password' ? 'invalid_pkcs12' : 'invalid_pem', `${field} must be a string.`, { field });
    }
    if (Buffer.byteLength(value, 'utf8') > MAX_IMPORT_FIELD_BYTES) {
      throw new PkiError('too_large', `${field} is larger than ${MAX_IMPORT_FIELD_BYTES / 1024} KiB; a certificate import is much smaller. Check that you pasted the right file.`, { field });
    }
  }
  const given = (v: string | undefined): v is string => typeof v === 'string' && v.trim() !== '';

  let leafPem: string;
  let chainPems: string[];
  let privateKey: KeyObject;
  let leafField: string;
  if (given(input.pkcs12)) {
    if (given(input.certificate) || given(input.privateKey)) {
      throw new PkiError('invalid_pkcs12', 'Give either a PKCS#12 file or certificate and privateKey in PEM, not both.', { field: 'pkcs12' });
    }
    const p12 = parsePkcs12(decodeBase64(input.pkcs12), input.password ?? '');
    leafPem = p12.certificatePem;
    chainPems = p12.chainPems;
    privateKey = p12.privateKey;
    leafField = 'pkcs12';
  } else {
    if (!given(input.certificate)) {
      throw new PkiError('invalid_certificate', 'certificate is required: give the certificate in PEM (or a PKCS#12 file in pkcs12).', { field: 'certificate' });
    }
    if (!given(input.privateKey)) {
      throw new PkiError('invalid_key', 'privateKey is required: give the unencrypted private key of the certificate in PEM.', { field: 'privateKey' });
    }
    const certs = attribute('certificate', () => splitPemCertificates(input.certificate as string));
    privateKey = attribute('privateKey', () => parsePrivateKey(input.privateKey as string));
    // The leaf is normally first, but accept a reversed paste: it is the certificate of the key.
    const leaf = certs.find((pem) => keyMatchesCertificate(privateKey, pem));
    if (!leaf) {
      const subject = parseCertificate(certs[0] ?? '').subject;
      throw new PkiError('key_mismatch', `The private key does not belong to the certificate "${subject}"; give the key that was generated with this certificate.`, { field: 'privateKey' });
    }
    leafPem = leaf;
    chainPems = certs.filter((pem) => pem !== leaf);
    leafField = 'certificate';
  }
  if (given(input.certificateChain)) {
    chainPems = [...chainPems, ...attribute('certificateChain', () => splitPemCertificates(input.certificateChain as string))];
  }
  const ordered = attribute('certificateChain', () => orderChain(leafPem, chainPems));
  const facts = attribute(leafField, () => parseCertificate(leafPem));
  return { leafPem, chainPems: ordered, privateKey, facts };
}

function attribute<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PkiError) throw err.withField(field);
    throw err;
  }
}

function decodeBase64(text: string): Buffer {
  if (looksLikePem(text)) {
    throw new PkiError('invalid_pkcs12', 'pkcs12 holds PEM text; give PEM in certificate, certificateChain and privateKey, or the .p12/.pfx file base64-encoded in pkcs12.', { field: 'pkcs12' });
  }
  const compact = text.replace(/\s+/g, '');
  const padded = compact.padEnd(compact.length + ((4 - (compact.length % 4)) % 4), '=');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(padded)) {
    throw new PkiError('invalid_pkcs12', 'pkcs12 is not base64; encode the .p12/.pfx file with base64 (for example `base64 -w0 file.p12`).', { field: 'pkcs12' });
  }
  return Buffer.from(padded, 'base64');
}
