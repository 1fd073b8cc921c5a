/**
 * Deployment agents (docs/agent.md): the list with each agent's state (PENDING until it enrols,
 * ONLINE while it polls, OFFLINE, REVOKED), host, version and when it was last seen; and one
 * agent's page: its facts, the one-time enrolment token with the command line to run on the host
 * (right after it was made, once), and the deployment targets that use it. Every role may read;
 * admins create, change, issue a new enrolment token, revoke and delete.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { ErrorMessage, Notice } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ChangeLink, ConfirmButton, StatusLine } from '../components/detail';
import { CopyButton, CopyValue } from '../components/copy-button';
import { DetailPlaceholder, Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { ResourceTable } from '../components/resource-table';
import { DeploymentTabs } from '../components/section-tabs';
import { StateBadge } from '../components/state-badge';
import { When } from '../components/when';
import { PATH_SETTINGS, targetTypeTitle } from '../deployment-target-types';
import type { Agent, Collection, DeploymentTarget } from '../resources';
import { Link, navigate } from '../router';
import { useMe } from '../session';
import { absolute } from '../time-format';
import { useActions } from '../use-actions';
import { useApi } from '../use-api';

/**
 * Enrolment tokens just made, by agent id: the agent's page takes its entry (and deletes it), so
 * a token is shown once and lives only in this tab's memory.
 */
export const enrolmentTokens = new Map<string, string>();

/** The list page. */
export function AgentsPage() {
  const me = useMe();
  const { data, error } = useApi<Collection<Agent>>('agents?limit=1000', (c) => (c?.items.some((a) => a.metadata.state === 'PENDING') ? 5000 : 15_000));
  const items = [...(data?.items ?? [])].sort((a, b) => a.properties.name.localeCompare(b.properties.name));
  return (
    <>
      <PageTitle title="Agents">{me.role === 'admin' ? <Link href="/agents/new" class="button button-primary">New agent</Link> : null}</PageTitle>
      <DeploymentTabs />
      <p class="help"><code>certkeeper agent</code> runs on an end server, connects out to certkeeper, writes the certificates of its deployment targets, reloads the service and checks what is served; it can also answer http-01 and keep keys that never leave the host.</p>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <ResourceTable caption="Agents"
          columns={['Name', 'State', 'Host', 'Version', 'Last seen', 'http-01 names']}
          items={items} empty="No agent yet."
          row={(a) => (
            <tr key={a.id}>
              <td><Link href={`/agents/${encodeURIComponent(a.id)}`}>{a.properties.name}</Link>{a.properties.description ? <div class="small muted">{a.properties.description}</div> : null}</td>
              <td><StateBadge state={a.metadata.state} /></td>
              <td class="break">{a.metadata.hostname ?? <span class="muted">—</span>}{a.metadata.platform ? <span class="small muted"> ({a.metadata.platform})</span> : null}</td>
              <td>{a.metadata.version ?? <span class="muted">—</span>}</td>
              <td class="nowrap">{a.metadata.lastSeenAt ? <When iso={a.metadata.lastSeenAt} /> : <span class="muted">never</span>}</td>
              <td class="small break">{a.properties.http01Names.length ? a.properties.http01Names.join(', ') : <span class="muted">none</span>}</td>
            </tr>
          )} />
      )}
    </>
  );
}

/** The one-time enrolment token and how to use it on the host. */
function EnrolmentToken({ agent, token, onDone }: { agent: Agent; token: string; onDone(): void }) {
  const command = `certkeeper agent --server ${window.location.origin} --token ${token}`;
  const expires = agent.metadata.enrolmentExpiresAt;
  return (
    <div class="secret-once" role="status" data-testid="enrolment-token">
      <p><strong>Enrolment token for {agent.properties.name}.</strong> Copy it now: certkeeper keeps only its hash and shows it this once. It works once{expires ? <>, until {absolute(expires)}</> : null}.</p>
      <CopyValue value={token} label="Copy the enrolment token" />
      <p>On the host, run the agent once with it:</p>
      <div class="command">
        <pre class="command-line" data-testid="enrol-command">{command}</pre>
        <CopyButton value={command} label="Copy the command line" />
      </div>
      <p class="help">
        The agent trades the token for its own credential and keeps that in its state directory (<code class="nowrap">--state-dir</code>, default <code>/var/lib/certkeeper-agent</code>, mode 0700);
        started again with the same state directory it needs no token. For a service, put the token in a file and use <code class="nowrap">--token-file</code> (docs/agent.md).
        {agent.properties.http01Names.length ? <> To answer http-01 for {agent.properties.http01Names.join(', ')}, add <code class="nowrap">--http01-listen</code> or <code class="nowrap">--http01-webroot</code>.</> : null}
      </p>
      <p><button type="button" class="button button-small" onClick={onDone}>I have copied it</button></p>
    </div>
  );
}

/** What each path setting of a target writes, in a few words. */
function targetFiles(t: DeploymentTarget): string {
  const s = t.properties.settings;
  if (t.properties.type === 'script') return String(s.command ?? '');
  if (t.properties.type === 'webhook') return String(s.url ?? '');
  if (t.properties.type === 'kubernetes-secret') return `${String(s.namespace ?? '')}/${String(s.secretName ?? '')}`;
  return PATH_SETTINGS.map((k) => s[k]).filter((v): v is string => typeof v === 'string').join(', ');
}

type Action = 'token' | 'revoke' | 'delete';

/** One agent. */
export function AgentPage({ id }: { id: string }) {
  const me = useMe();
  const admin = me.role === 'admin';
  const path = `agents/${encodeURIComponent(id)}`;
  const { data: agent, error, reload } = useApi<Agent>(path, (a) => (a?.metadata.state === 'PENDING' ? 2000 : 10_000));
  const targets = useApi<Collection<DeploymentTarget>>(`deployment-targets${query({ 'filter.agent': id, limit: 1000 })}`);
  const [token, setToken] = useState<string | null>(() => {
    const t = enrolmentTokens.get(id) ?? null;
    enrolmentTokens.delete(id);
    return t;
  });
  const [confirm, setConfirm] = useState<Action | null>(null);
  const { busy, actionError, setActionError, done, setDone, perform } = useActions<Action>();

  if (!agent) {
    return <DetailPlaceholder title="Agent" error={error} />;
  }
  const m = agent.metadata;
  const p = agent.properties;

  const run = (action: Action) => perform(action, async () => {
    if (action === 'delete') {
      await api('DELETE', path);
      setConfirm(null);
      navigate('/agents');
      return;
    }
    if (action === 'token') {
      const res = await api<Agent>('POST', `${path}/enrolment-token`);
      setToken(res.metadata.enrolmentToken ?? null);
    } else {
      await api('POST', `${path}/revoke`);
      setToken(null);
      setDone('Revoked: the agent\'s next call is refused.');
    }
    setConfirm(null);
    await reload();
  });

  const list = targets.data?.items ?? [];
  return (
    <>
      <PageTitle title={p.name} />
      <p class="breadcrumbs"><Link href="/agents">Agents</Link></p>
      {token ? <EnrolmentToken agent={agent} token={token} onDone={() => setToken(null)} /> : null}
      <ErrorMessage>{error}</ErrorMessage>
      <StatusLine state={m.state} message={m.message} spinning={m.state === 'PENDING'} bad={m.state === 'REVOKED'} />
      <Notice tone="success">{done}</Notice>
      <div class="grid">
        <section class="panel" aria-labelledby="ag-host-heading">
          <h2 id="ag-host-heading">Host</h2>
          <dl class="facts">
            <dt>Host name</dt><dd>{m.hostname ?? <span class="muted">not enrolled yet</span>}</dd>
            <dt>Version</dt><dd>{m.version ?? <span class="muted">—</span>}</dd>
            <dt>Platform</dt><dd>{m.platform ?? <span class="muted">—</span>}</dd>
            <dt>Last seen</dt><dd>{m.lastSeenAt ? <When iso={m.lastSeenAt} both /> : <span class="muted">never</span>}</dd>
            <dt>Enrolled</dt><dd>{m.enrolledAt ? absolute(m.enrolledAt) : <span class="muted">not yet</span>}</dd>
            {m.enrolmentExpiresAt ? <><dt>Enrolment token</dt><dd>valid until {absolute(m.enrolmentExpiresAt)} <span class="muted">(unused)</span></dd></> : null}
            {m.revokedAt ? <><dt>Revoked</dt><dd class="bad">{absolute(m.revokedAt)}</dd></> : null}
            <dt>http-01</dt><dd>{m.http01Mode ?? <span class="muted">does not answer</span>}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="ag-settings-heading">
          <h2 id="ag-settings-heading">Settings</h2>
          <dl class="facts">
            <dt>Description</dt><dd>{p.description ?? <span class="muted">none</span>}</dd>
            <dt>http-01 names</dt><dd>{p.http01Names.length ? <ul class="names">{p.http01Names.map((n) => <li key={n}>{n}</li>)}</ul> : <span class="muted">none</span>}</dd>
            <dt>Created</dt><dd>{absolute(m.createdDate)} by {m.createdBy}</dd>
            <dt>Changed</dt><dd>{absolute(m.lastModifiedDate)} by {m.lastModifiedBy}</dd>
          </dl>
        </section>
        {admin ? (
          <section class="panel panel-wide" aria-labelledby="ag-actions-heading">
            <h2 id="ag-actions-heading">Actions</h2>
            <ErrorMessage>{confirm === null ? actionError : null}</ErrorMessage>
            <div class="actions">
              <ChangeLink base="/agents" id={id} />
              <ConfirmButton label="New enrolment token…" disabled={busy !== null} danger={false} onOpen={() => { setActionError(null); setConfirm('token'); }} />
              {m.state !== 'REVOKED' ? <ConfirmButton label="Revoke…" disabled={busy !== null} onOpen={() => { setActionError(null); setConfirm('revoke'); }} /> : null}
              <ConfirmButton label="Delete…" disabled={busy !== null} onOpen={() => { setActionError(null); setConfirm('delete'); }} />
            </div>
            <p class="help">A new enrolment token re-installs a host (or brings back a revoked agent): the current credential keeps working until the token is used.</p>
          </section>
        ) : null}
        <section class="panel panel-wide" aria-labelledby="ag-targets-heading">
          <h2 id="ag-targets-heading">Deployment targets on this agent <span class="muted">({targets.data?.total ?? '…'})</span></h2>
          <ErrorMessage>{targets.error}</ErrorMessage>
          {list.length === 0 ? <p class="muted">{targets.data ? 'No deployment target uses this agent yet.' : 'Loading…'}{targets.data && admin ? <> <Link href={`/deployment-targets/new?type=agent&agent=${encodeURIComponent(id)}`}>New deployment target</Link></> : null}</p> : (
            <div class="table-wrap">
              <table class="table">
                <thead><tr><th scope="col">Target</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Files</th></tr></thead>
                <tbody>
                  {list.map((t) => (
                    <tr key={t.id}>
                      <td>{admin ? <Link href={`/deployment-targets/${encodeURIComponent(t.id)}`}>{t.properties.name}</Link> : t.properties.name}</td>
                      <td>{targetTypeTitle(t.properties.type)}</td>
                      <td><StateBadge state={t.metadata.state} /></td>
                      <td class="small mono break">{targetFiles(t)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
      <ConfirmDialog open={confirm === 'token'} title="Issue a new enrolment token?" confirmLabel="New enrolment token" busy={busy === 'token'}
        onConfirm={() => void run('token')} onCancel={() => setConfirm(null)}>
        <p>certkeeper makes a new one-time token for <strong>{p.name}</strong> (valid 7 days) and shows it once. Any unused token is replaced; the agent's current credential keeps working until the new token is used.</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
      <ConfirmDialog open={confirm === 'revoke'} title="Revoke this agent?" confirmLabel="Revoke" danger busy={busy === 'revoke'}
        onConfirm={() => void run('revoke')} onCancel={() => setConfirm(null)}>
        <p>The credential of <strong>{p.name}</strong> stops working at once: its next call is refused and it stops. Deployments to its targets wait until it is enrolled again with a new token.</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
      <ConfirmDialog open={confirm === 'delete'} title="Delete this agent?" confirmLabel="Delete" danger busy={busy === 'delete'}
        onConfirm={() => void run('delete')} onCancel={() => setConfirm(null)}>
        <p>certkeeper forgets <strong>{p.name}</strong>; its credential stops working. An agent still used by a deployment target cannot be deleted{list.length ? <> (it is used by {list.map((t, i) => <Fragment key={t.id}>{i ? ', ' : ''}{t.properties.name}</Fragment>)})</> : null}.</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
    </>
  );
}
