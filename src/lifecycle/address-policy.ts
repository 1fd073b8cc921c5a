/**
 * Refuses URLs that point at loopback, private or link-local addresses unless
 * `CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1`: a provider or webhook URL must not become a way to make
 * the server probe its own network.
 *
 * Two checks, both needed: {@link checkOutboundUrl} when a URL is saved (a clear error for the
 * user), and {@link guardedLookup} at every connection, for every HTTP client that reaches a
 * user-given URL (ACME, DNS provider APIs, webhooks). The second defeats DNS rebinding: a name
 * that resolved to a public address when it was checked and to 127.0.0.1 a moment later.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { DomainError } from '../domain-error.js';

/** IPv4 ranges that are not public: this network, private (RFC 1918), CGNAT (RFC 6598), loopback, link-local, IETF, benchmarking, multicast, reserved. */
const IPV4_BLOCKED = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const;

const blocked = new BlockList();
for (const [net, bits] of IPV4_BLOCKED) {
  // IPv4 rules also match IPv4-mapped IPv6 addresses (::ffff:a.b.c.d): BlockList maps them.
  blocked.addSubnet(net, bits, 'ipv4');
  // The same IPv4 ranges embedded in NAT64 (RFC 6052, 64:ff9b::/96) and 6to4 (RFC 3056, 2002::/16) addresses.
  const [a, b, c, d] = net.split('.').map(Number) as [number, number, number, number];
  const hi = ((a << 8) | b).toString(16);
  const lo = ((c << 8) | d).toString(16);
  blocked.addSubnet(`64:ff9b::${hi}:${lo}`, 96 + bits, 'ipv6');
  blocked.addSubnet(`2002:${hi}:${lo}::`, 16 + bits, 'ipv6');
}
// ::/96 holds :: (unspecified), ::1 (loopback) and the deprecated IPv4-compatible addresses
// (RFC 4291 §2.5.5.1); then local-use NAT64, unique local (fc00::/7), link-local (fe80::/10),
// the deprecated site-local (fec0::/10) and multicast.
for (const [net, bits] of [['::', 96], ['64:ff9b:1::', 48], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8]] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

/** True when `address` (an IP literal) is loopback, private, link-local or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Checks that `url` is http(s) and, unless allowed, resolves only to public addresses. */
export async function checkOutboundUrl(url: string, field: string, allowPrivate: boolean): Promise<URL> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DomainError('validation_failed', `${field} is not a valid URL`, [{ field, value: url, message: 'expected an absolute https:// URL' }]);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new DomainError('validation_failed', `${field} must use https://`, [{ field, value: url, message: 'expected an https:// URL' }]);
  }
  if (allowPrivate) return parsed;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : await lookup(host, { all: true }).then((r) => r.map((a) => a.address), () => [] as string[]);
  const bad = host === 'localhost' ? host : addresses.find(isPrivateAddress);
  if (bad) {
    throw new DomainError('private_address_refused', `${field} points at ${bad}, a loopback or private address; set CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1 to allow it (for a private CA or a test set-up)`, [{ field, value: url, message: 'private or loopback address refused' }]);
  }
  return parsed;
}

/** A connection refused because its address is loopback, private or link-local. */
export class PrivateAddressError extends Error {
  override readonly name = 'PrivateAddressError';
}

/** Resolves `hostname` to every address (injectable: tests resolve names their own way). */
export type ResolveAll = (hostname: string, options: LookupOptions) => Promise<LookupAddress[]>;

const systemResolve: ResolveAll = (hostname, options) => new Promise((resolve, reject) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
});

/**
 * A `lookup` for `net.connect`, `tls.connect` and `http(s).request`: resolves the name and, unless
 * `allowPrivate`, refuses the connection when any address is loopback, private or link-local,
 * so the address actually connected to is the one checked (no DNS-rebinding window). IP
 * literals give themselves back (and are refused likewise): Node calls no lookup for them, so a
 * client SHOULD pass its literal hosts through this function before connecting.
 */
export function guardedLookup(opts: { allowPrivate: boolean; resolve?: ResolveAll }): LookupFunction {
  const resolve = opts.resolve ?? systemResolve;
  return (hostname, options, callback) => {
    const bare = hostname.replace(/^\[|\]$/g, '');
    const family = isIP(bare);
    const found: Promise<LookupAddress[]> = family ? Promise.resolve([{ address: bare, family }]) : resolve(hostname, options);
    found.then((addresses) => {
      if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
      const bad = opts.allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (bad) {
        throw new PrivateAddressError(`${hostname} resolves to ${bad.address}, a loopback or private address, which is refused; set CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1 to allow it`);
      }
      const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
      const list = wanted.length ? wanted : addresses;
      if (options.all) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    }).catch((err: NodeJS.ErrnoException) => callback(err, options.all ? [] : '', undefined));
  };
}

/** Runs `lookup` once for `host` (as a connection would): rejects with its error, e.g. {@link PrivateAddressError}. */
export function vetHost(lookupFn: LookupFunction, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    lookupFn(host, { all: true }, (err) => (err ? reject(err) : resolve()));
  });
}
