/**
 * Auto certificates: what certkeeper keeps alive. Filtered by state or exact common name through
 * the API, paged, sorted on screen; operators and admins get the "New" button.
 */
import { useState } from 'preact/hooks';
import { query } from '../api';
import { ErrorMessage } from '../components/alert';
import { Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { Pager } from '../components/pager';
import { ResourceTable } from '../components/resource-table';
import { SortHeader, useSort } from '../components/sortable';
import { StateBadge, stateLabel } from '../components/state-badge';
import { When } from '../components/when';
import { AUTO_CERTIFICATE_STATES, mayOperate, type AutoCertificate, type Collection } from '../resources';
import { Link, navigate, useLocation } from '../router';
import { useMe } from '../session';
import { useApi } from '../use-api';
import { useProviders } from '../use-providers';

function listUrl(p: Record<string, string | number | undefined>): string {
  return `/auto-certificates${query({ ...p, offset: p.offset || undefined, limit: p.limit === 50 ? undefined : p.limit })}`;
}

/** Poll while something is on its way, so states change on screen. */
const busy = (c: Collection<AutoCertificate> | undefined) => (c?.items.some((a) => a.metadata.state === 'PROVISIONING') ? 3000 : 30_000);

/** The auto certificates page. */
export function AutoCertificatesPage() {
  const me = useMe();
  const { query: q } = useLocation();
  const params = {
    commonName: q.get('commonName') ?? '',
    state: q.get('state') ?? '',
    offset: Math.max(0, Number(q.get('offset')) || 0),
    limit: Math.min(1000, Math.max(1, Number(q.get('limit')) || 50)),
  };
  const [search, setSearch] = useState(params.commonName);
  const providers = useProviders();
  const { data, error, loading } = useApi<Collection<AutoCertificate>>(`auto-certificates${query({
    'filter.commonName': params.commonName, 'filter.state': params.state, offset: params.offset, limit: params.limit,
  })}`, busy);
  const { sorted, sort, toggle } = useSort(data?.items ?? [], {
    name: (a) => a.properties.name,
    commonName: (a) => a.properties.commonName,
    state: (a) => a.metadata.state,
    provider: (a) => providers.name(a.properties.provider),
    nextRenewalAt: (a) => (a.metadata.nextRenewalAt ? Date.parse(a.metadata.nextRenewalAt) : null),
    failureCount: (a) => a.metadata.failureCount,
  }, { key: 'name', dir: 'asc' });
  const go = (change: Partial<typeof params>) => navigate(listUrl({ ...params, offset: 0, ...change }));

  return (
    <>
      <PageTitle title="Auto certificates">
        {mayOperate(me.role) ? <Link href="/auto-certificates/new" class="button button-primary">New auto certificate</Link> : null}
      </PageTitle>
      <form class="filters" role="search" aria-label="Filter auto certificates" onSubmit={(e) => { e.preventDefault(); go({ commonName: search.trim() }); }}>
        <label>
          <span>Common name</span>
          <input type="search" value={search} placeholder="www.example.com" onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          <span>State</span>
          <select value={params.state} onChange={(e) => go({ state: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {AUTO_CERTIFICATE_STATES.map((s) => <option key={s} value={s}>{stateLabel(s)}</option>)}
          </select>
        </label>
        <button type="submit" class="button">Search</button>
        {params.commonName || params.state ? <button type="button" class="button button-link" onClick={() => { setSearch(''); navigate('/auto-certificates'); }}>Clear filters</button> : null}
      </form>
      <ErrorMessage>{error ?? providers.error}</ErrorMessage>
      {!data ? <Loading /> : (
        <>
          <ResourceTable caption="Auto certificates" busy={loading}
            columns={[
              <SortHeader key="name" label="Name" column="name" sort={sort} toggle={toggle} />,
              <SortHeader key="commonName" label="Names" column="commonName" sort={sort} toggle={toggle} />,
              <SortHeader key="state" label="State" column="state" sort={sort} toggle={toggle} />,
              <SortHeader key="provider" label="Provider" column="provider" sort={sort} toggle={toggle} />,
              <SortHeader key="nextRenewalAt" label="Next renewal" column="nextRenewalAt" sort={sort} toggle={toggle} />,
              <SortHeader key="failureCount" label="Failures" column="failureCount" sort={sort} toggle={toggle} />,
            ]}
            items={sorted} empty="No auto certificates match."
            row={(a) => (
              <tr key={a.id}>
                <td><Link href={`/auto-certificates/${encodeURIComponent(a.id)}`}>{a.properties.name}</Link></td>
                <td>{a.properties.commonName}{a.properties.subjectAlternativeNames.length ? <span class="muted small"> +{a.properties.subjectAlternativeNames.length} more</span> : null}</td>
                <td><StateBadge state={a.metadata.state} /></td>
                <td>{providers.name(a.properties.provider)}</td>
                <td class="nowrap"><When iso={a.metadata.nextRenewalAt} /></td>
                <td class={a.metadata.failureCount ? 'bad' : 'muted'}>{a.metadata.failureCount}</td>
              </tr>
            )} />
          <Pager offset={data.offset} limit={data.limit} total={data.total} onChange={(offset, limit) => navigate(listUrl({ ...params, offset, limit }))} />
        </>
      )}
    </>
  );
}
