/**
 * For a dns-01 auto certificate: which registered DNS zone each name's `_acme-challenge` record
 * falls in, shown while the names are typed (GET /dns-zones, which every role may read). A name
 * in no enabled zone is flagged: the server accepts it only when its record is delegated by CNAME
 * into a zone, which it checks on submit.
 */
import type { Collection, DnsZone } from '../resources';
import { useApi } from '../use-api';
import { zoneFor } from '../zone-match';
import { StateBadge } from './state-badge';

/** The list, for the good names of the form (`names`, ASCII as they will be requested). */
export function ZoneHints({ names }: { names: string[] }) {
  const { data, error } = useApi<Collection<DnsZone>>('dns-zones?limit=1000');
  if (error) return <p class="help bad">The DNS zones could not be read ({error}); the server checks each name on submit.</p>;
  if (!data) return <p class="help" role="status">Looking up the DNS zones…</p>;
  if (!names.length) return null;
  const verdicts = names.map((n) => ({ name: n, v: zoneFor(data.items, n) }));
  const uncovered = verdicts.filter((x) => x.v.kind !== 'zone').length;
  return (
    <div class="zone-hints" id="ac-zones">
      <p class="help" aria-live="polite">
        {uncovered === 0 ? `Each name is in a DNS zone certkeeper may write (${data.total} registered).`
          : `${uncovered} of ${names.length} name${names.length === 1 ? '' : 's'} in no enabled DNS zone: register the zone, delegate the name's _acme-challenge record by CNAME into a registered zone, or use manual dns-01.`}
      </p>
      <ul class="zone-list" aria-label="DNS zone of each name">
        {verdicts.map(({ name, v }) => (
          <li key={name} data-name={name} class={v.kind === 'zone' ? '' : 'bad'}>
            <code>{name}</code>{' → '}
            {v.kind === 'zone' ? (
              <>zone <strong>{v.zone.properties.zoneName}</strong> <span class="muted">({v.zone.properties.provider})</span> <StateBadge state={v.zone.metadata.state} /></>
            ) : v.kind === 'disabled' ? (
              <>zone <strong>{v.zone.properties.zoneName}</strong> is disabled</>
            ) : (
              <>no DNS zone</>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
