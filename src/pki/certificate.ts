import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { DerError, explicit, integerBytes, octets, oid, parseDer, sequence, time, type DerNode } from './der.js';
import { commonNameOf, formatName } from './distinguished-name.js';
import { bytesToIp } from './ip-address.js';
import type { KeyAlgorithm } from './key-algorithm.js';
import { describeKey, keyAlgorithmOf, samePublicKey } from './keys.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { PkiError } from './pki-error.js';

/** What certkeeper records about a certificate (DESIGN.md: the `/certificates` metadata). */
export interface CertificateFacts {
  /** The subject DN as an RFC 4514 string (most specific first). */
  subject: string;
  /** The subject's commonName, or null when it has none. */
  commonName: string | null;
  /** DNS names and IP addresses of the subjectAltName extension, in certificate order. */
  subjectAlternativeNames: string[];
  /** The issuer DN as an RFC 4514 string. */
  issuer: string;
  /** The issuer's commonName, or null. */
  issuerCommonName: string | null;
  /** Lower-case hex without colons or the DER sign octet (OpenSSL's `-serial`, lower-cased). */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, upper-case hex pairs joined by colons (as `openssl x509 -fingerprint -sha256`). */
  fingerprintSha256: string;
  /** The key algorithm when it is one certkeeper issues, else null. */
  keyAlgorithm: KeyAlgorithm | null;
  /** A human description of the public key: `RSA 2048`, `EC P-256`, `Ed25519`, ... */
  keyDescription: string;
  /** basicConstraints cA is true. */
  isCa: boolean;
  /** Issued by itself: names match and its own key verifies its signature. */
  selfSigned: boolean;
}

/** A certificate as PEM text, DER bytes or an already parsed X509Certificate. */
export type CertificateInput = string | Buffer | X509Certificate;

const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/**
 * Parses one certificate (the first CERTIFICATE block of PEM text, or DER) into a node
 * X509Certificate; throws `invalid_pem` / `invalid_certificate` when it cannot.
 */
export function loadCertificate(input: CertificateInput): X509Certificate {
  if (input instanceof X509Certificate) return input;
  let der: Buffer;
  // DER certificates start with a SEQUENCE tag; a Buffer holding PEM text is read as text.
  if (typeof input === 'string' || (input[0] !== 0x30 && input.subarray(0, 1024).toString('latin1').includes('-----BEGIN '))) {
    const text = typeof input === 'string' ? input : input.toString('latin1');
    const block = decodePemBlocks(text).find((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
    if (!block) throw new PkiError('invalid_pem', 'No "-----BEGIN CERTIFICATE-----" block found; give the certificate in PEM form.');
    der = block.der;
  } else {
    der = input;
  }
  try {
    return new X509Certificate(der);
  } catch {
    throw new PkiError('invalid_certificate', 'The data is not a valid X.509 certificate; check that it was copied completely.');
  }
}

/** The facts of one certificate given as PEM (first block) or DER. Expired certificates parse normally. */
export function parseCertificate(pemOrDer: CertificateInput): CertificateFacts {
  const cert = loadCertificate(pemOrDer);
  let tbs: ReturnType<typeof readTbs>;
  try {
    tbs = readTbs(cert.raw);
  } catch (err) {
    if (err instanceof DerError) {
      throw new PkiError('invalid_certificate', `The certificate is malformed (${err.message}); it cannot be imported.`);
    }
    throw err;
  }
  let keyAlgorithm: KeyAlgorithm | null = null;
  let keyDescription = 'unknown';
  try {
    const key = cert.publicKey;
    keyAlgorithm = keyAlgorithmOf(key);
    keyDescription = describeKey(key);
  } catch {
    // A key type this OpenSSL build cannot load (e.g. GOST): keep the defaults.
  }
  return {
    subject: tbs.subject,
    commonName: tbs.commonName,
    subjectAlternativeNames: tbs.subjectAlternativeNames,
    issuer: tbs.issuer,
    issuerCommonName: tbs.issuerCommonName,
    serialNumber: tbs.serialNumber,
    notBefore: tbs.notBefore,
    notAfter: tbs.notAfter,
    fingerprintSha256: cert.fingerprint256,
    keyAlgorithm,
    keyDescription,
    isCa: cert.ca,
    selfSigned: isSelfSigned(cert),
  };
}

function readTbs(der: Buffer) {
  const [tbsNode] = sequence(parseDer(der), 'Certificate');
  const tbs = sequence(tbsNode, 'TBSCertificate');
  let i = 0;
  if (tbs[0]?.cls === 3 && tbs[0].tag === 0) i++; // [0] EXPLICIT version
  const serial = integerBytes(tbs[i++], 'serialNumber');
  i++; // signature AlgorithmIdentifier
  const issuer = tbs[i++];
  const validity = sequence(tbs[i++], 'validity');
  const subject = tbs[i++];
  i++; // subjectPublicKeyInfo
  if (!issuer || !subject) throw new DerError('issuer or subject is missing');
  let extensions: DerNode[] = [];
  for (; i < tbs.length; i++) {
    const node = tbs[i];
    if (node?.cls === 3 && node.tag === 3) extensions = sequence(explicit(node, 3, 'extensions'), 'Extensions');
  }
  return {
    serialNumber: serialHex(serial),
    issuer: formatName(issuer),
    issuerCommonName: commonNameOf(issuer),
    subject: formatName(subject),
    commonName: commonNameOf(subject),
    notBefore: time(validity[0], 'notBefore'),
    notAfter: time(validity[1], 'notAfter'),
    subjectAlternativeNames: subjectAltNames(extensions),
  };
}

function serialHex(bytes: Buffer): string {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start).toString('hex');
}

function subjectAltNames(extensions: DerNode[]): string[] {
  const out: string[] = [];
  for (const ext of extensions) {
    const parts = sequence(ext, 'Extension');
    if (oid(parts[0], 'extnID') !== OID_SUBJECT_ALT_NAME) continue;
    const value = parts[parts.length - 1];
    const generalNames = sequence(parseDer(octets(value, 'extnValue')), 'GeneralNames');
    for (const gn of generalNames) {
      if (gn.cls !== 3) continue;
      if (gn.tag === 2 && !gn.constructed) out.push(Buffer.from(gn.content).toString('latin1')); // dNSName
      if (gn.tag === 7 && !gn.constructed) { // iPAddress
        const ip = bytesToIp(gn.content);
        if (ip) out.push(ip);
      }
    }
  }
  return out;
}

function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/**
 * The certificates of PEM text, each re-encoded as normalised PEM (64-column base64, `\n`,
 * trailing newline). Text around the blocks is ignored. Throws `invalid_pem` when there is no
 * block or a block is not a certificate, and `invalid_certificate` when one does not parse.
 */
export function splitPemCertificates(text: string): string[] {
  const blocks = decodePemBlocks(text);
  return blocks.map((block, i) => {
    const where = blocks.length > 1 ? ` (block ${i + 1} of ${blocks.length})` : '';
    if (block.label === 'TRUSTED CERTIFICATE') {
      throw new PkiError('invalid_pem', `A "TRUSTED CERTIFICATE" block${where} carries OpenSSL trust settings; convert it with \`openssl x509 -in cert.pem -out plain.pem\` first.`);
    }
    if (block.label !== 'CERTIFICATE' && block.label !== 'X509 CERTIFICATE') {
      const hint = block.label.includes('PRIVATE KEY') ? ' Give the private key in its own field.' : '';
      throw new PkiError('invalid_pem', `Expected only CERTIFICATE blocks but found a "${block.label}" block${where}.${hint}`);
    }
    try {
      new X509Certificate(block.der);
    } catch {
      throw new PkiError('invalid_certificate', `The certificate${where} is not a valid X.509 certificate; check that it was copied completely.`);
    }
    return encodePem(block.der, 'CERTIFICATE');
  });
}

/** True when `child` names `parent` as its issuer and `parent`'s key verifies `child`'s signature. */
export function verifyIssuedBy(child: CertificateInput, parent: CertificateInput): boolean {
  const c = loadCertificate(child);
  const p = loadCertificate(parent);
  try {
    return c.checkIssued(p) && c.verify(p.publicKey);
  } catch {
    return false; // e.g. a signature algorithm this OpenSSL cannot verify
  }
}

/**
 * The intermediates of `leafPem` ordered from the one that issued the leaf upward, ending with a
 * self-signed root when one was given. `others` may come in any order; duplicates and copies of
 * the leaf are dropped. A certificate that does not link into this chain is refused with
 * `chain_broken` naming its subject.
 */
export function orderChain(leafPem: string, others: string[]): string[] {
  const leaf = loadCertificate(leafPem);
  const seen = new Set<string>([fingerprint(leaf)]);
  const remaining: X509Certificate[] = [];
  for (const pem of others) {
    const cert = loadCertificate(pem);
    const fp = fingerprint(cert);
    if (seen.has(fp)) continue;
    seen.add(fp);
    remaining.push(cert);
  }
  const ordered: X509Certificate[] = [];
  let current = leaf;
  while (remaining.length > 0 && !isSelfSigned(current)) {
    const issuers = remaining.filter((c) => verifyIssuedBy(current, c));
    // Prefer an issuer that leads further up (a cross-signed intermediate over a same-named root).
    const next = issuers.find((c) => !isSelfSigned(c)) ?? issuers[0];
    if (!next) break;
    ordered.push(next);
    remaining.splice(remaining.indexOf(next), 1);
    current = next;
  }
  const stray = remaining[0];
  if (stray) {
    const subject = describeSubject(stray);
    const top = describeSubject(current);
    throw new PkiError(
      'chain_broken',
      `The certificate "${subject}" does not link into the chain: the chain ends at "${top}", which it did not issue. ` +
        'Remove it, or add the missing intermediate certificate between them.',
    );
  }
  return ordered.map((c) => encodePem(c.raw, 'CERTIFICATE'));
}

function describeSubject(cert: X509Certificate): string {
  try {
    return parseCertificate(cert).subject;
  } catch {
    return cert.subject.replace(/\n/g, ', ');
  }
}

function fingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** True when `key` (private or public) is the key pair of the certificate's public key. */
export function keyMatchesCertificate(key: KeyObject, certPem: CertificateInput): boolean {
  const cert = loadCertificate(certPem);
  try {
    return samePublicKey(key, cert.publicKey);
  } catch {
    return false;
  }
}

/** PEM text for DER bytes (a certificate unless `label` says otherwise). */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  return encodePem(der, label);
}

/** The DER bytes of the first PEM block of `pem` (of the given label, when one is given). */
export function pemToDer(pem: string, label?: string): Buffer {
  const blocks = decodePemBlocks(pem);
  const block = label === undefined ? blocks[0] : blocks.find((b) => b.label === label);
  if (!block) throw new PkiError('invalid_pem', `No "-----BEGIN ${label ?? ''}-----" block found.`);
  return block.der;
}
