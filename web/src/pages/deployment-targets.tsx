/**
 * Deployment targets (admins): where certificates go — files on an agent's host, or the agentless
 * ssh, script, webhook and kubernetes-secret types run by the server. The list, and one target's
 * page: its settings (never its credentials, only which are stored), the actions enable or
 * disable, change and delete, and the deployments to it, followed live.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { AdminOnly } from '../components/admin-only';
import { ErrorMessage, Notice } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { DeploymentsSection } from '../components/deployments';
import { PageTitle } from '../components/page-title';
import { DeploymentTabs } from '../components/section-tabs';
import { StateBadge } from '../components/state-badge';
import { PATH_SETTINGS, targetTypeTitle } from '../deployment-target-types';
import type { Collection, DeploymentTarget } from '../resources';
import { Link, navigate } from '../router';
import { absolute } from '../time-format';
import { useApi } from '../use-api';
import { useAgents } from '../use-deployment-targets';

/** A setting as text: objects as `name=value` pairs. */
export function settingValue(v: unknown): string {
  if (Array.isArray(v)) return v.join(', ');
  if (v !== null && typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${String(x)}`).join(', ');
  return String(v);
}

/** Where a target puts certificates, in a few words. */
function where(t: DeploymentTarget, agentName: (id: string) => string): string {
  const s = t.properties.settings;
  const files = PATH_SETTINGS.map((k) => s[k]).filter((x): x is string => typeof x === 'string');
  switch (t.properties.type) {
    case 'agent': return `${t.properties.agent ? agentName(t.properties.agent) : '?'}: ${files.join(', ')}`;
    case 'ssh': return `${String(s.username ?? '')}@${String(s.host ?? '')}: ${files.join(', ')}`;
    case 'script': return String(s.command ?? '');
    case 'webhook': return String(s.url ?? '');
    case 'kubernetes-secret': return `${String(s.namespace ?? '')}/${String(s.secretName ?? '')}`;
    default: return '';
  }
}

/** The list. */
export function TargetsPage() {
  const { data, error } = useApi<Collection<DeploymentTarget>>('deployment-targets?limit=1000', 30_000);
  const agents = useAgents();
  const items = [...(data?.items ?? [])].sort((a, b) => a.properties.name.localeCompare(b.properties.name));
  return (
    <AdminOnly title="Deployment targets">
      <PageTitle title="Deployment targets"><Link href="/deployment-targets/new" class="button button-primary">New deployment target</Link></PageTitle>
      <DeploymentTabs />
      <p class="help">Where certificates go once issued or renewed: files on an agent's host, or — run by certkeeper itself — a server over SSH, a local script, a webhook or a Kubernetes Secret. An auto certificate lists its targets; <Link href="/deployments">Deployments</Link> follows each version to each of them.</p>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <p role="status" class="muted">Loading…</p> : (
        <div class="table-wrap">
          <table class="table">
            <caption class="visually-hidden">Deployment targets</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Where</th><th scope="col">State</th><th scope="col">Credentials</th></tr></thead>
            <tbody>
              {items.length === 0 ? <tr><td colSpan={5} class="muted">No deployment target yet.</td></tr> : items.map((t) => (
                <tr key={t.id}>
                  <td><Link href={`/deployment-targets/${encodeURIComponent(t.id)}`}>{t.properties.name}</Link></td>
                  <td class="nowrap">{t.properties.type}</td>
                  <td class="truncate mono small" title={where(t, agents.name)}>{where(t, agents.name)}</td>
                  <td><StateBadge state={t.metadata.state} /></td>
                  <td class="small">{t.metadata.credentialsSet.length ? t.metadata.credentialsSet.join(', ') : <span class="muted">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </AdminOnly>
  );
}

type Action = 'enable' | 'disable' | 'delete';

/** One target. */
export function TargetPage({ id }: { id: string }) {
  const path = `deployment-targets/${encodeURIComponent(id)}`;
  const { data: t, error, reload } = useApi<DeploymentTarget>(path);
  const agents = useAgents();
  const [busy, setBusy] = useState<Action | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  if (!t) {
    return (
      <AdminOnly title="Deployment target">
        <PageTitle title="Deployment target" />
        {error ? <ErrorMessage>{error}</ErrorMessage> : <p role="status" class="muted">Loading…</p>}
      </AdminOnly>
    );
  }
  const m = t.metadata;
  const p = t.properties;

  const run = async (action: Action) => {
    setBusy(action);
    setActionError(null);
    setDone(null);
    try {
      if (action === 'delete') {
        await api('DELETE', path);
        setConfirm(false);
        navigate('/deployment-targets');
        return;
      }
      await api('PATCH', path, { properties: { enabled: action === 'enable' } });
      setDone(action === 'enable' ? 'Enabled: new versions are deployed here.' : 'Disabled: no new deployments go here.');
      await reload();
    } catch (err) {
      setActionError(errorText(err));
    } finally {
      setBusy(null);
    }
  };

  const agent = p.agent ? agents.byId.get(p.agent) : undefined;
  return (
    <AdminOnly title={p.name}>
      <PageTitle title={p.name} />
      <p class="breadcrumbs"><Link href="/deployment-targets">Deployment targets</Link></p>
      <div class="status-line" aria-live="polite" aria-atomic="true">
        <span class="visually-hidden">State: </span><StateBadge state={m.state} />
        {m.message ? <span class="message">{m.message}</span> : null}
      </div>
      <Notice tone="success">{done}</Notice>
      <div class="grid">
        <section class="panel" aria-labelledby="dt-settings-heading">
          <h2 id="dt-settings-heading">Settings</h2>
          <dl class="facts">
            <dt>Type</dt><dd>{targetTypeTitle(p.type)} <span class="muted">({p.type})</span></dd>
            {p.type === 'agent' ? <><dt>Agent</dt><dd>{p.agent ? <><Link href={`/agents/${encodeURIComponent(p.agent)}`}>{agents.name(p.agent)}</Link> {agent ? <StateBadge state={agent.metadata.state} /> : null}</> : <span class="muted">none</span>}</dd></> : null}
            {Object.entries(p.settings).map(([k, x]) => <Fragment key={k}><dt><code>{k}</code></dt><dd class="break mono small">{settingValue(x)}</dd></Fragment>)}
            <dt>Credentials</dt><dd>{m.credentialsSet.length ? <>{m.credentialsSet.join(', ')} <span class="muted">(stored encrypted; never shown)</span></> : <span class="muted">none</span>}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="dt-actions-heading">
          <h2 id="dt-actions-heading">Actions</h2>
          <dl class="facts">
            <dt>Enabled</dt><dd>{p.enabled ? 'yes' : 'no — new versions are not deployed here'}</dd>
            <dt>Created</dt><dd>{absolute(m.createdDate)} by {m.createdBy}</dd>
            <dt>Changed</dt><dd>{absolute(m.lastModifiedDate)} by {m.lastModifiedBy}</dd>
          </dl>
          <ErrorMessage>{confirm ? null : actionError}</ErrorMessage>
          <div class="actions">
            {p.enabled
              ? <button type="button" class="button" disabled={busy !== null} onClick={() => void run('disable')}>Disable</button>
              : <button type="button" class="button" disabled={busy !== null} onClick={() => void run('enable')}>Enable</button>}
            <Link href={`/deployment-targets/${encodeURIComponent(id)}/edit`} class="button">Change</Link>
            <button type="button" class="button button-danger-outline" disabled={busy !== null} onClick={() => { setActionError(null); setConfirm(true); }}>Delete…</button>
          </div>
        </section>
        <DeploymentsSection filter={{ target: id }} showVersion />
      </div>
      <ConfirmDialog open={confirm} title="Delete this deployment target?" confirmLabel="Delete" danger busy={busy === 'delete'} onConfirm={() => void run('delete')} onCancel={() => setConfirm(false)}>
        <p>certkeeper forgets <strong>{p.name}</strong> and its credentials; what it deployed stays in place. A target still listed by an auto certificate cannot be deleted.</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
    </AdminOnly>
  );
}
