/**
 * DNS zones (admins): where certkeeper may write dns-01 records. The list with each zone's state
 * (AVAILABLE, FAILED with the provider's words, DISABLED), and one zone's page: its settings
 * (never its credentials), the last check, and the actions check now, enable or disable, change
 * and delete.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { AdminOnly } from '../components/admin-only';
import { ErrorMessage, Notice } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ChangeLink, ConfirmButton, EnableToggle, StatusLine } from '../components/detail';
import { DetailPlaceholder, Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { ResourceTable } from '../components/resource-table';
import { StateBadge, stateLabel } from '../components/state-badge';
import { When } from '../components/when';
import { dnsProviderName } from '../dns-providers';
import type { Collection, DnsZone } from '../resources';
import { Link, navigate } from '../router';
import { absolute } from '../time-format';
import { useActions } from '../use-actions';
import { useApi } from '../use-api';

function settingValue(v: unknown): string {
  if (Array.isArray(v)) return v.join(', ');
  if (v !== null && typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${String(x)}`).join(', ');
  return String(v);
}

/** The list. */
export function DnsZonesPage() {
  const { data, error } = useApi<Collection<DnsZone>>('dns-zones?limit=1000', 30_000);
  const items = [...(data?.items ?? [])].sort((a, b) => a.properties.zoneName.localeCompare(b.properties.zoneName));
  return (
    <AdminOnly title="DNS zones">
      <PageTitle title="DNS zones"><Link href="/dns-zones/new" class="button button-primary">New DNS zone</Link></PageTitle>
      <p class="help">The zones whose <code>_acme-challenge</code> TXT records certkeeper may write for dns-01, and how. A dns-01 auto certificate needs every name inside an enabled zone (or its <code>_acme-challenge</code> record delegated into one by CNAME).</p>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <ResourceTable caption="DNS zones"
          columns={['Zone', 'Provider', 'State', 'Last check']}
          items={items} empty="No DNS zone yet."
          row={(z) => (
            <tr key={z.id}>
              <td><Link href={`/dns-zones/${encodeURIComponent(z.id)}`}>{z.properties.zoneName}</Link></td>
              <td><span title={dnsProviderName(z.properties.provider)}>{z.properties.provider}</span></td>
              <td><StateBadge state={z.metadata.state} /> <span class={z.metadata.state === 'FAILED' ? 'small bad break' : 'small muted break'}>{z.metadata.message}</span></td>
              <td class="nowrap"><When iso={z.metadata.lastCheck} /></td>
            </tr>
          )} />
      )}
    </AdminOnly>
  );
}

type Action = 'check' | 'enable' | 'disable' | 'delete';

/** One zone. */
export function DnsZonePage({ id }: { id: string }) {
  const path = `dns-zones/${encodeURIComponent(id)}`;
  const { data: z, error, reload } = useApi<DnsZone>(path);
  const [confirm, setConfirm] = useState(false);
  const { busy, actionError, setActionError, done, setDone, perform } = useActions<Action>();
  if (!z) {
    return <DetailPlaceholder title="DNS zone" error={error} admin />;
  }
  const m = z.metadata;
  const p = z.properties;

  const run = (action: Action) => perform(action, async () => {
    if (action === 'delete') {
      await api('DELETE', path);
      navigate('/dns-zones');
      return;
    }
    const after = action === 'check'
      ? await api<DnsZone>('POST', `${path}/check`)
      : await api<DnsZone>('PATCH', path, { properties: { enabled: action === 'enable' } });
    setDone(`${action === 'check' ? 'Checked' : action === 'enable' ? 'Enabled and checked' : 'Disabled'}: ${stateLabel(after.metadata.state)}.`);
    await reload();
  });

  const settings = Object.entries(p.settings);
  return (
    <AdminOnly title={p.zoneName}>
      <PageTitle title={p.zoneName} />
      <p class="breadcrumbs"><Link href="/dns-zones">DNS zones</Link></p>
      <StatusLine state={m.state} message={m.message} spinning={busy === 'check' || busy === 'enable'} bad={m.state === 'FAILED'} />
      <Notice tone="success">{done}</Notice>
      <div class="grid">
        <section class="panel" aria-labelledby="dz-provider-heading">
          <h2 id="dz-provider-heading">Provider</h2>
          <dl class="facts">
            <dt>Provider</dt><dd>{dnsProviderName(p.provider)} <span class="muted">({p.provider})</span></dd>
            {settings.length ? settings.map(([k, v]) => <Fragment key={k}><dt><code>{k}</code></dt><dd class="break">{settingValue(v)}</dd></Fragment>)
              : <><dt>Settings</dt><dd class="muted">none</dd></>}
            <dt>Credentials</dt><dd>{m.credentialsSet ? <>stored <span class="muted">(encrypted; never shown)</span></> : <span class="muted">none</span>}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="dz-check-heading">
          <h2 id="dz-check-heading">Propagation and checks</h2>
          <dl class="facts">
            <dt>Enabled</dt><dd>{p.enabled ? 'yes' : 'no — certkeeper does not write here'}</dd>
            <dt>Resolvers</dt><dd>{p.resolvers.length ? p.resolvers.join(', ') : <span class="muted">the zone's authoritative servers</span>}</dd>
            <dt>Propagation timeout</dt><dd>{p.propagationTimeoutSeconds} s</dd>
            <dt>Extra delay</dt><dd>{p.extraDelaySeconds} s</dd>
            <dt>Last check</dt><dd><When iso={m.lastCheck} both /></dd>
            <dt>Created</dt><dd>{absolute(m.createdDate)} by {m.createdBy}</dd>
            <dt>Changed</dt><dd>{absolute(m.lastModifiedDate)} by {m.lastModifiedBy}</dd>
          </dl>
        </section>
        <section class="panel panel-wide" aria-labelledby="dz-actions-heading">
          <h2 id="dz-actions-heading">Actions</h2>
          <ErrorMessage>{confirm ? null : actionError}</ErrorMessage>
          <div class="actions">
            <button type="button" class="button button-primary" disabled={busy !== null || !p.enabled} onClick={() => void run('check')}>{busy === 'check' ? 'Checking…' : 'Check now'}</button>
            <EnableToggle enabled={p.enabled} busy={busy !== null} enabling={busy === 'enable'} enablingLabel="Enabling…" onRun={(a) => void run(a)} />
            <ChangeLink base="/dns-zones" id={id} />
            <ConfirmButton label="Delete…" disabled={busy !== null} onOpen={() => { setActionError(null); setConfirm(true); }} />
          </div>
          <p class="help"><em>Check now</em> runs the provider's harmless check again, as every save does: {p.provider} must accept the stored settings and credentials.</p>
        </section>
      </div>
      <ConfirmDialog open={confirm} title="Delete this DNS zone?" confirmLabel="Delete" danger busy={busy === 'delete'} onConfirm={() => void run('delete')} onCancel={() => setConfirm(false)}>
        <p>certkeeper forgets <strong>{p.zoneName}</strong> and its credentials. dns-01 auto certificates with names in it fail their next renewal unless another zone covers them.</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
    </AdminOnly>
  );
}
