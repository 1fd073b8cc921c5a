import { createPrivateKey, createPublicKey, generateKeyPair, KeyObject } from 'node:crypto';
import type { KeyAlgorithm } from './key-algorithm.js';
import { decodePemBlocks } from './pem.js';
import { PkiError } from './pki-error.js';

const PRIVATE_KEY_LABELS: Record<string, 'pkcs8' | 'pkcs1' | 'sec1'> = {
  'PRIVATE KEY': 'pkcs8',
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
};

/** A fresh private key for `alg` (RSA with e = 65537, or ECDSA on P-256 / P-384). */
export async function generatePrivateKey(alg: KeyAlgorithm): Promise<KeyObject> {
  const { privateKey } = await new Promise<{ privateKey: KeyObject }>((resolve, reject) => {
    const done = (err: Error | null, _publicKey: KeyObject, privateKey: KeyObject) =>
      err ? reject(err) : resolve({ privateKey });
    switch (alg) {
      case 'rsa2048':
      case 'rsa3072':
      case 'rsa4096':
        generateKeyPair('rsa', { modulusLength: Number(alg.slice(3)), publicExponent: 0x10001 }, done);
        return;
      case 'ecdsa256':
        generateKeyPair('ec', { namedCurve: 'P-256' }, done);
        return;
      case 'ecdsa384':
        generateKeyPair('ec', { namedCurve: 'P-384' }, done);
        return;
      default:
        reject(new PkiError('unsupported_algorithm', `Key algorithm "${String(alg)}" is not supported; use one of rsa2048, rsa3072, rsa4096, ecdsa256, ecdsa384.`));
    }
  });
  return privateKey;
}

/** The private key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
export function privateKeyToPem(key: KeyObject): string {
  if (key.type !== 'private') throw new PkiError('invalid_key', 'Expected a private key but got a public or secret key.');
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** The private key as unencrypted PKCS#8 DER. */
export function privateKeyToDer(key: KeyObject): Buffer {
  if (key.type !== 'private') throw new PkiError('invalid_key', 'Expected a private key but got a public or secret key.');
  return key.export({ format: 'der', type: 'pkcs8' });
}

/**
 * Reads an unencrypted private key from PEM: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or
 * SEC1 (`EC PRIVATE KEY`, optionally after an `EC PARAMETERS` block). Encrypted keys, public keys
 * and certificates are refused with `invalid_key`; text that is not PEM with `invalid_pem`.
 */
export function parsePrivateKey(pem: string): KeyObject {
  const blocks = decodePemBlocks(pem);
  const keyBlocks = blocks.filter((b) => b.label in PRIVATE_KEY_LABELS || b.label === 'ENCRYPTED PRIVATE KEY');
  const block = keyBlocks[0];
  if (!block) {
    const found = blocks.map((b) => b.label).join(', ');
    throw new PkiError('invalid_key', `No private key found (the PEM holds: ${found}); paste the block that starts with "-----BEGIN PRIVATE KEY-----".`);
  }
  if (keyBlocks.length > 1) {
    throw new PkiError('invalid_key', 'The PEM holds more than one private key; give exactly one.');
  }
  if (block.label === 'ENCRYPTED PRIVATE KEY' || (block.headers['Proc-Type'] ?? '').includes('ENCRYPTED')) {
    throw new PkiError('invalid_key', 'The private key is encrypted; remove the passphrase first (for example `openssl pkey -in key.pem -out plain.pem`) or import a PKCS#12 file with its password.');
  }
  const type = PRIVATE_KEY_LABELS[block.label] ?? 'pkcs8';
  try {
    return createPrivateKey({ key: block.der, format: 'der', type });
  } catch {
    throw new PkiError('invalid_key', `The "${block.label}" block is not a readable private key; check that it was copied completely.`);
  }
}

/** Reads an unencrypted PKCS#8 DER private key; throws `invalid_key` when it is not one. */
export function parsePrivateKeyDer(der: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch {
    throw new PkiError('invalid_key', 'The PKCS#8 private key is not readable.');
  }
}

/**
 * The {@link KeyAlgorithm} of a public or private key, or null for keys outside that list
 * (RSA of other sizes, other curves, Ed25519, DSA, RSA-PSS, ...).
 */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm | null {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      switch (details?.modulusLength) {
        case 2048: return 'rsa2048';
        case 3072: return 'rsa3072';
        case 4096: return 'rsa4096';
        default: return null;
      }
    case 'ec':
      switch (details?.namedCurve) {
        case 'prime256v1': return 'ecdsa256';
        case 'secp384r1': return 'ecdsa384';
        default: return null;
      }
    default:
      return null;
  }
}

const CURVE_NAMES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** A short human description of any key: `RSA 2048`, `EC P-256`, `Ed25519`, ... */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa': return `RSA ${details?.modulusLength ?? '?'}`;
    case 'rsa-pss': return `RSA-PSS ${details?.modulusLength ?? '?'}`;
    case 'dsa': return `DSA ${details?.modulusLength ?? '?'}`;
    case 'ec': {
      const curve = details?.namedCurve ?? 'unknown curve';
      return `EC ${CURVE_NAMES[curve] ?? curve}`;
    }
    case 'ed25519': return 'Ed25519';
    case 'ed448': return 'Ed448';
    default: return key.asymmetricKeyType ?? 'unknown';
  }
}

/** The public half of a private key (or the key itself when it is already public). */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

/**
 * True when both keys have the same public key. Compares the JWK members (so EC points match
 * whether compressed or not), falling back to SPKI DER for key types JWK does not cover.
 */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  const pa = publicKeyOf(a);
  const pb = publicKeyOf(b);
  if (pa.asymmetricKeyType !== pb.asymmetricKeyType) return false;
  try {
    const ja = pa.export({ format: 'jwk' });
    const jb = pb.export({ format: 'jwk' });
    return ja.kty === jb.kty && ja.n === jb.n && ja.e === jb.e && ja.crv === jb.crv && ja.x === jb.x && ja.y === jb.y;
  } catch {
    return pa.export({ format: 'der', type: 'spki' }).equals(pb.export({ format: 'der', type: 'spki' }));
  }
}
