/**
 * Which DNS zone a name's dns-01 record falls in, as the server decides it (src/dns/zone-match.ts):
 * the enabled zone with the longest suffix match of `_acme-challenge.<name>`. The server also
 * follows a CNAME of that record into another zone, which the browser cannot resolve; such a name
 * shows here as uncovered and is accepted on submit.
 */
import type { DnsZone } from './resources';

/** `*.example.com` → `_acme-challenge.example.com` (RFC 8555 §8.4; a wildcard validates its base name). */
export function challengeRecordName(name: string): string {
  return `_acme-challenge.${name.replace(/^\*\./, '')}`;
}

/** The zone of `zones` that covers `fqdn` most specifically, or undefined. */
export function matchZone(zones: readonly DnsZone[], fqdn: string): DnsZone | undefined {
  const name = fqdn.toLowerCase().replace(/\.$/, '');
  let best: DnsZone | undefined;
  for (const z of zones) {
    const zone = z.properties.zoneName;
    if ((name === zone || name.endsWith(`.${zone}`)) && (!best || zone.length > best.properties.zoneName.length)) best = z;
  }
  return best;
}

/** Where a name's record would be written: an enabled zone, only a disabled one, or none. */
export type ZoneVerdict = { kind: 'zone'; zone: DnsZone } | { kind: 'disabled'; zone: DnsZone } | { kind: 'none' };

/** The verdict for one name (an ASCII name as the form checked it). */
export function zoneFor(zones: readonly DnsZone[], name: string): ZoneVerdict {
  const record = challengeRecordName(name);
  const enabled = matchZone(zones.filter((z) => z.properties.enabled), record);
  if (enabled) return { kind: 'zone', zone: enabled };
  const disabled = matchZone(zones, record);
  return disabled ? { kind: 'disabled', zone: disabled } : { kind: 'none' };
}
