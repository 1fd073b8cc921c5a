/**
 * The certificate repository: filtered by the API's `filter.*` parameters (exact common name,
 * state, source, auto certificate), paged by offset/limit, sorted on screen. The filters live in
 * the URL, so a filtered view can be bookmarked and the back button undoes a filter.
 */
import { useState } from 'preact/hooks';
import { query } from '../api';
import { ErrorMessage } from '../components/alert';
import { Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { Pager } from '../components/pager';
import { SortHeader, useSort } from '../components/sortable';
import { StateBadge, stateLabel } from '../components/state-badge';
import { When } from '../components/when';
import { CERTIFICATE_STATES, mayOperate, type Certificate, type Collection } from '../resources';
import { Link, navigate, useLocation } from '../router';
import { useMe } from '../session';
import { absolute } from '../time-format';
import { useApi } from '../use-api';

/** The list's URL from its parameters (empty ones dropped). */
function listUrl(p: Record<string, string | number | undefined>): string {
  return `/certificates${query({ ...p, offset: p.offset || undefined, limit: p.limit === 50 ? undefined : p.limit })}`;
}

/** The certificates page. */
export function CertificatesPage() {
  const { query: q } = useLocation();
  const me = useMe();
  const params = {
    commonName: q.get('commonName') ?? '',
    state: q.get('state') ?? '',
    source: q.get('source') ?? '',
    autoCertificate: q.get('autoCertificate') ?? '',
    offset: Math.max(0, Number(q.get('offset')) || 0),
    limit: Math.min(1000, Math.max(1, Number(q.get('limit')) || 50)),
  };
  const [search, setSearch] = useState(params.commonName);
  const apiPath = `certificates${query({
    'filter.commonName': params.commonName, 'filter.state': params.state, 'filter.source': params.source,
    'filter.autoCertificate': params.autoCertificate, offset: params.offset, limit: params.limit,
  })}`;
  const { data, error, loading } = useApi<Collection<Certificate>>(apiPath);
  const { sorted, sort, toggle } = useSort(data?.items ?? [], {
    name: (c) => c.properties.name,
    commonName: (c) => c.metadata.commonName,
    state: (c) => c.metadata.state,
    issuer: (c) => c.metadata.issuer,
    notAfter: (c) => Date.parse(c.metadata.notAfter),
  }, { key: 'notAfter', dir: 'asc' });

  const go = (change: Partial<typeof params>) => navigate(listUrl({ ...params, offset: 0, ...change }));

  return (
    <>
      <PageTitle title="Certificates">{mayOperate(me.role) ? <Link href="/certificates/import" class="button button-primary">Import</Link> : null}</PageTitle>
      <form class="filters" role="search" aria-label="Filter certificates" onSubmit={(e) => { e.preventDefault(); go({ commonName: search.trim() }); }}>
        <label>
          <span>Common name</span>
          <input type="search" value={search} placeholder="www.example.com" aria-describedby="cn-help"
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          <span>State</span>
          <select value={params.state} onChange={(e) => go({ state: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {CERTIFICATE_STATES.map((s) => <option key={s} value={s}>{stateLabel(s)}</option>)}
          </select>
        </label>
        <label>
          <span>Source</span>
          <select value={params.source} onChange={(e) => go({ source: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            <option value="acme">ACME</option>
            <option value="imported">imported</option>
          </select>
        </label>
        <button type="submit" class="button">Search</button>
        {params.commonName || params.state || params.source || params.autoCertificate
          ? <button type="button" class="button button-link" onClick={() => { setSearch(''); navigate('/certificates'); }}>Clear filters</button>
          : null}
        <p id="cn-help" class="help">Exact common name, as the API filters (<code>filter.commonName</code>).{params.autoCertificate ? ' Showing the versions of one auto certificate.' : ''}</p>
      </form>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <>
          <div class="table-wrap" aria-busy={loading}>
            <table class="table">
              <caption class="visually-hidden">Certificates, sorted by {sort.key} {sort.dir === 'asc' ? 'ascending' : 'descending'}</caption>
              <thead>
                <tr>
                  <SortHeader label="Name" column="name" sort={sort} toggle={toggle} />
                  <SortHeader label="Names" column="commonName" sort={sort} toggle={toggle} />
                  <SortHeader label="State" column="state" sort={sort} toggle={toggle} />
                  <SortHeader label="Issuer" column="issuer" sort={sort} toggle={toggle} />
                  <SortHeader label="Expires" column="notAfter" sort={sort} toggle={toggle} />
                </tr>
              </thead>
              <tbody>
                {sorted.length === 0 ? <tr><td colSpan={5} class="muted">No certificates match.</td></tr> : sorted.map((c) => {
                  const more = c.metadata.subjectAlternativeNames.filter((n) => n !== c.metadata.commonName).length;
                  return (
                    <tr key={c.id}>
                      <td><Link href={`/certificates/${encodeURIComponent(c.id)}`}>{c.properties.name}</Link>{c.metadata.source === 'imported' ? <span class="tag">imported</span> : null}</td>
                      <td>{c.metadata.commonName}{more ? <span class="muted small"> +{more} more</span> : null}</td>
                      <td><StateBadge state={c.metadata.state} /></td>
                      <td class="truncate" title={c.metadata.issuer}>{c.metadata.issuer}</td>
                      <td class="nowrap"><When iso={c.metadata.notAfter} expiry /><br /><span class="muted small">{absolute(c.metadata.notAfter)}</span></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager offset={data.offset} limit={data.limit} total={data.total} onChange={(offset, limit) => navigate(listUrl({ ...params, offset, limit }))} />
        </>
      )}
    </>
  );
}
