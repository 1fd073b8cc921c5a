/** Zone lookup: the enabled zone with the longest suffix match of a name. */

/** The zone of `zones` that covers `fqdn` most specifically, or undefined. */
export function matchZone<Z extends { zone_name: string }>(zones: readonly Z[], fqdn: string): Z | undefined {
  const name = fqdn.toLowerCase().replace(/\.$/, '');
  let best: Z | undefined;
  for (const z of zones) {
    const zone = z.zone_name;
    if ((name === zone || name.endsWith(`.${zone}`)) && (!best || zone.length > best.zone_name.length)) best = z;
  }
  return best;
}
