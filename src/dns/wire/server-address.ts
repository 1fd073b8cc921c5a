/** `host:port` of a DNS server, as settings and `resolvers` lists spell it. */
import { isIPv6 } from 'node:net';

/** Where a DNS server listens. */
export interface DnsServerAddress {
  host: string;
  port: number;
}

/**
 * Parses `1.2.3.4`, `1.2.3.4:5353`, `[::1]:53`, `::1`, `ns1.example.com` or `ns1.example.com:53`.
 * Throws a TypeError naming the input when it is not one of these.
 */
export function parseServerAddress(hostPort: string, defaultPort = 53): DnsServerAddress {
  const s = hostPort.trim();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
    if (!isIPv6(host)) throw new TypeError(`invalid DNS server address "${hostPort}": not an IPv6 address in brackets`);
  } else if (isIPv6(s)) {
    host = s; // a bare IPv6 address has no port
  } else {
    const m = /^([^:\s]+)(?::(\d+))?$/.exec(s);
    if (!m) throw new TypeError(`invalid DNS server address "${hostPort}": expected host, host:port or [IPv6]:port`);
    host = m[1] ?? '';
    portText = m[2];
    if (!/^[A-Za-z0-9.-]+$/.test(host) || host.startsWith('.') || host.includes('..')) {
      throw new TypeError(`invalid DNS server address "${hostPort}": bad host name`);
    }
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`invalid DNS server address "${hostPort}": port must be 1-65535`);
  }
  return { host, port };
}

/** `host:port`, with IPv6 addresses in brackets (the inverse of {@link parseServerAddress}). */
export function formatServerAddress(server: DnsServerAddress): string {
  return isIPv6(server.host) ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}
