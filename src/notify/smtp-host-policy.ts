/**
 * The private-address policy (src/lifecycle/address-policy.ts) for SMTP servers, which are a host
 * and a port rather than a URL: refused when the host is or resolves to a loopback or private
 * address, unless `CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1`.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DomainError } from '../domain-error.js';
import { isPrivateAddress } from '../lifecycle/address-policy.js';

/** Throws `private_address_refused` when `host` is not allowed. */
export async function checkSmtpHost(host: string, field: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const bare = host.replace(/^\[|\]$/g, '');
  const addresses = isIP(bare) ? [bare] : await lookup(bare, { all: true }).then((r) => r.map((a) => a.address), () => [] as string[]);
  const bad = bare.toLowerCase() === 'localhost' ? bare : addresses.find(isPrivateAddress);
  if (bad) {
    throw new DomainError('private_address_refused', `${field} points at ${bad}, a loopback or private address; set CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1 to allow a local mail relay`, [{ field, value: host, message: 'private or loopback address refused' }]);
  }
}
