import { createHash } from 'node:crypto';

/** The purpose octet of the PKCS#12 key derivation (RFC 7292 Appendix B.3). */
export const KDF_ID = { KEY: 1, IV: 2, MAC: 3 } as const;

/** Digest output and input block sizes, in octets, of the hashes PKCS#12 files use. */
const SIZES: Record<string, { u: number; v: number }> = {
  md5: { u: 16, v: 64 },
  sha1: { u: 20, v: 64 },
  sha224: { u: 28, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

/** True when {@link pkcs12Kdf} supports `hash` (a node:crypto digest name). */
export function isPkcs12KdfHash(hash: string): boolean {
  return hash in SIZES;
}

/**
 * The PKCS#12 password-based key derivation of RFC 7292 Appendix B.2: `n` octets for purpose
 * `id` (1 key, 2 IV, 3 MAC key) from `password` (already encoded, see {@link bmpPassword}),
 * `salt` and `iterations` rounds of `hash`.
 */
export function pkcs12Kdf(hash: string, password: Uint8Array, salt: Uint8Array, iterations: number, id: number, n: number): Buffer {
  const sizes = SIZES[hash];
  if (!sizes) throw new RangeError(`unsupported PKCS#12 KDF hash ${hash}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError('PKCS#12 KDF iterations must be a positive integer');
  const { u, v } = sizes;
  const d = Buffer.alloc(v, id);
  const fill = (src: Uint8Array) => {
    const len = v * Math.ceil(src.length / v);
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) out[i] = src[i % src.length] ?? 0;
    return out;
  };
  // Step 4: I = S || P, each stretched to a multiple of v octets.
  const i = Buffer.concat([fill(salt), fill(password)]);
  const chunks: Buffer[] = [];
  for (let produced = 0; produced < n; produced += u) {
    // Step 6a: A = H^r(D || I).
    let a = createHash(hash).update(d).update(i).digest();
    for (let r = 1; r < iterations; r++) a = createHash(hash).update(a).digest();
    chunks.push(a);
    if (produced + u >= n) break;
    // Steps 6b-6c: B = A stretched to v octets; each v-octet block I_j becomes (I_j + B + 1) mod 2^(8v).
    const b = fill(a);
    for (let off = 0; off < i.length; off += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (i[off + k] ?? 0) + (b[k] ?? 0) + carry;
        i[off + k] = sum & 0xff;
        carry = sum >>> 8;
      }
    }
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/**
 * A password as PKCS#12 wants it for its own KDF (RFC 7292 B.1): UTF-16BE (BMPString) with a
 * two-octet zero terminator. PBES2 (PBKDF2) uses the UTF-8 bytes instead, as OpenSSL does.
 */
export function bmpPassword(password: string): Buffer {
  const le = Buffer.from(`${password}\u0000`, 'utf16le');
  return le.swap16();
}
