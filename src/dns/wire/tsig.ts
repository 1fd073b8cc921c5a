/**
 * RFC 8945 TSIG: signing a DNS message with a shared secret and verifying a signed message
 * (the server's reply to our signed request, or, for tests and fakes, a signed request).
 * dns-packet knows the TSIG type code only, so the RR and its digest are built here.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { encodeName, normalizeName, readName } from './dns-name.js';

/** The HMAC algorithms offered (RFC 8945 §6 lists them as MUST / RECOMMENDED to implement). */
export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512';

/** Every {@link TsigAlgorithm}, strongest last. */
export const TSIG_ALGORITHMS: readonly TsigAlgorithm[] = ['hmac-sha256', 'hmac-sha384', 'hmac-sha512'];

/** A shared TSIG key. */
export interface TsigKey {
  /** The key's name as both ends know it, e.g. `certkeeper-key` (compared case-insensitively). */
  name: string;
  algorithm: TsigAlgorithm;
  /** The decoded secret. */
  secret: Buffer;
}

/** The fudge this code signs with and the largest it accepts (RFC 8945 §10 recommends 300 s). */
export const TSIG_FUDGE_SECONDS = 300;

/** TSIG error codes of RFC 8945 §3 (the ones TKEY adds are not used with TSIG). */
export const TSIG_ERRORS = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

const TYPE_TSIG = 250;
const CLASS_ANY = 255;
const HASHES: Record<TsigAlgorithm, { hash: string; size: number }> = {
  'hmac-sha256': { hash: 'sha256', size: 32 },
  'hmac-sha384': { hash: 'sha384', size: 48 },
  'hmac-sha512': { hash: 'sha512', size: 64 },
};

/** What went wrong: a TSIG error name, `UNSIGNED` (no TSIG where one was required) or `FORMERR`. */
export type TsigErrorCode = 'BADSIG' | 'BADKEY' | 'BADTIME' | 'BADTRUNC' | 'UNSIGNED' | 'FORMERR' | `TSIG_ERROR_${number}`;

/** The name of a numeric TSIG error (`BADSIG`, …; `TSIG_ERROR_<n>` for others). */
export function tsigErrorName(error: number): TsigErrorCode {
  for (const [name, code] of Object.entries(TSIG_ERRORS)) if (code === error) return name as TsigErrorCode;
  return `TSIG_ERROR_${error}`;
}

/**
 * A TSIG failure. `origin: 'server'` means the server rejected our signed request (it put the error
 * in its TSIG RR, RFC 8945 §5.3.2); `origin: 'local'` means we rejected the message we verified.
 * The message never contains the secret.
 */
export class TsigError extends Error {
  override name = 'TsigError';
  constructor(
    readonly code: TsigErrorCode,
    readonly origin: 'server' | 'local',
    message: string,
    /** For BADTIME: the other side's clock (from its Other Data or Time Signed), in seconds. */
    readonly otherTime?: number,
  ) {
    super(message);
  }
}

/** Decodes a base64 TSIG secret (whitespace ignored). The error never repeats the input. */
export function decodeTsigSecret(base64: string): Buffer {
  const s = base64.replace(/\s+/g, '');
  if (s === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 === 1) {
    throw new TypeError('the TSIG secret is not valid base64');
  }
  const secret = Buffer.from(s, 'base64');
  if (secret.length === 0) throw new TypeError('the TSIG secret is empty');
  return secret;
}

/** The fields of a TSIG RR (RFC 8945 §4.2). */
export interface TsigRecord {
  /** The key name (lower case, no trailing dot). */
  keyName: string;
  /** The algorithm name (lower case, no trailing dot), e.g. `hmac-sha256`. */
  algorithm: string;
  /** Seconds since the epoch. */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  otherData: Buffer;
}

/** A TSIG RR found in a message: its fields, the raw CLASS and TTL, and where it starts. */
interface FoundTsig extends TsigRecord {
  klass: number;
  ttl: number;
  /** Offset of the TSIG RR's owner name: the message without its TSIG is `message[0, offset)`. */
  offset: number;
}

function formerr(message: string): TsigError {
  return new TsigError('FORMERR', 'local', message);
}

/** Skips one resource record at `offset`; returns its type and the offset after it. */
function skipRecord(message: Buffer, offset: number): { type: number; next: number } {
  const { next: afterName } = readName(message, offset);
  if (afterName + 10 > message.length) throw new RangeError('resource record runs past the end of the message');
  const type = message.readUInt16BE(afterName);
  const rdlength = message.readUInt16BE(afterName + 8);
  const next = afterName + 10 + rdlength;
  if (next > message.length) throw new RangeError('RDATA runs past the end of the message');
  return { type, next };
}

/**
 * Finds the TSIG RR of `message`. Returns `undefined` when there is none; throws a `FORMERR`
 * {@link TsigError} when the message cannot be walked, or a TSIG RR is not the last record of the
 * additional section (RFC 8945 §5.2: such a message is malformed).
 */
function findTsig(message: Buffer): FoundTsig | undefined {
  try {
    if (message.length < 12) throw new RangeError('shorter than a DNS header');
    const qd = message.readUInt16BE(4);
    const rrs = message.readUInt16BE(6) + message.readUInt16BE(8) + message.readUInt16BE(10);
    let pos = 12;
    for (let i = 0; i < qd; i++) {
      pos = readName(message, pos).next + 4;
      if (pos > message.length) throw new RangeError('question runs past the end of the message');
    }
    let last: { type: number; offset: number } | undefined;
    for (let i = 0; i < rrs; i++) {
      const { type, next } = skipRecord(message, pos);
      if (type === TYPE_TSIG && i !== rrs - 1) throw formerr('TSIG RR is not the last record of the message');
      last = { type, offset: pos };
      pos = next;
    }
    if (pos !== message.length) throw new RangeError('trailing octets after the last record');
    if (last === undefined || last.type !== TYPE_TSIG || message.readUInt16BE(10) === 0) return undefined;
    return parseTsigRecord(message, last.offset);
  } catch (err) {
    if (err instanceof TsigError) throw err;
    throw formerr(`malformed DNS message: ${(err as Error).message}`);
  }
}

function parseTsigRecord(message: Buffer, offset: number): FoundTsig {
  const owner = readName(message, offset);
  let p = owner.next + 2; // TYPE, already checked
  const klass = message.readUInt16BE(p);
  const ttl = message.readUInt32BE(p + 2);
  const rdlength = message.readUInt16BE(p + 6);
  p += 8; // now at RDATA
  const end = p + rdlength;
  const alg = readName(message, p);
  p = alg.next;
  const need = (n: number): void => {
    if (p + n > end) throw new RangeError('TSIG RDATA too short');
  };
  need(10);
  const timeSigned = message.readUIntBE(p, 6);
  const fudge = message.readUInt16BE(p + 6);
  const macSize = message.readUInt16BE(p + 8);
  p += 10;
  need(macSize);
  const mac = Buffer.from(message.subarray(p, p + macSize));
  p += macSize;
  need(6);
  const originalId = message.readUInt16BE(p);
  const error = message.readUInt16BE(p + 2);
  const otherLen = message.readUInt16BE(p + 4);
  p += 6;
  need(otherLen);
  const otherData = Buffer.from(message.subarray(p, p + otherLen));
  p += otherLen;
  if (p !== end) throw new RangeError('TSIG RDATA has trailing octets');
  return { keyName: owner.name, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, otherData, klass, ttl, offset };
}

/** Reads the TSIG RR of a message, if it has one (see {@link tsigVerify} to check it). */
export function readTsig(message: Buffer): TsigRecord | undefined {
  const found = findTsig(message);
  if (!found) return undefined;
  const { klass: _k, ttl: _t, offset: _o, ...record } = found;
  return record;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
}

/**
 * The "TSIG variables" of RFC 8945 §4.3.3, in order: NAME, CLASS, TTL, Algorithm Name, Time Signed,
 * Fudge, Error, Other Len, Other Data. Both names go in canonical wire format (RFC 4034 §6.2:
 * uncompressed, lower case) whatever case or compression the RR itself used; RDLENGTH and MAC Size
 * are left out because they are not known before the MAC is computed.
 */
function tsigVariables(v: { keyName: string; klass: number; ttl: number; algorithm: string; timeSigned: number; fudge: number; error: number; otherData: Buffer }): Buffer {
  const ttl = Buffer.alloc(4);
  ttl.writeUInt32BE(v.ttl, 0);
  return Buffer.concat([
    encodeName(v.keyName), u16(v.klass), ttl,
    encodeName(v.algorithm), u48(v.timeSigned), u16(v.fudge), u16(v.error), u16(v.otherData.length), v.otherData,
  ]);
}

/**
 * The MAC over (RFC 8945 §4.3): the request's MAC when this message is a response (§4.3.1:
 * MAC Size then MAC), the DNS message without its TSIG RR and with its original ID (§4.3.2), and the
 * TSIG variables (§4.3.3).
 */
function computeMac(key: TsigKey, requestMac: Buffer | undefined, unsignedMessage: Buffer, variables: Buffer): Buffer {
  const hmac = createHmac(HASHES[key.algorithm].hash, key.secret);
  if (requestMac !== undefined) hmac.update(u16(requestMac.length)).update(requestMac);
  return hmac.update(unsignedMessage).update(variables).digest();
}

/** Options of {@link tsigSign}. */
export interface TsigSignOptions {
  /** When signing a response: the MAC of the request it answers (RFC 8945 §4.3.1). */
  requestMac?: Buffer;
  /** The clock, in milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
  /** Default {@link TSIG_FUDGE_SECONDS}. */
  fudge?: number;
  /** A TSIG error to report (servers only; default 0). */
  error?: number;
  /** Other Data (servers only: the server's time with BADTIME, RFC 8945 §5.2.3). */
  otherData?: Buffer;
}

/** A signed message and the MAC it carries (keep it: the reply's MAC covers it). */
export interface TsigSigned {
  message: Buffer;
  mac: Buffer;
  /** Seconds since the epoch. */
  timeSigned: number;
}

/** Encodes a TSIG RR (RFC 8945 §4.2): owner = key name, CLASS ANY, TTL 0, names uncompressed. */
export function encodeTsigRecord(r: TsigRecord): Buffer {
  const rdata = Buffer.concat([
    encodeName(r.algorithm), u48(r.timeSigned), u16(r.fudge), u16(r.mac.length), r.mac,
    u16(r.originalId), u16(r.error), u16(r.otherData.length), r.otherData,
  ]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_TSIG, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(r.keyName), fixed, rdata]);
}

/** Appends `rr` to the additional section of `message` (ARCOUNT + 1). */
function appendAdditional(message: Buffer, rr: Buffer): Buffer {
  const out = Buffer.concat([message, rr]);
  out.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return out;
}

/**
 * Signs `message` (which must not carry a TSIG yet) with `key` (RFC 8945 §5.1, and §5.3 for
 * responses): Time Signed = now, Fudge 300, Original ID = the message's ID.
 */
export function tsigSign(message: Buffer, key: TsigKey, opts: TsigSignOptions = {}): TsigSigned {
  if (message.length < 12) throw new RangeError('a DNS message is at least 12 octets');
  const timeSigned = Math.floor((opts.now ?? Date.now)() / 1000);
  const record = {
    keyName: normalizeName(key.name),
    algorithm: key.algorithm,
    timeSigned,
    fudge: opts.fudge ?? TSIG_FUDGE_SECONDS,
    originalId: message.readUInt16BE(0),
    error: opts.error ?? 0,
    otherData: opts.otherData ?? Buffer.alloc(0),
  };
  const mac = computeMac(key, opts.requestMac, message, tsigVariables({ ...record, klass: CLASS_ANY, ttl: 0 }));
  return { message: appendAdditional(message, encodeTsigRecord({ ...record, mac })), mac, timeSigned };
}

/** Options of {@link tsigVerify}. */
export interface TsigVerifyOptions {
  /** When verifying a response: the MAC of our request (RFC 8945 §4.3.1). */
  requestMac?: Buffer;
  /** The clock, in milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
  /** The widest time window accepted whatever the message's own Fudge says; default 300. */
  maxFudge?: number;
}

/**
 * Verifies the TSIG of `message` with `key` (RFC 8945 §5.4 for a response, §5.2 for a request) and
 * returns its fields. Throws {@link TsigError}:
 * - `UNSIGNED` (local): no TSIG at all — a reply to a signed request MUST be signed (§5.4);
 * - `BADKEY` (local): signed with another key name or algorithm;
 * - `BADSIG`, `BADKEY`, … (server): the server reports that it could not verify our request; per
 *   §5.3.2 such a reply carries an empty MAC, so there is nothing to verify;
 * - `BADSIG` (local): the MAC does not match (or is truncated below §5.2.2.1's minimum);
 * - `BADTIME` (server): the server's signed reply says our clock is off (its time is `otherTime`);
 * - `BADTIME` (local): Time Signed is outside the fudge window of our clock (§5.2.3);
 * - `FORMERR` (local): the message cannot be walked, or its TSIG RR is misplaced.
 */
export function tsigVerify(message: Buffer, key: TsigKey, opts: TsigVerifyOptions = {}): TsigRecord {
  const found = findTsig(message);
  const keyName = normalizeName(key.name);
  if (!found) throw new TsigError('UNSIGNED', 'local', `the message is not signed (expected a TSIG with key ${keyName})`);
  const { klass: _k, ttl: _t, offset: _o, ...record } = found;
  if (found.mac.length === 0 && found.error !== 0) {
    const code = tsigErrorName(found.error);
    throw new TsigError(code, 'server', `the server rejected the request's TSIG with ${code}`);
  }
  if (found.keyName !== keyName) {
    throw new TsigError('BADKEY', 'local', `the message is signed with key "${found.keyName}", not "${keyName}"`);
  }
  if (found.algorithm !== key.algorithm) {
    throw new TsigError('BADKEY', 'local', `the message is signed with algorithm ${found.algorithm}, not ${key.algorithm}`);
  }
  if (found.mac.length === 0) throw new TsigError('BADSIG', 'local', 'the message carries a TSIG without a MAC');
  const { size } = HASHES[key.algorithm];
  // RFC 8945 §5.2.2.1: a truncated MAC is acceptable down to half the hash length and 10 octets.
  if (found.mac.length > size || found.mac.length < Math.max(10, size / 2)) {
    throw new TsigError('BADSIG', 'local', `the TSIG MAC has a bad length (${found.mac.length} octets for ${key.algorithm})`);
  }
  // RFC 8945 §4.3.2: digest the message as it was before signing — TSIG RR removed, ARCOUNT
  // decremented, and the ID put back to Original ID (a forwarder may have changed it).
  const unsigned = Buffer.from(message.subarray(0, found.offset));
  unsigned.writeUInt16BE(found.originalId, 0);
  unsigned.writeUInt16BE(message.readUInt16BE(10) - 1, 10);
  const expected = computeMac(key, opts.requestMac, unsigned, tsigVariables(found)).subarray(0, found.mac.length);
  if (!timingSafeEqual(expected, found.mac)) {
    throw new TsigError('BADSIG', 'local', `the TSIG MAC does not verify with key ${keyName} (${key.algorithm})`);
  }
  if (found.error !== 0) {
    const code = tsigErrorName(found.error);
    // RFC 8945 §5.2.3: with BADTIME the server puts its own time in Other Data (6 octets).
    const serverTime = code === 'BADTIME' && found.otherData.length === 6 ? found.otherData.readUIntBE(0, 6) : found.timeSigned;
    throw new TsigError(code, 'server', `the server rejected the request's TSIG with ${code}`, code === 'BADTIME' ? serverTime : undefined);
  }
  const now = Math.floor((opts.now ?? Date.now)() / 1000);
  const window = Math.min(found.fudge, opts.maxFudge ?? TSIG_FUDGE_SECONDS);
  if (Math.abs(now - found.timeSigned) > window) {
    throw new TsigError('BADTIME', 'local',
      `the message was signed at ${new Date(found.timeSigned * 1000).toISOString()}, more than ${window} s from our clock`, found.timeSigned);
  }
  return record;
}
