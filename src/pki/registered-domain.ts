/**
 * The registered domain (eTLD+1) of a certificate name, as Let's Encrypt computes it for its
 * "certificates per registered domain" limit: the Public Suffix List, private section included
 * (a `*.github.io` user has a limit of their own), so `a.b.example.co.uk` → `example.co.uk`.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { getDomain } from 'tldts';
import { wildcardBase } from './names.js';

/**
 * The registered domain `name` counts against, in lower-case punycode.
 *
 * - A wildcard counts as the domain it covers (`*.x.example.com` → `example.com`).
 * - An IP address counts as itself (RFC 8738 identifiers have no registered domain).
 * - Under a TLD the PSL does not know (`.test`, `.internal`) the PSL's default rule `*` applies:
 *   the last two labels (`www.wild.test` → `wild.test`).
 * - A name that is itself a public suffix or a single label (`co.uk`, `localhost`) counts as
 *   itself, as Boulder does when the PSL yields no registered domain.
 */
export function registeredDomain(name: string): string {
  let host = wildcardBase(name.trim().toLowerCase()).replace(/\.$/, '');
  if (isIP(host)) return host;
  // Stored names are punycode already; a U-label from elsewhere is converted so both count alike.
  if (/[^\p{ASCII}]/u.test(host)) host = domainToASCII(host) || host;
  return getDomain(host, { allowPrivateDomains: true }) ?? host;
}

/** The distinct registered domains of an order's names, sorted. */
export function registeredDomains(names: readonly string[]): string[] {
  return [...new Set(names.map(registeredDomain))].sort();
}
