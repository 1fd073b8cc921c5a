import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import { DerError, expect, octets, oid, sequence, smallInt, TAG, type DerNode } from './der.js';
import { KDF_ID, pkcs12Kdf } from './pkcs12-kdf.js';
import { rc2CbcDecrypt } from './rc2.js';
import { PkiError } from './pki-error.js';

/**
 * Password-based encryption as PKCS#12 files use it: PBES2 (RFC 8018: PBKDF2 + AES or 3DES) and
 * the PKCS#12 PBES1 schemes (RFC 7292 Appendix C: SHA-1 KDF + 3DES or RC2).
 */

/** The most KDF iterations accepted from a file; more would let one upload occupy the server for long. */
export const MAX_ITERATIONS = 1_000_000;

/** Thrown when decryption produces bad padding: almost always a wrong password. */
export class DecryptionFailed extends Error {
  constructor() {
    super('decryption failed');
    this.name = 'DecryptionFailed';
  }
}

const OID = {
  PBES2: '1.2.840.113549.1.5.13',
  PBKDF2: '1.2.840.113549.1.5.12',
  HMAC_SHA1: '1.2.840.113549.2.7',
  HMAC_SHA224: '1.2.840.113549.2.8',
  HMAC_SHA256: '1.2.840.113549.2.9',
  HMAC_SHA384: '1.2.840.113549.2.10',
  HMAC_SHA512: '1.2.840.113549.2.11',
  AES128_CBC: '2.16.840.1.101.3.4.1.2',
  AES192_CBC: '2.16.840.1.101.3.4.1.22',
  AES256_CBC: '2.16.840.1.101.3.4.1.42',
  DES_EDE3_CBC: '1.2.840.113549.3.7',
} as const;

const PRF_HASH: Record<string, string> = {
  [OID.HMAC_SHA1]: 'sha1',
  [OID.HMAC_SHA224]: 'sha224',
  [OID.HMAC_SHA256]: 'sha256',
  [OID.HMAC_SHA384]: 'sha384',
  [OID.HMAC_SHA512]: 'sha512',
};

const PBES2_CIPHERS: Record<string, { cipher: string; keyLength: number; ivLength: number }> = {
  [OID.AES128_CBC]: { cipher: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
  [OID.AES192_CBC]: { cipher: 'aes-192-cbc', keyLength: 24, ivLength: 16 },
  [OID.AES256_CBC]: { cipher: 'aes-256-cbc', keyLength: 32, ivLength: 16 },
  [OID.DES_EDE3_CBC]: { cipher: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
};

// RFC 7292 Appendix C: pkcs-12PbeIds.
const PBES1_SCHEMES: Record<string, { name: string; cipher: 'des-ede3-cbc' | 'des-ede-cbc' | 'rc2' | 'rc4'; keyLength: number; rc2Bits?: number }> = {
  '1.2.840.113549.1.12.1.1': { name: 'pbeWithSHAAnd128BitRC4', cipher: 'rc4', keyLength: 16 },
  '1.2.840.113549.1.12.1.2': { name: 'pbeWithSHAAnd40BitRC4', cipher: 'rc4', keyLength: 5 },
  '1.2.840.113549.1.12.1.3': { name: 'pbeWithSHAAnd3-KeyTripleDES-CBC', cipher: 'des-ede3-cbc', keyLength: 24 },
  '1.2.840.113549.1.12.1.4': { name: 'pbeWithSHAAnd2-KeyTripleDES-CBC', cipher: 'des-ede-cbc', keyLength: 16 },
  '1.2.840.113549.1.12.1.5': { name: 'pbeWithSHAAnd128BitRC2-CBC', cipher: 'rc2', keyLength: 16, rc2Bits: 128 },
  '1.2.840.113549.1.12.1.6': { name: 'pbeWithSHAAnd40BitRC2-CBC', cipher: 'rc2', keyLength: 5, rc2Bits: 40 },
};

/** The password in the two encodings PKCS#12 uses. */
export interface Pkcs12Password {
  /** BMPString with terminator, for the PKCS#12 KDF (PBES1 and the MAC). */
  bmp: Uint8Array;
  /** UTF-8, for PBKDF2 (PBES2). */
  utf8: Uint8Array;
}

/**
 * Decrypts `data` encrypted under the AlgorithmIdentifier `algorithm`. Throws
 * {@link DecryptionFailed} for bad padding, `unsupported_algorithm` for schemes it does not know,
 * and {@link DerError} for malformed parameters.
 */
export function pbeDecrypt(algorithm: DerNode, data: Buffer, password: Pkcs12Password): Buffer {
  const [algOid, params] = sequence(algorithm, 'encryption AlgorithmIdentifier');
  const id = oid(algOid, 'encryption algorithm');
  if (id === OID.PBES2) return pbes2Decrypt(params, data, password.utf8);
  const scheme = PBES1_SCHEMES[id];
  if (!scheme) {
    throw new PkiError('unsupported_algorithm', `The PKCS#12 file is encrypted with an unsupported algorithm (${id}); re-export it with \`openssl pkcs12 -export\` (AES-256) and try again.`);
  }
  if (scheme.cipher === 'rc4') {
    throw new PkiError('unsupported_algorithm', `The PKCS#12 file uses ${scheme.name}, which is not supported; re-export it with \`openssl pkcs12 -export\` (AES-256) and try again.`);
  }
  const [saltNode, iterNode] = sequence(params, 'PBES1 parameters');
  const salt = octets(expect(saltNode, TAG.OCTET_STRING, 'salt'), 'salt');
  const iterations = checkIterations(smallInt(iterNode, 'iterations'));
  const key = pkcs12Kdf('sha1', password.bmp, salt, iterations, KDF_ID.KEY, scheme.keyLength);
  const iv = pkcs12Kdf('sha1', password.bmp, salt, iterations, KDF_ID.IV, 8);
  if (scheme.cipher === 'rc2') {
    try {
      return rc2CbcDecrypt(data, key, iv, scheme.rc2Bits ?? 128);
    } catch {
      throw new DecryptionFailed();
    }
  }
  return nodeDecrypt(scheme.cipher, key, iv, data);
}

function pbes2Decrypt(params: DerNode | undefined, data: Buffer, password: Uint8Array): Buffer {
  const [kdf, enc] = sequence(params, 'PBES2 parameters');
  const [kdfOid, kdfParams] = sequence(kdf, 'PBES2 key derivation function');
  if (oid(kdfOid, 'key derivation function') !== OID.PBKDF2) {
    throw new PkiError('unsupported_algorithm', 'The PKCS#12 file uses a key derivation other than PBKDF2 (perhaps scrypt); re-export it with `openssl pkcs12 -export` and try again.');
  }
  const p = sequence(kdfParams, 'PBKDF2 parameters');
  const salt = octets(expect(p[0], TAG.OCTET_STRING, 'PBKDF2 salt'), 'PBKDF2 salt');
  const iterations = checkIterations(smallInt(p[1], 'PBKDF2 iterations'));
  let keyLength: number | undefined;
  let prf = 'sha1'; // RFC 8018 §A.2: the default PRF is hmacWithSHA1
  for (const extra of p.slice(2)) {
    if (extra.cls === 1 && extra.tag === TAG.INTEGER) keyLength = smallInt(extra, 'PBKDF2 key length');
    else {
      const prfOid = oid(sequence(extra, 'PBKDF2 prf')[0], 'PBKDF2 prf');
      const hash = PRF_HASH[prfOid];
      if (!hash) throw new PkiError('unsupported_algorithm', `The PKCS#12 file uses an unsupported PBKDF2 PRF (${prfOid}); re-export it with \`openssl pkcs12 -export\`.`);
      prf = hash;
    }
  }
  const [encOid, ivNode] = sequence(enc, 'PBES2 encryption scheme');
  const encId = oid(encOid, 'PBES2 encryption scheme');
  const cipher = PBES2_CIPHERS[encId];
  if (!cipher) {
    throw new PkiError('unsupported_algorithm', `The PKCS#12 file uses an unsupported cipher (${encId}); re-export it with \`openssl pkcs12 -export\` (AES-256) and try again.`);
  }
  if (keyLength !== undefined && keyLength !== cipher.keyLength) throw new DerError('the PBKDF2 key length does not fit the cipher');
  const iv = octets(expect(ivNode, TAG.OCTET_STRING, 'IV'), 'IV');
  if (iv.length !== cipher.ivLength) throw new DerError('the IV has the wrong length');
  const key = pbkdf2Sync(password, salt, iterations, cipher.keyLength, prf);
  return nodeDecrypt(cipher.cipher, key, iv, data);
}

function nodeDecrypt(cipher: string, key: Uint8Array, iv: Uint8Array, data: Buffer): Buffer {
  try {
    const d = createDecipheriv(cipher, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    throw new DecryptionFailed();
  }
}

function checkIterations(n: number): number {
  if (n < 1) throw new DerError('the iteration count is zero');
  if (n > MAX_ITERATIONS) {
    throw new PkiError('invalid_pkcs12', `The PKCS#12 file asks for ${n} key derivation iterations; at most ${MAX_ITERATIONS} are accepted. Re-export it with fewer.`);
  }
  return n;
}

/**
 * Encrypts `data` with PBES2: PBKDF2-HMAC-SHA256 (random 16-octet salt, `iterations` rounds) and
 * AES-256-CBC. Returns the AlgorithmIdentifier and the ciphertext.
 */
export function pbes2Encrypt(data: Uint8Array, password: string, iterations: number): { algorithm: asn1js.Sequence; ciphertext: Buffer } {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const c = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = Buffer.concat([c.update(data), c.final()]);
  const algorithm = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID.PBES2 }),
      new asn1js.Sequence({
        value: [
          new asn1js.Sequence({
            value: [
              new asn1js.ObjectIdentifier({ value: OID.PBKDF2 }),
              new asn1js.Sequence({
                value: [
                  new asn1js.OctetString({ valueHex: salt }),
                  new asn1js.Integer({ value: iterations }),
                  new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.HMAC_SHA256 }), new asn1js.Null()] }),
                ],
              }),
            ],
          }),
          new asn1js.Sequence({
            value: [new asn1js.ObjectIdentifier({ value: OID.AES256_CBC }), new asn1js.OctetString({ valueHex: iv })],
          }),
        ],
      }),
    ],
  });
  return { algorithm, ciphertext };
}
