/**
 * RC2 (RFC 2268) in CBC mode with PKCS#7 padding. Only legacy PKCS#12 files need it
 * (pbeWithSHAAnd40BitRC2-CBC, what `openssl pkcs12 -export -legacy` and old Windows/Java tools
 * use for certificates); Node's default OpenSSL provider no longer offers RC2.
 */

// RFC 2268 §2: PITABLE, a permutation of 0..255 derived from the digits of pi.
const PITABLE = Uint8Array.from([
  0xd9, 0x78, 0xf9, 0xc4, 0x19, 0xdd, 0xb5, 0xed, 0x28, 0xe9, 0xfd, 0x79, 0x4a, 0xa0, 0xd8, 0x9d,
  0xc6, 0x7e, 0x37, 0x83, 0x2b, 0x76, 0x53, 0x8e, 0x62, 0x4c, 0x64, 0x88, 0x44, 0x8b, 0xfb, 0xa2,
  0x17, 0x9a, 0x59, 0xf5, 0x87, 0xb3, 0x4f, 0x13, 0x61, 0x45, 0x6d, 0x8d, 0x09, 0x81, 0x7d, 0x32,
  0xbd, 0x8f, 0x40, 0xeb, 0x86, 0xb7, 0x7b, 0x0b, 0xf0, 0x95, 0x21, 0x22, 0x5c, 0x6b, 0x4e, 0x82,
  0x54, 0xd6, 0x65, 0x93, 0xce, 0x60, 0xb2, 0x1c, 0x73, 0x56, 0xc0, 0x14, 0xa7, 0x8c, 0xf1, 0xdc,
  0x12, 0x75, 0xca, 0x1f, 0x3b, 0xbe, 0xe4, 0xd1, 0x42, 0x3d, 0xd4, 0x30, 0xa3, 0x3c, 0xb6, 0x26,
  0x6f, 0xbf, 0x0e, 0xda, 0x46, 0x69, 0x07, 0x57, 0x27, 0xf2, 0x1d, 0x9b, 0xbc, 0x94, 0x43, 0x03,
  0xf8, 0x11, 0xc7, 0xf6, 0x90, 0xef, 0x3e, 0xe7, 0x06, 0xc3, 0xd5, 0x2f, 0xc8, 0x66, 0x1e, 0xd7,
  0x08, 0xe8, 0xea, 0xde, 0x80, 0x52, 0xee, 0xf7, 0x84, 0xaa, 0x72, 0xac, 0x35, 0x4d, 0x6a, 0x2a,
  0x96, 0x1a, 0xd2, 0x71, 0x5a, 0x15, 0x49, 0x74, 0x4b, 0x9f, 0xd0, 0x5e, 0x04, 0x18, 0xa4, 0xec,
  0xc2, 0xe0, 0x41, 0x6e, 0x0f, 0x51, 0xcb, 0xcc, 0x24, 0x91, 0xaf, 0x50, 0xa1, 0xf4, 0x70, 0x39,
  0x99, 0x7c, 0x3a, 0x85, 0x23, 0xb8, 0xb4, 0x7a, 0xfc, 0x02, 0x36, 0x5b, 0x25, 0x55, 0x97, 0x31,
  0x2d, 0x5d, 0xfa, 0x98, 0xe3, 0x8a, 0x92, 0xae, 0x05, 0xdf, 0x29, 0x10, 0x67, 0x6c, 0xba, 0xc9,
  0xd3, 0x00, 0xe6, 0xcf, 0xe1, 0x9e, 0xa8, 0x2c, 0x63, 0x16, 0x01, 0x3f, 0x58, 0xe2, 0x89, 0xa9,
  0x0d, 0x38, 0x34, 0x1b, 0xab, 0x33, 0xff, 0xb0, 0xbb, 0x48, 0x0c, 0x5f, 0xb9, 0xb1, 0xcd, 0x2e,
  0xc5, 0xf3, 0xdb, 0x47, 0xe5, 0xa5, 0x9c, 0x77, 0x0a, 0xa6, 0x20, 0x68, 0xfe, 0x7f, 0xc1, 0xad,
]);

const BLOCK = 8;
const pi = (i: number): number => PITABLE[i & 0xff] ?? 0;

/** The RC2 block cipher with an expanded key (RFC 2268 §2, effective key bits 1..1024). */
export class Rc2 {
  private readonly k = new Uint16Array(64);

  /** Expands `key` (1..128 octets) limited to `effectiveBits` (RFC 2268 "T1"). */
  constructor(key: Uint8Array, effectiveBits: number) {
    const t = key.length;
    if (t < 1 || t > 128) throw new RangeError('RC2 key must be 1..128 octets');
    if (!Number.isInteger(effectiveBits) || effectiveBits < 1 || effectiveBits > 1024) {
      throw new RangeError('RC2 effective key bits must be 1..1024');
    }
    const l = new Uint8Array(128);
    l.set(key);
    for (let i = t; i < 128; i++) l[i] = pi((l[i - 1] ?? 0) + (l[i - t] ?? 0));
    const t8 = (effectiveBits + 7) >> 3;
    const tm = 0xff >> (8 * t8 - effectiveBits);
    l[128 - t8] = pi((l[128 - t8] ?? 0) & tm);
    for (let i = 127 - t8; i >= 0; i--) l[i] = pi((l[i + 1] ?? 0) ^ (l[i + t8] ?? 0));
    for (let i = 0; i < 64; i++) this.k[i] = (l[2 * i] ?? 0) | ((l[2 * i + 1] ?? 0) << 8);
  }

  /** Encrypts one 8-octet block of `input` at `offset` into `output` at `offset`. */
  encryptBlock(input: Uint8Array, output: Uint8Array, offset = 0): void {
    const k = this.k;
    let [r0, r1, r2, r3] = readWords(input, offset);
    let j = 0;
    const mix = () => {
      r0 = (r0 + (k[j++] ?? 0) + (r3 & r2) + (~r3 & r1)) & 0xffff;
      r0 = ((r0 << 1) | (r0 >>> 15)) & 0xffff;
      r1 = (r1 + (k[j++] ?? 0) + (r0 & r3) + (~r0 & r2)) & 0xffff;
      r1 = ((r1 << 2) | (r1 >>> 14)) & 0xffff;
      r2 = (r2 + (k[j++] ?? 0) + (r1 & r0) + (~r1 & r3)) & 0xffff;
      r2 = ((r2 << 3) | (r2 >>> 13)) & 0xffff;
      r3 = (r3 + (k[j++] ?? 0) + (r2 & r1) + (~r2 & r0)) & 0xffff;
      r3 = ((r3 << 5) | (r3 >>> 11)) & 0xffff;
    };
    const mash = () => {
      r0 = (r0 + (k[r3 & 63] ?? 0)) & 0xffff;
      r1 = (r1 + (k[r0 & 63] ?? 0)) & 0xffff;
      r2 = (r2 + (k[r1 & 63] ?? 0)) & 0xffff;
      r3 = (r3 + (k[r2 & 63] ?? 0)) & 0xffff;
    };
    for (let i = 0; i < 5; i++) mix();
    mash();
    for (let i = 0; i < 6; i++) mix();
    mash();
    for (let i = 0; i < 5; i++) mix();
    writeWords(output, offset, r0, r1, r2, r3);
  }

  /** Decrypts one 8-octet block of `input` at `offset` into `output` at `offset`. */
  decryptBlock(input: Uint8Array, output: Uint8Array, offset = 0): void {
    const k = this.k;
    let [r0, r1, r2, r3] = readWords(input, offset);
    let j = 63;
    const rmix = () => {
      r3 = ((r3 >>> 5) | (r3 << 11)) & 0xffff;
      r3 = (r3 - (k[j--] ?? 0) - (r2 & r1) - (~r2 & r0)) & 0xffff;
      r2 = ((r2 >>> 3) | (r2 << 13)) & 0xffff;
      r2 = (r2 - (k[j--] ?? 0) - (r1 & r0) - (~r1 & r3)) & 0xffff;
      r1 = ((r1 >>> 2) | (r1 << 14)) & 0xffff;
      r1 = (r1 - (k[j--] ?? 0) - (r0 & r3) - (~r0 & r2)) & 0xffff;
      r0 = ((r0 >>> 1) | (r0 << 15)) & 0xffff;
      r0 = (r0 - (k[j--] ?? 0) - (r3 & r2) - (~r3 & r1)) & 0xffff;
    };
    const rmash = () => {
      r3 = (r3 - (k[r2 & 63] ?? 0)) & 0xffff;
      r2 = (r2 - (k[r1 & 63] ?? 0)) & 0xffff;
      r1 = (r1 - (k[r0 & 63] ?? 0)) & 0xffff;
      r0 = (r0 - (k[r3 & 63] ?? 0)) & 0xffff;
    };
    for (let i = 0; i < 5; i++) rmix();
    rmash();
    for (let i = 0; i < 6; i++) rmix();
    rmash();
    for (let i = 0; i < 5; i++) rmix();
    writeWords(output, offset, r0, r1, r2, r3);
  }
}

function readWords(b: Uint8Array, o: number): [number, number, number, number] {
  const w = (i: number) => (b[o + i] ?? 0) | ((b[o + i + 1] ?? 0) << 8);
  return [w(0), w(2), w(4), w(6)];
}

function writeWords(b: Uint8Array, o: number, ...words: number[]): void {
  words.forEach((w, i) => {
    b[o + 2 * i] = w & 0xff;
    b[o + 2 * i + 1] = w >>> 8;
  });
}

/** Thrown when RC2-CBC input is not whole blocks or its padding is wrong (usually: wrong key). */
export class Rc2PaddingError extends Error {
  constructor() {
    super('bad RC2-CBC padding');
    this.name = 'Rc2PaddingError';
  }
}

/** RC2-CBC decryption of `data` with PKCS#7 padding removed; throws {@link Rc2PaddingError} when it is wrong. */
export function rc2CbcDecrypt(data: Uint8Array, key: Uint8Array, iv: Uint8Array, effectiveBits: number): Buffer {
  if (data.length === 0 || data.length % BLOCK !== 0 || iv.length !== BLOCK) throw new Rc2PaddingError();
  const cipher = new Rc2(key, effectiveBits);
  const out = Buffer.alloc(data.length);
  for (let off = 0; off < data.length; off += BLOCK) {
    cipher.decryptBlock(data, out, off);
    for (let i = 0; i < BLOCK; i++) {
      const prev = off === 0 ? (iv[i] ?? 0) : (data[off - BLOCK + i] ?? 0);
      out[off + i] = (out[off + i] ?? 0) ^ prev;
    }
  }
  const pad = out[out.length - 1] ?? 0;
  if (pad < 1 || pad > BLOCK || !out.subarray(out.length - pad).every((b) => b === pad)) throw new Rc2PaddingError();
  return out.subarray(0, out.length - pad);
}

/** RC2-CBC encryption of `data` with PKCS#7 padding (for tests and completeness). */
export function rc2CbcEncrypt(data: Uint8Array, key: Uint8Array, iv: Uint8Array, effectiveBits: number): Buffer {
  if (iv.length !== BLOCK) throw new RangeError('RC2-CBC needs an 8-octet IV');
  const cipher = new Rc2(key, effectiveBits);
  const pad = BLOCK - (data.length % BLOCK);
  const buf = Buffer.concat([Buffer.from(data), Buffer.alloc(pad, pad)]);
  let prev: Uint8Array = iv;
  for (let off = 0; off < buf.length; off += BLOCK) {
    for (let i = 0; i < BLOCK; i++) buf[off + i] = (buf[off + i] ?? 0) ^ (prev[i] ?? 0);
    cipher.encryptBlock(buf, buf, off);
    prev = buf.subarray(off, off + BLOCK);
  }
  return buf;
}
