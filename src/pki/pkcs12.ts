import { createHash, createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { loadCertificate } from './certificate.js';
import {
  DerError, derSetOf, expect, explicit, expectContext, octets, oid, parseDer, sequence, smallInt, TAG, toDer, type DerNode,
} from './der.js';
import { parsePrivateKeyDer, privateKeyToDer, samePublicKey } from './keys.js';
import { DecryptionFailed, MAX_ITERATIONS, pbeDecrypt, pbes2Encrypt, type Pkcs12Password } from './pbe.js';
import { encodePem } from './pem.js';
import { bmpPassword, isPkcs12KdfHash, KDF_ID, pkcs12Kdf } from './pkcs12-kdf.js';
import { PkiError } from './pki-error.js';

/** The largest PKCS#12 file accepted, in octets. */
export const MAX_PKCS12_BYTES = 1024 * 1024;
/** KDF iterations {@link createPkcs12} uses unless told otherwise (as Java's keytool; OpenSSL 3 uses 2048). */
export const DEFAULT_PKCS12_ITERATIONS = 10_000;

/** The useful contents of a PKCS#12 file. */
export interface Pkcs12Contents {
  /** The certificate of the private key. */
  certificatePem: string;
  /** The other certificates, in file order (not sorted into a chain). */
  chainPems: string[];
  privateKey: KeyObject;
}

/** Options of {@link createPkcs12}. */
export interface CreatePkcs12Options {
  certificatePem: string;
  chainPems: string[];
  privateKey: KeyObject;
  password: string;
  /** Shown as the entry's name by Windows, Java and browsers. */
  friendlyName?: string;
  /** KDF iterations for encryption and MAC; at least 2048. Default {@link DEFAULT_PKCS12_ITERATIONS}. */
  iterations?: number;
}

const OID = {
  DATA: '1.2.840.113549.1.7.1',
  ENCRYPTED_DATA: '1.2.840.113549.1.7.6',
  ENVELOPED_DATA: '1.2.840.113549.1.7.3',
  SIGNED_DATA: '1.2.840.113549.1.7.2',
  KEY_BAG: '1.2.840.113549.1.12.10.1.1',
  SHROUDED_KEY_BAG: '1.2.840.113549.1.12.10.1.2',
  CERT_BAG: '1.2.840.113549.1.12.10.1.3',
  SAFE_CONTENTS_BAG: '1.2.840.113549.1.12.10.1.6',
  X509_CERTIFICATE: '1.2.840.113549.1.9.22.1',
  FRIENDLY_NAME: '1.2.840.113549.1.9.20',
  LOCAL_KEY_ID: '1.2.840.113549.1.9.21',
  PBMAC1: '1.2.840.113549.1.5.14',
  SHA256: '2.16.840.1.101.3.4.2.1',
} as const;

const MAC_HASHES: Record<string, string> = {
  '1.2.840.113549.2.5': 'md5',
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

interface Bag {
  localKeyId?: Buffer;
  der: Buffer;
}

/** What parsing learnt so far; decides whether a decryption failure means "wrong password". */
interface ParseState {
  password: Pkcs12Password;
  macVerified: boolean;
  decryptAttempted: boolean;
  keys: Bag[];
  certs: Bag[];
}

/**
 * Reads a PKCS#12 (PFX) file: modern ones (PBES2: PBKDF2 + AES, HMAC-SHA-256 MAC; OpenSSL 3's
 * default) and legacy ones (SHA-1 PBES1 with 3DES or RC2, SHA-1 MAC; `-legacy`, older Windows and
 * Java). The MAC is verified first, so a wrong password gives `wrong_password`. The leaf is the
 * certificate of the (single) private key. Refuses input over {@link MAX_PKCS12_BYTES} (`too_large`)
 * and anything that is not PKCS#12 (`invalid_pkcs12`).
 */
export function parsePkcs12(der: Buffer, password: string): Pkcs12Contents {
  if (der.length > MAX_PKCS12_BYTES) {
    throw new PkiError('too_large', `The PKCS#12 file has ${der.length} bytes; at most ${MAX_PKCS12_BYTES} are accepted.`);
  }
  const candidates = password === ''
    ? [bmpPassword(''), Buffer.alloc(0)] // OpenSSL accepts both encodings of an empty password
    : [bmpPassword(password)];
  const utf8 = Buffer.from(password, 'utf8');
  const state: ParseState = { password: { bmp: candidates[0] ?? Buffer.alloc(0), utf8 }, macVerified: false, decryptAttempted: false, keys: [], certs: [] };
  try {
    const pfx = sequence(parseDer(der), 'PFX');
    if (smallInt(pfx[0], 'PFX version') !== 3) throw new DerError('the PFX version is not 3');
    const [typeNode, contentNode] = sequence(pfx[1], 'authSafe ContentInfo');
    const authType = oid(typeNode, 'authSafe content type');
    if (authType === OID.SIGNED_DATA) {
      throw new PkiError('unsupported_algorithm', 'The PKCS#12 file uses public-key integrity protection, which is not supported; re-export it with a password.');
    }
    if (authType !== OID.DATA) throw new DerError('the authSafe is not of type data');
    const authSafe = octets(explicit(contentNode, 0, 'authSafe content'), 'authSafe content');
    if (pfx[2]) {
      const matched = verifyMac(pfx[2], authSafe, candidates);
      if (!matched) throw new PkiError('wrong_password', 'The PKCS#12 password is wrong; enter the password the file was exported with.', { field: 'password' });
      state.password = { bmp: matched, utf8 };
      state.macVerified = true;
    }
    for (const ci of sequence(parseDer(authSafe), 'AuthenticatedSafe')) readContentInfo(ci, state);
  } catch (err) {
    throw toPkiError(err, state);
  }
  return pickLeaf(state);
}

function verifyMac(macData: DerNode, authSafe: Buffer, candidates: Buffer[]): Buffer | null {
  const [digestInfo, saltNode, iterNode] = sequence(macData, 'MacData');
  const [algId, digestNode] = sequence(digestInfo, 'MAC DigestInfo');
  const algOid = oid(sequence(algId, 'MAC algorithm')[0], 'MAC algorithm');
  if (algOid === OID.PBMAC1) {
    throw new PkiError('unsupported_algorithm', 'The PKCS#12 file uses a PBMAC1 MAC, which is not supported yet; re-export it without `-pbmac1_pbkdf2`.');
  }
  const hash = MAC_HASHES[algOid];
  if (!hash || !isPkcs12KdfHash(hash)) {
    throw new PkiError('unsupported_algorithm', `The PKCS#12 MAC uses an unsupported digest (${algOid}); re-export it with \`openssl pkcs12 -export\`.`);
  }
  const expected = octets(expect(digestNode, TAG.OCTET_STRING, 'MAC digest'), 'MAC digest');
  const salt = octets(expect(saltNode, TAG.OCTET_STRING, 'MAC salt'), 'MAC salt');
  const iterations = iterNode ? smallInt(iterNode, 'MAC iterations') : 1;
  if (iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new PkiError('invalid_pkcs12', `The PKCS#12 MAC asks for ${iterations} iterations; at most ${MAX_ITERATIONS} are accepted. Re-export it with fewer.`);
  }
  const size = createHash(hash).digest().length;
  for (const pw of candidates) {
    const key = pkcs12Kdf(hash, pw, salt, iterations, KDF_ID.MAC, size);
    const mac = createHmac(hash, key).update(authSafe).digest();
    if (mac.length === expected.length && timingSafeEqual(mac, expected)) return pw;
  }
  return null;
}

function readContentInfo(ci: DerNode, state: ParseState): void {
  const [typeNode, contentNode] = sequence(ci, 'ContentInfo');
  const type = oid(typeNode, 'ContentInfo type');
  if (type === OID.DATA) {
    readSafeContents(octets(explicit(contentNode, 0, 'data content'), 'data content'), state, 0);
  } else if (type === OID.ENCRYPTED_DATA) {
    const [, eci] = sequence(explicit(contentNode, 0, 'EncryptedData'), 'EncryptedData');
    const [, algorithm, encrypted] = sequence(eci, 'EncryptedContentInfo');
    if (!algorithm) throw new DerError('EncryptedContentInfo has no algorithm');
    const ciphertext = octets(expectContext(encrypted, 0, 'encryptedContent'), 'encryptedContent');
    readSafeContents(decrypt(algorithm, ciphertext, state), state, 0);
  } else if (type === OID.ENVELOPED_DATA) {
    throw new PkiError('unsupported_algorithm', 'The PKCS#12 file uses public-key privacy protection, which is not supported; re-export it with a password.');
  } else {
    throw new DerError(`unknown content type ${type}`);
  }
}

function readSafeContents(der: Buffer, state: ParseState, depth: number): void {
  if (depth > 4) throw new DerError('safe contents nested too deeply');
  for (const bagNode of sequence(parseDer(der), 'SafeContents')) {
    const [idNode, valueNode, attrsNode] = sequence(bagNode, 'SafeBag');
    const bagId = oid(idNode, 'bagId');
    const value = explicit(valueNode, 0, 'bagValue');
    const localKeyId = attrsNode ? readLocalKeyId(attrsNode) : undefined;
    const withId = (der: Buffer): Bag => (localKeyId ? { der, localKeyId } : { der });
    switch (bagId) {
      case OID.KEY_BAG:
        state.keys.push(withId(Buffer.from(expect(value, TAG.SEQUENCE, 'PrivateKeyInfo').raw)));
        break;
      case OID.SHROUDED_KEY_BAG: {
        const [algorithm, data] = sequence(value, 'EncryptedPrivateKeyInfo');
        if (!algorithm) throw new DerError('EncryptedPrivateKeyInfo has no algorithm');
        state.keys.push(withId(decrypt(algorithm, octets(expect(data, TAG.OCTET_STRING, 'encryptedData'), 'encryptedData'), state)));
        break;
      }
      case OID.CERT_BAG: {
        const [certType, certValue] = sequence(value, 'CertBag');
        if (oid(certType, 'certId') !== OID.X509_CERTIFICATE) break; // SDSI certificates: ignore
        state.certs.push(withId(octets(explicit(certValue, 0, 'certValue'), 'certValue')));
        break;
      }
      case OID.SAFE_CONTENTS_BAG:
        readSafeContents(Buffer.from(value.raw), state, depth + 1);
        break;
      default:
        break; // CRL and secret bags carry nothing certkeeper keeps
    }
  }
}

function readLocalKeyId(attrs: DerNode): Buffer | undefined {
  for (const attr of expect(attrs, TAG.SET, 'bagAttributes').children) {
    const [typeNode, values] = sequence(attr, 'PKCS12Attribute');
    if (oid(typeNode, 'attribute type') !== OID.LOCAL_KEY_ID) continue;
    const first = expect(values, TAG.SET, 'attribute values').children[0];
    return first ? octets(expect(first, TAG.OCTET_STRING, 'localKeyId'), 'localKeyId') : undefined;
  }
  return undefined;
}

function decrypt(algorithm: DerNode, data: Buffer, state: ParseState): Buffer {
  state.decryptAttempted = true;
  return pbeDecrypt(algorithm, data, state.password);
}

function toPkiError(err: unknown, state: ParseState): PkiError {
  if (err instanceof PkiError) return err.code === 'wrong_password' ? err : err.withField('pkcs12');
  // Without a MAC, a wrong password shows up as bad padding or as garbage after decryption.
  if (!state.macVerified && state.decryptAttempted && (err instanceof DecryptionFailed || err instanceof DerError)) {
    return new PkiError('wrong_password', 'The PKCS#12 password is wrong (the file could not be decrypted); enter the password the file was exported with.', { field: 'password' });
  }
  if (err instanceof DecryptionFailed) {
    return new PkiError('invalid_pkcs12', 'The PKCS#12 file is damaged: its MAC is correct but its contents do not decrypt.', { field: 'pkcs12' });
  }
  const detail = err instanceof DerError ? ` (${err.message})` : '';
  return new PkiError('invalid_pkcs12', `The data is not a readable PKCS#12 file${detail}; upload the .p12/.pfx file itself, base64-encoded.`, { field: 'pkcs12', cause: err });
}

function pickLeaf(state: ParseState): Pkcs12Contents {
  if (state.keys.length === 0) {
    throw new PkiError('invalid_pkcs12', 'The PKCS#12 file holds no private key; export it again including the private key.', { field: 'pkcs12' });
  }
  if (state.keys.length > 1) {
    throw new PkiError('invalid_pkcs12', `The PKCS#12 file holds ${state.keys.length} private keys; export one certificate with its key at a time.`, { field: 'pkcs12' });
  }
  const keyBag = state.keys[0] as Bag;
  let privateKey: KeyObject;
  try {
    privateKey = parsePrivateKeyDer(keyBag.der);
  } catch {
    if (!state.macVerified) throw new PkiError('wrong_password', 'The PKCS#12 password is wrong (the key could not be decrypted); enter the password the file was exported with.', { field: 'password' });
    throw new PkiError('invalid_key', 'The private key in the PKCS#12 file is not readable.', { field: 'pkcs12' });
  }
  // Certificates: parse all, drop duplicates, keep file order.
  const certs: { der: Buffer; localKeyId?: Buffer; x509: ReturnType<typeof loadCertificate> }[] = [];
  const seen = new Set<string>();
  for (const bag of state.certs) {
    const fp = createHash('sha256').update(bag.der).digest('hex');
    if (seen.has(fp)) continue;
    seen.add(fp);
    let x509;
    try {
      x509 = loadCertificate(bag.der);
    } catch (err) {
      throw err instanceof PkiError ? err.withField('pkcs12') : err;
    }
    certs.push({ ...bag, x509 });
  }
  if (certs.length === 0) {
    throw new PkiError('invalid_pkcs12', 'The PKCS#12 file holds no certificate; export it again including the certificate.', { field: 'pkcs12' });
  }
  const matchesKey = (c: (typeof certs)[number]) => {
    try {
      return samePublicKey(privateKey, c.x509.publicKey);
    } catch {
      return false;
    }
  };
  // RFC 7292 §4.2: localKeyId pairs a key with its certificate; the public key settles any doubt.
  const byId = keyBag.localKeyId ? certs.find((c) => c.localKeyId?.equals(keyBag.localKeyId as Buffer) && matchesKey(c)) : undefined;
  const leaf = byId ?? certs.find(matchesKey);
  if (!leaf) {
    throw new PkiError('key_mismatch', 'No certificate in the PKCS#12 file belongs to its private key; export the certificate together with its own key.', { field: 'pkcs12' });
  }
  return {
    certificatePem: encodePem(leaf.der, 'CERTIFICATE'),
    chainPems: certs.filter((c) => c !== leaf).map((c) => encodePem(c.der, 'CERTIFICATE')),
    privateKey,
  };
}

/**
 * A PKCS#12 file of the certificate, its chain and its private key, protected with modern
 * algorithms that OpenSSL 3, Windows 10+ and Java read: PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC)
 * for the certificates and for the key, and an HMAC-SHA-256 MAC. Throws `key_mismatch` when the
 * key does not belong to the certificate.
 */
export function createPkcs12(opts: CreatePkcs12Options): Buffer {
  const iterations = opts.iterations ?? DEFAULT_PKCS12_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 2048 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`PKCS#12 iterations must be an integer from 2048 to ${MAX_ITERATIONS}`);
  }
  const leaf = loadCertificate(opts.certificatePem);
  let matches = false;
  try {
    matches = samePublicKey(opts.privateKey, leaf.publicKey);
  } catch {
    matches = false;
  }
  if (!matches) throw new PkiError('key_mismatch', 'The private key does not belong to the certificate; export the certificate with its own key.');
  const chain = opts.chainPems.map((pem) => loadCertificate(pem).raw);

  // OpenSSL's convention: localKeyId is the SHA-1 of the certificate.
  const localKeyId = createHash('sha1').update(leaf.raw).digest();
  const attributes = bagAttributes(localKeyId, opts.friendlyName);

  const certBags = [leaf.raw, ...chain].map((der, i) =>
    safeBag(OID.CERT_BAG, new asn1js.Sequence({
      value: [new asn1js.ObjectIdentifier({ value: OID.X509_CERTIFICATE }), explicitTag(0, new asn1js.OctetString({ valueHex: der }))],
    }), i === 0 ? attributes : undefined));
  const certContents = toDer(new asn1js.Sequence({ value: certBags }));
  const certEnc = pbes2Encrypt(certContents, opts.password, iterations);
  const certInfo = contentInfo(OID.ENCRYPTED_DATA, new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }),
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: OID.DATA }),
          certEnc.algorithm,
          new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: certEnc.ciphertext }),
        ],
      }),
    ],
  }));

  const keyEnc = pbes2Encrypt(privateKeyToDer(opts.privateKey), opts.password, iterations);
  const keyBag = safeBag(OID.SHROUDED_KEY_BAG, new asn1js.Sequence({
    value: [keyEnc.algorithm, new asn1js.OctetString({ valueHex: keyEnc.ciphertext })],
  }), attributes);
  const keyInfo = contentInfo(OID.DATA, new asn1js.OctetString({ valueHex: toDer(new asn1js.Sequence({ value: [keyBag] })) }));

  const authSafe = toDer(new asn1js.Sequence({ value: [certInfo, keyInfo] }));
  const macSalt = randomBytes(16);
  const macKey = pkcs12Kdf('sha256', bmpPassword(opts.password), macSalt, iterations, KDF_ID.MAC, 32);
  const mac = createHmac('sha256', macKey).update(authSafe).digest();
  const pfx = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 3 }),
      contentInfo(OID.DATA, new asn1js.OctetString({ valueHex: authSafe })),
      new asn1js.Sequence({
        value: [
          new asn1js.Sequence({
            value: [
              new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.SHA256 }), new asn1js.Null()] }),
              new asn1js.OctetString({ valueHex: mac }),
            ],
          }),
          new asn1js.OctetString({ valueHex: macSalt }),
          new asn1js.Integer({ value: iterations }),
        ],
      }),
    ],
  });
  return toDer(pfx);
}

function explicitTag(tag: number, inner: asn1js.BaseBlock): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: tag }, value: [inner] });
}

function contentInfo(type: string, content: asn1js.BaseBlock): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: type }), explicitTag(0, content)] });
}

function safeBag(type: string, value: asn1js.BaseBlock, attributes?: asn1js.Set): asn1js.Sequence {
  const parts: asn1js.BaseBlock[] = [new asn1js.ObjectIdentifier({ value: type }), explicitTag(0, value)];
  if (attributes) parts.push(attributes);
  return new asn1js.Sequence({ value: parts });
}

function bagAttributes(localKeyId: Buffer, friendlyName: string | undefined): asn1js.Set {
  const attrs: asn1js.BaseBlock[] = [
    new asn1js.Sequence({
      value: [new asn1js.ObjectIdentifier({ value: OID.LOCAL_KEY_ID }), new asn1js.Set({ value: [new asn1js.OctetString({ valueHex: localKeyId })] })],
    }),
  ];
  if (friendlyName) {
    attrs.push(new asn1js.Sequence({
      value: [new asn1js.ObjectIdentifier({ value: OID.FRIENDLY_NAME }), new asn1js.Set({ value: [new asn1js.BmpString({ value: friendlyName })] })],
    }));
  }
  return derSetOf(attrs);
}
