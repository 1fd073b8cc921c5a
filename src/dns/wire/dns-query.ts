/**
 * A stub DNS query (RFC 1035 §7 without the resolver): one question to one server, UDP first and
 * TCP when the reply is truncated (RFC 7766 §5). It follows nothing itself — no CNAMEs, no
 * referrals — so propagation checks and zone-cut walking see exactly what that server says.
 */
import dnsPacket from 'dns-packet';
import { normalizeName } from './dns-name.js';
import { DnsTransportError, randomMessageId, tcpExchange, udpExchange } from './dns-transport.js';
import { formatServerAddress, parseServerAddress, type DnsServerAddress } from './server-address.js';

export { parseServerAddress, formatServerAddress, type DnsServerAddress };

/** One resource record of a reply. */
export interface DnsRecordData {
  /** Owner name as the reply spells it, no trailing dot. */
  name: string;
  /** `TXT`, `NS`, `SOA`, `CNAME`, `A`, `AAAA`, … (`UNKNOWN_<n>` for types dns-packet does not know). */
  type: string;
  ttl: number;
  class: string;
  /**
   * The RDATA as dns-packet decodes it (a string for A/AAAA/NS/CNAME, an object for SOA); for TXT
   * the character-strings as `string[]` (UTF-8).
   */
  data: unknown;
  /** For TXT: the joined character-strings of each record. */
  txt?: string;
}

/** A server's reply. */
export interface DnsResponse {
  /** `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, … */
  rcode: string;
  authoritative: boolean;
  /** TC of the final reply: false unless even the TCP reply said it was truncated. */
  truncated: boolean;
  answers: DnsRecordData[];
  authorities: DnsRecordData[];
  additionals: DnsRecordData[];
}

/** The query types {@link dnsQuery} asks for. */
export type DnsQueryType = 'TXT' | 'NS' | 'SOA' | 'CNAME' | 'A' | 'AAAA';

/** Options of {@link dnsQuery}. */
export interface DnsQueryOptions {
  /** Sets RD; default false (ask the server about its own data only). */
  recursionDesired?: boolean;
  /** Per UDP try, and for the TCP exchange; default 3000. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** How many times the UDP query is sent in all; default 2. */
  tries?: number;
}

/**
 * A query failed without a usable reply. (`Error.name` stays `DnsQueryError`, so the question's name
 * is {@link queryName}.)
 */
export class DnsQueryError extends Error {
  override name = 'DnsQueryError';
  constructor(
    /** `host:port` of the server asked. */
    readonly server: string,
    /** The name asked about (normalised: lower case, no trailing dot). */
    readonly queryName: string,
    /** The query type. */
    readonly type: DnsQueryType,
    readonly code: 'timeout' | 'network' | 'malformed',
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
  }
}

const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_TRIES = 2;
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const OPCODE_MASK = 0x7800;
/** Error rcodes with which a server may leave the question section empty (RFC 1035 §4.1.1 does not forbid it). */
const QUESTIONLESS_RCODES = new Set(['FORMERR', 'SERVFAIL', 'NOTIMP', 'REFUSED']);

type Answer = dnsPacket.Answer;

function txtStrings(data: unknown): string[] {
  const parts = Array.isArray(data) ? (data as unknown[]) : [data];
  return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p)));
}

function toRecord(a: Answer): DnsRecordData {
  if (a.type === 'OPT') return { name: a.name, type: 'OPT', ttl: 0, class: '', data: a.options };
  const base = { name: a.name.length > 1 ? a.name.replace(/\.$/, '') : a.name, type: a.type, ttl: a.ttl ?? 0, class: a.class ?? 'IN' };
  if (a.type === 'TXT') {
    const strings = txtStrings(a.data);
    return { ...base, data: strings, txt: strings.join('') };
  }
  return { ...base, data: a.data };
}

/** What {@link checkReply} makes of one datagram or TCP message. */
type Verdict = { kind: 'answer'; packet: dnsPacket.DecodedPacket & { rcode?: string } } | { kind: 'truncated' };

/**
 * Checks that `reply` answers our query `id` about `qname`/`qtype`. Returns `undefined` for a
 * datagram that is not ours (other ID, not a response, other question: RFC 5452 §9.1 says to drop
 * these), and throws `malformed` for one that is ours but cannot be decoded.
 */
function checkReply(reply: Buffer, id: number, qname: string, qtype: DnsQueryType, where: string, udp: boolean): Verdict | undefined {
  if (reply.length < 12 || reply.readUInt16BE(0) !== id) return undefined;
  const flags = reply.readUInt16BE(2);
  if ((flags & FLAG_QR) === 0 || (flags & OPCODE_MASK) !== 0) return undefined;
  // RFC 2181 §9 / RFC 7766 §5: a truncated reply may be cut anywhere; only its header is trusted.
  if (udp && (flags & FLAG_TC) !== 0) return { kind: 'truncated' };
  let packet: dnsPacket.DecodedPacket & { rcode?: string };
  try {
    packet = dnsPacket.decode(reply) as dnsPacket.DecodedPacket & { rcode?: string };
  } catch (err) {
    throw new DnsTransportError('malformed', where, `DNS server ${where} sent an undecodable reply: ${(err as Error).message}`, { cause: err });
  }
  const questions = packet.questions ?? [];
  const q = questions[0];
  if (q === undefined) {
    if (QUESTIONLESS_RCODES.has(packet.rcode ?? '')) return { kind: 'answer', packet };
    throw new DnsTransportError('malformed', where, `DNS server ${where} sent a ${packet.rcode ?? 'NOERROR'} reply without the question`);
  }
  let name: string;
  try {
    name = normalizeName(q.name);
  } catch {
    return undefined;
  }
  if (questions.length !== 1 || name !== qname || q.type !== qtype || (q.class ?? 'IN') !== 'IN') return undefined;
  return { kind: 'answer', packet };
}

/**
 * Asks `server` one question. Resolves with whatever the server answered (any rcode); throws
 * {@link DnsQueryError} when no usable answer came, the signal's reason when aborted, and a
 * TypeError for a name that cannot be a domain name.
 */
export async function dnsQuery(server: DnsServerAddress, name: string, type: DnsQueryType, opts: DnsQueryOptions = {}): Promise<DnsResponse> {
  const where = formatServerAddress(server);
  const qname = normalizeName(name);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tries = opts.tries ?? DEFAULT_TRIES;
  const encode = (id: number): Buffer =>
    dnsPacket.encode({
      type: 'query',
      id,
      flags: opts.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
      questions: [{ type, name: qname === '' ? '.' : qname, class: 'IN' }],
    });
  const fail = (err: unknown): never => {
    if (err instanceof DnsTransportError) {
      throw new DnsQueryError(where, qname, type, err.code, `${type} query for ${qname || '.'}: ${err.message}`, { cause: err });
    }
    throw err;
  };

  let verdict: Verdict;
  try {
    const id = randomMessageId();
    verdict = await udpExchange(server, encode(id), (reply) => checkReply(reply, id, qname, type, where, true), {
      timeoutMs, tries, ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (verdict.kind === 'truncated') {
      const tcpId = randomMessageId();
      const reply = await tcpExchange(server, encode(tcpId), { timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
      const tcpVerdict = checkReply(reply, tcpId, qname, type, where, false);
      if (tcpVerdict === undefined) throw new DnsTransportError('malformed', where, `DNS server ${where} answered another question over TCP`);
      verdict = tcpVerdict;
    }
  } catch (err) {
    return fail(err);
  }
  if (verdict.kind === 'truncated') throw new Error('unreachable: a TCP reply is never treated as truncated');
  const p = verdict.packet;
  return {
    rcode: p.rcode ?? 'NOERROR',
    authoritative: p.flag_aa,
    truncated: p.flag_tc,
    answers: (p.answers ?? []).map(toRecord),
    authorities: (p.authorities ?? []).map(toRecord),
    additionals: (p.additionals ?? []).map(toRecord),
  };
}
