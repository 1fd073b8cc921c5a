/**
 * Envelope encryption of every secret at rest (STYLE.md habit 13): each value gets a fresh
 * 256-bit data key; the value is sealed with AES-256-GCM under that key, and the data key is
 * wrapped with AES-256-GCM under the master key. The associated data binds an envelope to the
 * record and field it belongs to, so a ciphertext copied into another row does not open.
 *
 * Envelope text: `ck1.<masterKeyId>.<wrapIv>.<wrappedKey+tag>.<iv>.<ciphertext+tag>` (base64url).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Thrown when an envelope cannot be opened: wrong master key, tampering, or misplaced ciphertext. */
export class VaultError extends Error {
  override name = 'VaultError';
}

const b64u = (b: Buffer) => b.toString('base64url');
const fromB64u = (s: string) => Buffer.from(s, 'base64url');

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): { iv: Buffer; sealed: Buffer } {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const sealed = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { iv, sealed };
}

function open(key: Buffer, iv: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < 16) throw new VaultError('envelope is truncated');
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
  } catch {
    throw new VaultError('envelope does not open: wrong master key, tampered data, or a value moved between records');
  }
}

/** Seals and opens secrets with a master key. The master key never leaves this object. */
export class KeyVault {
  readonly #master: Buffer;
  /** Short, non-secret identifier of the master key (for rotation and diagnostics). */
  readonly masterKeyId: string;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new VaultError('the master key must be exactly 32 bytes (base64 of 32 random bytes)');
    this.#master = Buffer.from(masterKey);
    this.masterKeyId = createHash('sha256').update('certkeeper-master-key-id').update(masterKey).digest('hex').slice(0, 8);
  }

  /** Encrypts `plaintext` for the record/field named by `context` (e.g. `certificates/<id>/private_key`). */
  seal(plaintext: string | Buffer, context: string): string {
    const aad = Buffer.from(context, 'utf8');
    const dataKey = randomBytes(32);
    const wrapped = seal(this.#master, dataKey, aad);
    const body = seal(dataKey, Buffer.isBuffer(plaintext) ? plaintext : Buffer.from(plaintext, 'utf8'), aad);
    dataKey.fill(0);
    return ['ck1', this.masterKeyId, b64u(wrapped.iv), b64u(wrapped.sealed), b64u(body.iv), b64u(body.sealed)].join('.');
  }

  /** Decrypts an envelope made by {@link seal} with the same `context`. */
  open(envelope: string, context: string): Buffer {
    const parts = envelope.split('.');
    if (parts.length !== 6 || parts[0] !== 'ck1') throw new VaultError('not a certkeeper envelope');
    const [, keyId, wrapIv, wrapped, iv, sealed] = parts as [string, string, string, string, string, string];
    if (keyId !== this.masterKeyId) {
      throw new VaultError(`envelope was sealed with master key ${keyId}, but the configured master key is ${this.masterKeyId}`);
    }
    const aad = Buffer.from(context, 'utf8');
    const dataKey = open(this.#master, fromB64u(wrapIv), fromB64u(wrapped), aad);
    try {
      return open(dataKey, fromB64u(iv), fromB64u(sealed), aad);
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Re-wraps an envelope's data key under `target`'s master key (master key rotation). The sealed
   * value itself is untouched; the data key exists in memory only for the moment of re-wrapping.
   */
  rewrap(envelope: string, context: string, target: KeyVault): string {
    const parts = envelope.split('.');
    if (parts.length !== 6 || parts[0] !== 'ck1') throw new VaultError('not a certkeeper envelope');
    const [, keyId, wrapIv, wrapped, iv, sealed] = parts as [string, string, string, string, string, string];
    if (keyId === target.masterKeyId) return envelope;
    if (keyId !== this.masterKeyId) {
      throw new VaultError(`envelope was sealed with master key ${keyId}, which is neither the current (${this.masterKeyId}) nor the new one (${target.masterKeyId})`);
    }
    const aad = Buffer.from(context, 'utf8');
    const dataKey = open(this.#master, fromB64u(wrapIv), fromB64u(wrapped), aad);
    try {
      const rewrapped = seal(target.#master, dataKey, aad);
      return ['ck1', target.masterKeyId, b64u(rewrapped.iv), b64u(rewrapped.sealed), iv, sealed].join('.');
    } finally {
      dataKey.fill(0);
    }
  }

  /** {@link open} as UTF-8 text. */
  openText(envelope: string, context: string): string {
    return this.open(envelope, context).toString('utf8');
  }
}
