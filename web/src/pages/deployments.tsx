/**
 * Every deployment of the tenant, newest first: filtered by state and target (and, from links on
 * other pages, by certificate or auto certificate) through the API's `filter.*`, kept in the URL,
 * paged, followed live while any is pending.
 */
import { query } from '../api';
import { ErrorMessage } from '../components/alert';
import { DeploymentTable, deploymentsBusy, useCertificateNames } from '../components/deployments';
import { Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { DeploymentTabs } from '../components/section-tabs';
import { Pager } from '../components/pager';
import { stateLabel } from '../components/state-badge';
import { DEPLOYMENT_STATES, type Collection, type Deployment } from '../resources';
import { Link, navigate, useLocation } from '../router';
import { useApi } from '../use-api';
import { useDeploymentTargets } from '../use-deployment-targets';

const FILTERS = ['state', 'target', 'certificate', 'autoCertificate'] as const;

function listUrl(p: Record<string, string | number | undefined>): string {
  return `/deployments${query({ ...p, offset: p.offset || undefined, limit: p.limit === 50 ? undefined : p.limit })}`;
}

/** /deployments */
export function DeploymentsPage() {
  const { query: q } = useLocation();
  const params: Record<string, string | number> = {
    ...Object.fromEntries(FILTERS.map((f) => [f, q.get(f) ?? ''])),
    offset: Math.max(0, Number(q.get('offset')) || 0),
    limit: Math.min(1000, Math.max(1, Number(q.get('limit')) || 50)),
  };
  const targets = useDeploymentTargets();
  const { data, error, loading, reload } = useApi<Collection<Deployment>>(`deployments${query({
    ...Object.fromEntries(FILTERS.map((f) => [`filter.${f}`, params[f] as string])), offset: params.offset, limit: params.limit,
  })}`, (c) => (deploymentsBusy(c?.items) ? 1500 : 15_000));
  const versionName = useCertificateNames((data?.items ?? []).map((d) => d.properties.certificate));
  const go = (change: Record<string, string>) => navigate(listUrl({ ...params, offset: 0, ...change }));
  const filtered = FILTERS.some((f) => params[f]);

  return (
    <>
      <PageTitle title="Deployments" />
      <DeploymentTabs />
      <p class="help">Each certificate version goes to each target of its auto certificate (docs/deployment.md); a failed deployment is retried with backoff, or at once with <em>Retry</em>.</p>
      <form class="filters" role="search" aria-label="Filter deployments" onSubmit={(e) => e.preventDefault()}>
        <label>
          <span>State</span>
          <select value={String(params.state)} onChange={(e) => go({ state: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {DEPLOYMENT_STATES.map((s) => <option key={s} value={s}>{stateLabel(s)}</option>)}
          </select>
        </label>
        <label>
          <span>Target</span>
          <select value={String(params.target)} onChange={(e) => go({ target: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {targets.list.map((t) => <option key={t.id} value={t.id}>{t.properties.name}</option>)}
          </select>
        </label>
        {params.certificate ? <p class="help">Of one certificate version: <Link href={`/certificates/${encodeURIComponent(String(params.certificate))}`}>{versionName(String(params.certificate))}</Link></p> : null}
        {params.autoCertificate ? <p class="help">Of the versions of one <Link href={`/auto-certificates/${encodeURIComponent(String(params.autoCertificate))}`}>auto certificate</Link></p> : null}
        {filtered ? <button type="button" class="button button-link" onClick={() => navigate('/deployments')}>Clear filters</button> : null}
      </form>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <>
          <div aria-busy={loading}>
            <DeploymentTable items={data.items} versionName={versionName} onChanged={() => void reload()} />
          </div>
          <Pager offset={data.offset} limit={data.limit} total={data.total} onChange={(offset, limit) => navigate(listUrl({ ...params, offset, limit }))} />
        </>
      )}
    </>
  );
}
