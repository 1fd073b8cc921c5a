/**
 * Deployments of certificate versions to targets (docs/deployment.md): a table with each one's
 * state, target, attempts, next attempt, message and the command's output (folded), and Retry on
 * the failed ones (operators and admins). The list follows the deployments live: every 1.5 s
 * while one is pending or running, so PENDING turns DEPLOYED or FAILED without a reload.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorText, query } from '../api';
import { mayOperate, type Certificate, type Collection, type Deployment } from '../resources';
import { Link } from '../router';
import { useMe } from '../session';
import { useLoader } from '../use-api';
import { useDeploymentTargets } from '../use-deployment-targets';
import { ErrorMessage } from './alert';
import { StateBadge } from './state-badge';
import { When } from './when';
import { Loading } from './loading';

/** Is any deployment still on its way? */
export const deploymentsBusy = (items: Deployment[] | undefined) => (items ?? []).some((d) => d.metadata.state === 'PENDING' || d.metadata.running);

/** Poll fast while something is on its way, slowly otherwise. */
const poll = (c: Collection<Deployment> | undefined) => (deploymentsBusy(c?.items) ? 1500 : 15_000);

/** "2 deployments: 1 deployed, 1 failed." for screen readers. */
function summary(items: Deployment[], total: number): string {
  if (total === 0) return 'No deployments.';
  const by = new Map<string, number>();
  for (const d of items) by.set(d.metadata.state, (by.get(d.metadata.state) ?? 0) + 1);
  return `${total} deployment${total === 1 ? '' : 's'}: ${[...by].map(([s, n]) => `${n} ${s.toLowerCase()}`).join(', ')}.`;
}

/** Props of {@link DeploymentTable}. */
export interface DeploymentTableProps {
  items: Deployment[];
  /** The version's name by certificate id; without it the version column is left out. */
  versionName?: ((id: string) => string) | undefined;
  /** Called after a retry was accepted. */
  onChanged(): void;
}

/** The table. */
export function DeploymentTable({ items, versionName, onChanged }: DeploymentTableProps) {
  const me = useMe();
  const targets = useDeploymentTargets();
  const [retrying, setRetrying] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const operate = mayOperate(me.role);

  const retry = async (d: Deployment) => {
    setRetrying(d.id);
    setError(null);
    try {
      await api('POST', `deployments/${encodeURIComponent(d.id)}/retry`);
      onChanged();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setRetrying(null);
    }
  };

  const targetCell = (id: string) => {
    const name = targets.name(id);
    return me.role === 'admin' && targets.byId.has(id) ? <Link href={`/deployment-targets/${encodeURIComponent(id)}`}>{name}</Link> : <span>{name}</span>;
  };
  const cols = 7 + (versionName ? 1 : 0);
  return (
    <>
      <ErrorMessage>{error}</ErrorMessage>
      <div class="table-wrap">
        <table class="table table-stack deployments" data-testid="deployments">
          <caption class="visually-hidden">Deployments</caption>
          <thead>
            <tr>
              <th scope="col">State</th><th scope="col">Target</th>{versionName ? <th scope="col">Version</th> : null}
              <th scope="col">Attempts</th><th scope="col">Next attempt</th><th scope="col">Updated</th><th scope="col">Message and output</th>
              <th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {items.length === 0 ? <tr><td colSpan={cols} class="muted">No deployments.</td></tr> : items.map((d) => {
              const m = d.metadata;
              const target = targets.name(d.properties.target);
              return (
                <tr key={d.id} data-deployment={d.id} data-target={target}>
                  <td class="nowrap"><StateBadge state={m.state} />{m.running ? <span class="tag">running</span> : null}</td>
                  <td>{targetCell(d.properties.target)}</td>
                  {versionName ? <td><Link href={`/certificates/${encodeURIComponent(d.properties.certificate)}`}>{versionName(d.properties.certificate)}</Link></td> : null}
                  <td><span class="stack-label">attempts </span>{m.attempts}</td>
                  <td class="nowrap"><span class="stack-label">next attempt </span>{m.nextAttemptAt ? <When iso={m.nextAttemptAt} /> : <span class="muted">—</span>}</td>
                  <td class="nowrap"><span class="stack-label">updated </span>{m.state === 'DEPLOYED' && m.deployedAt ? <When iso={m.deployedAt} /> : <When iso={m.lastModifiedDate} />}</td>
                  <td class="deployment-message">
                    <span class={m.state === 'FAILED' ? 'bad break' : 'break'}>{m.message}</span>
                    {m.servedSerial ? <span class="muted small"> · serving <span class="mono">{m.servedSerial}</span></span> : null}
                    {m.output ? (
                      <details class="output">
                        <summary>Output</summary>
                        <pre>{m.output}</pre>
                      </details>
                    ) : null}
                  </td>
                  <td>
                    {operate && m.state === 'FAILED' && !m.running ? (
                      <button type="button" class="button button-small" disabled={retrying !== null} aria-label={`Retry the deployment to ${target}`} onClick={() => void retry(d)}>
                        {retrying === d.id ? 'Retrying…' : 'Retry'}
                      </button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Props of {@link DeploymentsSection}. */
export interface DeploymentsSectionProps {
  /** `filter.*` of GET /deployments: `{ autoCertificate: id }`, `{ certificate: id }`, `{ target: id }`. */
  filter: Record<string, string>;
  /** Changing it reloads now (a new version, a deploy just requested). */
  reloadKey?: string | number;
  versionName?: (id: string) => string;
  /** Show each deployment's version, its name looked up (when `versionName` is not given). */
  showVersion?: boolean;
  /** Buttons above the table (Deploy now, Deploy to…). */
  actions?: ComponentChildren;
  help?: ComponentChildren;
  id?: string;
}

/** A panel with the deployments matching `filter`, newest first, followed live. */
export function DeploymentsSection({ filter, reloadKey = 0, versionName, showVersion = false, actions, help, id = 'deployments' }: DeploymentsSectionProps) {
  const params = Object.fromEntries(Object.entries(filter).map(([k, v]) => [`filter.${k}`, v]));
  const path = `deployments${query({ ...params, limit: 100 })}`;
  const { data, error, reload } = useLoader<Collection<Deployment>>(`${path}|${reloadKey}`, () => api('GET', path), poll);
  const lookedUp = useCertificateNames(showVersion && !versionName ? (data?.items ?? []).map((d) => d.properties.certificate) : []);
  const names = versionName ?? (showVersion ? lookedUp : undefined);
  return (
    <section class="panel panel-wide" aria-labelledby={`${id}-heading`} id={id}>
      <h2 id={`${id}-heading`}>Deployments <span class="muted">({data?.total ?? '…'})</span></h2>
      {help}
      {actions}
      <p class="visually-hidden" aria-live="polite" aria-atomic="true">{data ? summary(data.items, data.total) : ''}</p>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <>
          <DeploymentTable items={data.items} versionName={names} onChanged={() => void reload()} />
          {data.total > data.items.length ? <p class="help">The {data.items.length} newest of {data.total}; <Link href={`/deployments${query(filter)}`}>all in the deployment list</Link>.</p> : null}
        </>
      )}
    </section>
  );
}

/** Names of certificate versions by id, fetched one by one (a page of deployments names few). */
export function useCertificateNames(ids: string[]) {
  const unique = [...new Set(ids)].sort();
  const { data } = useLoader<Map<string, string>>(unique.length ? `cert-names:${unique.join(',')}` : null, async () => {
    const found = await Promise.all(unique.map(async (id) => {
      try {
        return [id, (await api<Certificate>('GET', `certificates/${encodeURIComponent(id)}`)).properties.name] as const;
      } catch {
        return [id, `${id.slice(0, 8)}… (deleted)`] as const;
      }
    }));
    return new Map(found);
  });
  return (id: string) => data?.get(id) ?? `${id.slice(0, 8)}…`;
}
