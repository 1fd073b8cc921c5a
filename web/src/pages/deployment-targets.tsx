/**
 * Deployment targets (admins): where certificates go — files on an agent's host, or the agentless
 * ssh, script, webhook and kubernetes-secret types run by the server. The list, and one target's
 * page: its settings (never its credentials, only which are stored), the actions enable or
 * disable, change and delete, and the deployments to it, followed live.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { AdminOnly } from '../components/admin-only';
import { ErrorMessage, Notice } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ChangeLink, ConfirmButton, EnableToggle, StatusLine } from '../components/detail';
import { DeploymentsSection } from '../components/deployments';
import { DetailPlaceholder, Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { ResourceTable } from '../components/resource-table';
import { DeploymentTabs } from '../components/section-tabs';
import { StateBadge } from '../components/state-badge';
import { PATH_SETTINGS, targetTypeTitle } from '../deployment-target-types';
import type { Collection, DeploymentTarget } from '../resources';
import { Link, navigate } from '../router';
import { absolute } from '../time-format';
import { useActions } from '../use-actions';
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
      {!data ? <Loading /> : (
        <ResourceTable caption="Deployment targets"
          columns={['Name', 'Type', 'Where', 'State', 'Credentials']}
          items={items} empty="No deployment target yet."
          row={(t) => (
            <tr key={t.id}>
              <td><Link href={`/deployment-targets/${encodeURIComponent(t.id)}`}>{t.properties.name}</Link></td>
              <td class="nowrap">{t.properties.type}</td>
              <td class="truncate mono small" title={where(t, agents.name)}>{where(t, agents.name)}</td>
              <td><StateBadge state={t.metadata.state} /></td>
              <td class="small">{t.metadata.credentialsSet.length ? t.metadata.credentialsSet.join(', ') : <span class="muted">none</span>}</td>
            </tr>
          )} />
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
  const [confirm, setConfirm] = useState(false);
  const { busy, actionError, setActionError, done, setDone, perform } = useActions<Action>();
  if (!t) {
    return <DetailPlaceholder title="Deployment target" error={error} admin />;
  }
  const m = t.metadata;
  const p = t.properties;

  const run = (action: Action) => perform(action, async () => {
    if (action === 'delete') {
      await api('DELETE', path);
      setConfirm(false);
      navigate('/deployment-targets');
      return;
    }
    await api('PATCH', path, { properties: { enabled: action === 'enable' } });
    setDone(action === 'enable' ? 'Enabled: new versions are deployed here.' : 'Disabled: no new deployments go here.');
    await reload();
  });

  const agent = p.agent ? agents.byId.get(p.agent) : undefined;
  return (
    <AdminOnly title={p.name}>
      <PageTitle title={p.name} />
      <p class="breadcrumbs"><Link href="/deployment-targets">Deployment targets</Link></p>
      <StatusLine state={m.state} message={m.message} />
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
            <EnableToggle enabled={p.enabled} busy={busy !== null} onRun={(a) => void run(a)} />
            <ChangeLink base="/deployment-targets" id={id} />
            <ConfirmButton label="Delete…" disabled={busy !== null} onOpen={() => { setActionError(null); setConfirm(true); }} />
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
