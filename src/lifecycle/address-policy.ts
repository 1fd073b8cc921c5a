/**
 * Refuses URLs that point at loopback, private or link-local addresses unless
 * `CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1`: a provider or webhook URL must not become a way to make
 * the server probe its own network.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { DomainError } from '../domain-error.js';

const blocked = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  blocked.addSubnet(net, bits, 'ipv4');
}
// IPv4 rules also match IPv4-mapped IPv6 addresses (::ffff:a.b.c.d): BlockList maps them.
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
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
