/**
 * The dashboard: how many certificates and auto certificates are in each state, what expires
 * soonest (and a 90-day chart of it), what failed and why, and the latest events.
 */
import { api, query } from '../api';
import { ErrorMessage } from '../components/alert';
import { ExpiryChart } from '../components/expiry-chart';
import { Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { StateBadge, stateLabel } from '../components/state-badge';
import { When } from '../components/when';
import { AUTO_CERTIFICATE_STATES, CERTIFICATE_STATES, type AuditEvent, type AutoCertificate, type Certificate, type Collection } from '../resources';
import { Link } from '../router';
import { useLoader } from '../use-api';

/** How many active certificates the expiry view reads (sorted here: the API sorts by creation). */
const EXPIRY_SCAN = 1000;

interface Dashboard {
  certificateCounts: [string, number][];
  autoCounts: [string, number][];
  active: Certificate[];
  activeTotal: number;
  failed: Collection<AutoCertificate>;
  events: AuditEvent[];
}

async function loadDashboard(): Promise<Dashboard> {
  const total = (path: string) => api<Collection<unknown>>('GET', path).then((c) => c.total);
  const [certificateCounts, autoCounts, active, failed, events] = await Promise.all([
    Promise.all(CERTIFICATE_STATES.map(async (s) => [s, await total(`certificates${query({ 'filter.state': s, limit: 1 })}`)] as [string, number])),
    Promise.all(AUTO_CERTIFICATE_STATES.map(async (s) => [s, await total(`auto-certificates${query({ 'filter.state': s, limit: 1 })}`)] as [string, number])),
    api<Collection<Certificate>>('GET', `certificates${query({ 'filter.state': 'AVAILABLE', limit: EXPIRY_SCAN })}`),
    api<Collection<AutoCertificate>>('GET', `auto-certificates${query({ 'filter.state': 'FAILED', limit: 20 })}`),
    api<Collection<AuditEvent>>('GET', `events${query({ limit: 12 })}`),
  ]);
  const sorted = [...active.items].sort((a, b) => Date.parse(a.metadata.notAfter) - Date.parse(b.metadata.notAfter));
  return { certificateCounts, autoCounts, active: sorted, activeTotal: active.total, failed, events: events.items };
}

function Counts({ title, counts, base }: { title: string; counts: [string, number][]; base: string }) {
  const sum = counts.reduce((n, [, c]) => n + c, 0);
  return (
    <section class="panel" aria-labelledby={`counts-${base}`}>
      <h2 id={`counts-${base}`}>{title} <span class="muted">({sum})</span></h2>
      <ul class="counts">
        {counts.map(([state, n]) => (
          <li key={state}>
            <Link href={`/${base}?state=${state}`} class={`count count-${n ? state.toLowerCase() : 'zero'}`} aria-label={`${n} ${stateLabel(state)}`}>
              <span class="count-n">{n}</span>
              <StateBadge state={state} />
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The dashboard page. */
export function DashboardPage() {
  const { data, error } = useLoader('dashboard', loadDashboard, 30_000);
  return (
    <>
      <PageTitle title="Dashboard" />
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <div class="dashboard">
          <Counts title="Certificates" counts={data.certificateCounts} base="certificates" />
          <Counts title="Auto certificates" counts={data.autoCounts} base="auto-certificates" />

          <section class="panel panel-wide" aria-labelledby="expiry-heading">
            <h2 id="expiry-heading">Expiry timeline</h2>
            <ExpiryChart points={data.active.map((c) => ({ id: c.id, name: c.properties.name, notAfter: c.metadata.notAfter }))} />
            {data.activeTotal > EXPIRY_SCAN ? <p class="help">Based on the {EXPIRY_SCAN} newest of {data.activeTotal} available certificates.</p> : null}
          </section>

          <section class="panel" aria-labelledby="soonest-heading">
            <h2 id="soonest-heading">Expires soonest</h2>
            {data.active.length === 0 ? <p class="muted">No available certificates.</p> : (
              <table class="table">
                <thead><tr><th scope="col">Certificate</th><th scope="col">Expires</th></tr></thead>
                <tbody>
                  {data.active.slice(0, 8).map((c) => (
                    <tr key={c.id}>
                      <td><Link href={`/certificates/${encodeURIComponent(c.id)}`}>{c.metadata.commonName}</Link> <span class="muted small">{c.metadata.source === 'imported' ? 'imported' : ''}</span></td>
                      <td><When iso={c.metadata.notAfter} expiry /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <section class="panel" aria-labelledby="failed-heading">
            <h2 id="failed-heading">Failed <span class="muted">({data.failed.total})</span></h2>
            {data.failed.total === 0 ? <p class="muted">Nothing has failed.</p> : (
              <ul class="failures">
                {data.failed.items.map((a) => (
                  <li key={a.id}>
                    <Link href={`/auto-certificates/${encodeURIComponent(a.id)}`}>{a.properties.name}</Link>
                    <span class="muted small"> · {a.metadata.failureCount} failure{a.metadata.failureCount === 1 ? '' : 's'}{a.metadata.nextAttemptAt ? <> · next try <When iso={a.metadata.nextAttemptAt} /></> : null}</span>
                    <p class="failure-message">{a.metadata.message}</p>
                  </li>
                ))}
              </ul>
            )}
          </section>

          <section class="panel panel-wide" aria-labelledby="events-heading">
            <h2 id="events-heading">Recent events</h2>
            {data.events.length === 0 ? <p class="muted">No events yet.</p> : (
              <div class="table-wrap">
                <table class="table table-stack">
                  <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">What</th></tr></thead>
                  <tbody>
                    {data.events.map((e) => (
                      <tr key={e.id}>
                        <td class="nowrap"><When iso={e.metadata.createdDate} /></td>
                        <td><code>{e.properties.type}</code></td>
                        <td class="nowrap">{e.properties.actor}</td>
                        <td>{e.properties.message}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </div>
      )}
    </>
  );
}
