/**
 * Moving one DNS message to a server and its reply back: UDP with retransmits (RFC 1035 §4.2.1) and
 * TCP with the two-octet length prefix (RFC 1035 §4.2.2, RFC 7766). What a reply means is the
 * caller's business; this file only knows sockets, time-outs and cancellation.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect, isIP } from 'node:net';
import { formatServerAddress, type DnsServerAddress } from './server-address.js';

/** Why an exchange failed. */
export type DnsTransportFailure = 'timeout' | 'network' | 'malformed';

/** An exchange with `server` failed; the message names the server. */
export class DnsTransportError extends Error {
  override name = 'DnsTransportError';
  constructor(
    readonly code: DnsTransportFailure,
    /** `host:port` of the server. */
    readonly server: string,
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
  }
}

/** Options of {@link udpExchange}. */
export interface UdpExchangeOptions {
  /** How long to wait after each transmission. */
  timeoutMs: number;
  /** How many times the message is sent in all (at least 1). */
  tries: number;
  signal?: AbortSignal;
}

/**
 * What {@link udpExchange} does with a datagram: return a value to finish, `undefined` to ignore it
 * (a reply to someone else, a spoofing attempt) and keep waiting, or throw to fail.
 */
export type ReplyHandler<T> = (reply: Buffer) => T | undefined;

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** Resolves a host name to one address; IP addresses pass through. */
async function resolveHost(server: DnsServerAddress, signal?: AbortSignal): Promise<{ address: string; family: 4 | 6 }> {
  const literal = isIP(server.host);
  if (literal === 4 || literal === 6) return { address: server.host, family: literal };
  try {
    const r = await lookup(server.host);
    signal?.throwIfAborted();
    return { address: r.address, family: r.family === 6 ? 6 : 4 };
  } catch (err) {
    if (signal?.aborted) throw abortReason(signal);
    throw new DnsTransportError('network', formatServerAddress(server),
      `cannot resolve DNS server ${formatServerAddress(server)}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Sends `message` over UDP from a fresh socket (a new random source port each time) connected to
 * `server`, so that only the server's datagrams arrive and an ICMP "port unreachable" fails fast.
 * Retransmits after each `timeoutMs` until `tries` sends have gone unanswered; a late reply to an
 * earlier send is still accepted.
 */
export async function udpExchange<T>(server: DnsServerAddress, message: Buffer, onReply: ReplyHandler<T>, opts: UdpExchangeOptions): Promise<T> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const where = formatServerAddress(server);
  const { address, family } = await resolveHost(server, signal);
  const tries = Math.max(1, Math.floor(opts.tries));
  return await new Promise<T>((resolve, reject) => {
    const socket: UdpSocket = createSocket(family === 6 ? 'udp6' : 'udp4');
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (err: unknown, value?: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        // already closed
      }
      if (err === undefined) resolve(value as T);
      else reject(err);
    };
    const onAbort = (): void => finish(abortReason(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('message', (msg: Buffer) => {
      if (done) return;
      let value: T | undefined;
      try {
        value = onReply(msg);
      } catch (err) {
        finish(err);
        return;
      }
      if (value !== undefined) finish(undefined, value);
    });
    socket.on('error', (err) => {
      finish(new DnsTransportError('network', where, `DNS server ${where} over UDP: ${err.message}`, { cause: err }));
    });
    const transmit = (): void => {
      if (done) return;
      sent++;
      socket.send(message, (err) => {
        if (err) finish(new DnsTransportError('network', where, `DNS server ${where} over UDP: ${err.message}`, { cause: err }));
      });
      timer = setTimeout(() => {
        if (sent < tries) transmit();
        else {
          finish(new DnsTransportError('timeout', where,
            `DNS server ${where} did not answer over UDP (${tries} ${tries === 1 ? 'try' : 'tries'} of ${opts.timeoutMs} ms)`));
        }
      }, opts.timeoutMs);
    };
    socket.connect(server.port, address, () => transmit());
  });
}

/** Options of {@link tcpExchange}. */
export interface TcpExchangeOptions {
  /** For the whole exchange: connect, send, receive. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Sends `message` over a fresh TCP connection and returns the first message the server sends back. */
export async function tcpExchange(server: DnsServerAddress, message: Buffer, opts: TcpExchangeOptions): Promise<Buffer> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const where = formatServerAddress(server);
  if (message.length > 0xffff) throw new RangeError(`DNS message of ${message.length} octets is too long for TCP`);
  const { address } = await resolveHost(server, signal);
  return await new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host: address, port: server.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (err: unknown, value?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err === undefined) resolve(value as Buffer);
      else reject(err);
    };
    const timer = setTimeout(() => {
      finish(new DnsTransportError('timeout', where, `DNS server ${where} did not answer over TCP within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    const onAbort = (): void => finish(abortReason(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setNoDelay(true);
    socket.on('connect', () => {
      const frame = Buffer.alloc(2 + message.length);
      frame.writeUInt16BE(message.length, 0);
      message.copy(frame, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < 2) return;
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      const length = all.readUInt16BE(0);
      if (all.length >= 2 + length) finish(undefined, Buffer.from(all.subarray(2, 2 + length)));
    });
    socket.on('error', (err) => {
      finish(new DnsTransportError('network', where, `DNS server ${where} over TCP: ${err.message}`, { cause: err }));
    });
    socket.on('close', () => {
      finish(new DnsTransportError('network', where, `DNS server ${where} closed the TCP connection before a complete reply`));
    });
  });
}

/** A random 16-bit message ID (RFC 5452 §4.3: IDs must be unpredictable). */
export function randomMessageId(): number {
  return randomInt(0, 0x10000);
}
