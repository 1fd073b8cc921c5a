/**
 * RFC 2136 dynamic UPDATE of TXT records, signed with TSIG (RFC 8945): the zone section names the
 * zone, optional "RRset exists" prerequisites, and an update section that adds or deletes single
 * TXT records. dns-packet cannot write class NONE, so these messages are encoded here.
 */
import { encodeName, isInZone, normalizeName, readName } from './dns-name.js';
import { DnsTransportError, randomMessageId, tcpExchange, udpExchange } from './dns-transport.js';
import { formatServerAddress, type DnsServerAddress } from './server-address.js';
import { tsigSign, tsigVerify, TsigError, type TsigErrorCode, type TsigKey } from './tsig.js';

const OPCODE_UPDATE = 5;
const TYPE_CODES = { SOA: 6, TXT: 16 } as const;
const CLASS_IN = 1;
const CLASS_NONE = 254;
const CLASS_ANY = 255;
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
/** Without EDNS a UDP message is at most 512 octets (RFC 1035 §4.2.1); longer updates go over TCP. */
const UDP_MAX = 512;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** One change of the update section. */
export interface TxtChange {
  /**
   * `add`: RFC 2136 §2.5.1, class IN with `ttl`; a record with the same RDATA replaces the one
   *   present (§3.4.2.2), so adding twice leaves one.
   * `delete`: RFC 2136 §2.5.4, class NONE, TTL 0, the RDATA of the one record to remove; the server
   *   deletes only a record with equal RDATA (§3.4.2.4), so deleting an absent value is a no-op.
   */
  action: 'add' | 'delete';
  /** Owner name, inside the zone. */
  name: string;
  /** The TXT value, split into character-strings of at most 255 octets. */
  value: string;
  /** For `add`; default 60. */
  ttl?: number;
}

/** A prerequisite "RRset exists (value independent)", RFC 2136 §2.4.1. */
export interface RrsetExists {
  name: string;
  type: keyof typeof TYPE_CODES;
}

/**
 * The TXT RDATA of `value` (RFC 1035 §3.3.14): consecutive character-strings of at most 255 octets.
 * A delete only matches a record whose RDATA is identical, so adds and deletes must split alike.
 */
export function encodeTxtRdata(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return Buffer.from([0]); // one empty character-string
  if (bytes.length > 60_000) throw new RangeError(`TXT value of ${bytes.length} octets is too long`);
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

function resourceRecord(name: string, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(name), fixed, rdata]);
}

/**
 * Encodes an UPDATE message (RFC 2136 §2): header with opcode UPDATE, the zone section
 * (`zone` SOA IN), the prerequisite section and the update section; no additional records (the
 * TSIG is appended by signing). Throws a RangeError for a name outside the zone.
 */
export function encodeUpdateMessage(id: number, zone: string, parts: { prerequisites?: readonly RrsetExists[]; updates?: readonly TxtChange[] }): Buffer {
  const z = normalizeName(zone);
  const prerequisites = parts.prerequisites ?? [];
  const updates = parts.updates ?? [];
  for (const n of [...prerequisites.map((p) => p.name), ...updates.map((u) => u.name)]) {
    // RFC 2136 §3.2.1 and §3.4.1: the server would answer NOTZONE; say so before sending.
    if (!isInZone(normalizeName(n), z)) throw new RangeError(`${n} is not inside zone ${z || '.'}`);
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // ZOCOUNT
  header.writeUInt16BE(prerequisites.length, 6); // PRCOUNT
  header.writeUInt16BE(updates.length, 8); // UPCOUNT
  header.writeUInt16BE(0, 10); // ADCOUNT
  const zoneSection = Buffer.concat([encodeName(z), Buffer.from([0, TYPE_CODES.SOA, 0, CLASS_IN])]);
  const records: Buffer[] = [];
  for (const p of prerequisites) {
    // RFC 2136 §2.4.1: CLASS ANY, TTL 0, RDLENGTH 0.
    records.push(resourceRecord(p.name, TYPE_CODES[p.type], CLASS_ANY, 0, Buffer.alloc(0)));
  }
  for (const u of updates) {
    const rdata = encodeTxtRdata(u.value);
    if (u.action === 'add') {
      const ttl = u.ttl ?? 60;
      if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) throw new RangeError(`invalid TTL ${ttl}`);
      records.push(resourceRecord(u.name, TYPE_CODES.TXT, CLASS_IN, ttl, rdata));
    } else {
      // RFC 2136 §2.5.4: "Delete An RR From An RRset" — CLASS NONE, TTL 0, the RR's RDATA.
      records.push(resourceRecord(u.name, TYPE_CODES.TXT, CLASS_NONE, 0, rdata));
    }
  }
  return Buffer.concat([header, zoneSection, ...records]);
}

/** Why an update failed. */
export type DnsUpdateFailure = 'timeout' | 'network' | 'malformed' | 'rcode' | 'tsig';

/** An update failed. The message names the server and the zone, and never contains the secret. */
export class DnsUpdateError extends Error {
  override name = 'DnsUpdateError';
  constructor(
    readonly code: DnsUpdateFailure,
    /** `host:port` of the server. */
    readonly server: string,
    /** The zone (lower case, no trailing dot). */
    readonly zone: string,
    message: string,
    readonly details: {
      /** The reply's RCODE, when there was a reply. */
      rcode?: string;
      /** The TSIG error, when TSIG failed (reported by the server, or found by us). */
      tsigError?: TsigErrorCode;
      /** True when trying again later may succeed. */
      retryable?: boolean;
    } = {},
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
  }
  /** True when trying again later may succeed (time-outs, network trouble, SERVFAIL). */
  get retryable(): boolean {
    return this.details.retryable ?? false;
  }
}

/** What one UPDATE needs. */
export interface DnsUpdateRequest {
  server: DnsServerAddress;
  zone: string;
  key: TsigKey;
  prerequisites?: readonly RrsetExists[];
  updates?: readonly TxtChange[];
  /** Per UDP try; default 5000. A TCP exchange gets the time of all tries together. */
  timeoutMs?: number;
  /** UDP sends in all; default 2. Resending is safe: adding a present or deleting an absent record is a no-op. */
  tries?: number;
  signal?: AbortSignal;
  /** The clock for TSIG, in milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
}

/** What an rcode means for an update (RFC 2136 §2.2 and §3). */
function explainRcode(rcode: string, req: DnsUpdateRequest): string {
  switch (rcode) {
    case 'FORMERR': return 'the server could not parse the update';
    case 'SERVFAIL': return 'the server failed internally (try again later)';
    case 'NOTIMP': return 'the server does not implement dynamic updates';
    case 'REFUSED': return `the server refuses updates to this zone with key ${req.key.name} (check allow-update / update-policy)`;
    case 'YXDOMAIN': case 'YXRRSET': return 'a prerequisite failed';
    case 'NXRRSET': return 'a prerequisite failed: an RRset that must exist does not (is the zone served by this server?)';
    case 'NOTAUTH': return 'the server is not authoritative for this zone';
    case 'NOTZONE': return 'a name in the update is outside the zone';
    case 'NXDOMAIN': return 'a prerequisite failed: a name that must exist does not';
    default: return 'unexpected answer';
  }
}

/** What a TSIG error reported by the server means (RFC 8945 §5.2). */
function explainServerTsig(e: TsigError, key: TsigKey): string {
  switch (e.code) {
    case 'BADSIG': return `the server could not verify our signature: wrong tsigSecret for key ${key.name} (${key.algorithm})?`;
    case 'BADKEY': return `the server does not know key ${key.name} with algorithm ${key.algorithm}`;
    case 'BADTIME': {
      const theirs = e.otherTime === undefined ? '' : ` (server time ${new Date(e.otherTime * 1000).toISOString()})`;
      return `our clock differs from the server's by more than the TSIG fudge${theirs}`;
    }
    case 'BADTRUNC': return 'the server refused our truncated MAC';
    default: return 'TSIG failure';
  }
}

type UpdateVerdict = { kind: 'reply'; reply: Buffer } | { kind: 'truncated' };

/**
 * Checks that `reply` answers our UPDATE `id` for `zone`: `undefined` for a datagram that is not
 * ours (other ID, not a response, another opcode or zone), which is dropped.
 */
function checkUpdateReply(reply: Buffer, id: number, zone: string, udp: boolean): UpdateVerdict | undefined {
  if (reply.length < 12 || reply.readUInt16BE(0) !== id) return undefined;
  const flags = reply.readUInt16BE(2);
  if ((flags & FLAG_QR) === 0 || ((flags >> 11) & 0xf) !== OPCODE_UPDATE) return undefined;
  if (udp && (flags & FLAG_TC) !== 0) return { kind: 'truncated' };
  if (reply.readUInt16BE(4) > 0) {
    try {
      const z = readName(reply, 12);
      if (z.next + 4 > reply.length) return undefined;
      if (z.name !== zone || reply.readUInt16BE(z.next) !== TYPE_CODES.SOA) return undefined;
    } catch {
      return undefined;
    }
  }
  return { kind: 'reply', reply };
}

/**
 * Sends one signed UPDATE and checks the signed reply. UDP first (updates are small), TCP when the
 * message exceeds 512 octets or the reply is truncated. Resolves when the server
 * answered NOERROR with a valid TSIG; throws {@link DnsUpdateError} otherwise, or the signal's
 * reason when aborted.
 */
export async function sendUpdate(req: DnsUpdateRequest): Promise<void> {
  const where = formatServerAddress(req.server);
  const zone = normalizeName(req.zone);
  const ctx = `update of zone ${zone || '.'} at ${where}`;
  const timeoutMs = req.timeoutMs ?? 5000;
  const tries = req.tries ?? 2;
  const signal = req.signal ? { signal: req.signal } : {};
  const now = req.now ? { now: req.now } : {};
  const id = randomMessageId();
  const signed = tsigSign(encodeUpdateMessage(id, zone, req), req.key, now);

  let reply: Buffer;
  try {
    let verdict: UpdateVerdict = { kind: 'truncated' };
    if (signed.message.length <= UDP_MAX) {
      verdict = await udpExchange(req.server, signed.message, (r) => checkUpdateReply(r, id, zone, true), {
        timeoutMs, tries, ...signal,
      });
    }
    if (verdict.kind === 'truncated') {
      // The same signed message: its MAC is what the TCP reply's MAC covers.
      const r = await tcpExchange(req.server, signed.message, { timeoutMs: timeoutMs * Math.max(1, tries), ...signal });
      const v = checkUpdateReply(r, id, zone, false);
      if (v?.kind !== 'reply') throw new DnsTransportError('malformed', where, `DNS server ${where} answered something else over TCP`);
      verdict = v;
    }
    reply = verdict.reply;
  } catch (err) {
    if (err instanceof DnsTransportError) {
      throw new DnsUpdateError(err.code, where, zone, `${ctx} failed: ${err.message}`, { retryable: err.code !== 'malformed' }, { cause: err });
    }
    throw err;
  }

  const rcode = RCODES[reply.readUInt16BE(2) & 0xf] ?? `RCODE_${reply.readUInt16BE(2) & 0xf}`;
  try {
    tsigVerify(reply, req.key, { requestMac: signed.mac, ...now });
  } catch (err) {
    if (!(err instanceof TsigError)) throw err;
    if (err.code === 'UNSIGNED' && rcode !== 'NOERROR') {
      // An unsigned error reply proves nothing, but it cannot make us believe in a success either:
      // report the rcode as it came.
      throw new DnsUpdateError('rcode', where, zone, `${ctx} failed: the server answered ${rcode} (unsigned): ${explainRcode(rcode, req)}`, {
        rcode, retryable: rcode === 'SERVFAIL',
      }, { cause: err });
    }
    if (err.origin === 'server') {
      throw new DnsUpdateError('tsig', where, zone, `${ctx} failed: the server answered ${rcode}, TSIG ${err.code}: ${explainServerTsig(err, req.key)}`, {
        rcode, tsigError: err.code,
      }, { cause: err });
    }
    const what = err.code === 'UNSIGNED' ? `the ${rcode} reply is not signed` : `the reply failed TSIG verification (${err.code}): ${err.message}`;
    throw new DnsUpdateError('tsig', where, zone, `${ctx}: ${what}; it is not trusted`, { rcode, tsigError: err.code }, { cause: err });
  }
  if (rcode !== 'NOERROR') {
    throw new DnsUpdateError('rcode', where, zone, `${ctx} failed: the server answered ${rcode}: ${explainRcode(rcode, req)}`, {
      rcode, retryable: rcode === 'SERVFAIL',
    });
  }
}
