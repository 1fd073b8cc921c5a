/**
 * Notification channels (admins): the list (name, type, events, state, last delivery), and one
 * channel's page: its settings (never its credentials, only which are stored), Send test (POST
 * …/test, which answers with the receiver's own words), enable or disable, change, delete, and
 * its deliveries, newest first, followed live.
 */
import { useState } from 'preact/hooks';
import { api, errorText, query } from '../api';
import { AdminOnly } from '../components/admin-only';
import { ErrorMessage, Notice } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ChangeLink, ConfirmButton, EnableToggle, StatusLine } from '../components/detail';
import { CopyValue } from '../components/copy-button';
import { DetailPlaceholder, Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { Pager } from '../components/pager';
import { ResourceTable } from '../components/resource-table';
import { StateBadge, stateLabel } from '../components/state-badge';
import { When } from '../components/when';
import type { Collection, Resource } from '../resources';
import { Link, navigate } from '../router';
import { absolute } from '../time-format';
import { useActions } from '../use-actions';
import { useApi } from '../use-api';
import { generatedSecrets, type Channel } from './notification-channel-form';

/** One delivery of an event to a channel. */
export type Delivery = Resource<object, {
  channel: string;
  event: string | null;
  eventType: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
}>;

const DELIVERY_STATES = ['PENDING', 'SENDING', 'DELIVERED', 'FAILED', 'CANCELLED'] as const;

/** "webhook (slack)", "e-mail". */
function kind(c: Channel): string {
  return c.properties.type === 'email' ? 'e-mail' : `webhook (${String(c.properties.settings.preset ?? 'generic')})`;
}

/** Where it sends: the recipients, or the URL as the API shows it (scheme and host). */
function destination(c: Channel): string {
  const s = c.properties.settings;
  if (c.properties.type === 'email') return Array.isArray(s.to) ? (s.to as string[]).join(', ') : '';
  return `${String(s.url ?? '')}${s.chatId ? ` → ${String(s.chatId)}` : ''}`;
}

/** The list. */
export function ChannelsPage() {
  const { data, error } = useApi<Collection<Channel>>('notification-channels?limit=1000', 30_000);
  const items = [...(data?.items ?? [])].sort((a, b) => a.properties.name.localeCompare(b.properties.name));
  return (
    <AdminOnly title="Notification channels">
      <PageTitle title="Notification channels"><Link href="/notification-channels/new" class="button button-primary">New channel</Link></PageTitle>
      <p class="help">Where certkeeper sends events — expiry alerts, failed renewals, revocations — by e-mail or webhook (docs/notifications.md).</p>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <ResourceTable caption="Notification channels"
          columns={['Name', 'Type', 'Sends to', 'Events', 'State', 'Last delivery']}
          items={items} empty="No channel yet."
          row={(c) => (
            <tr key={c.id}>
              <td><Link href={`/notification-channels/${encodeURIComponent(c.id)}`}>{c.properties.name}</Link></td>
              <td class="nowrap">{kind(c)}</td>
              <td class="truncate" title={destination(c)}>{destination(c)}</td>
              <td class="small">{c.properties.events.join(', ')}{c.properties.digest.enabled ? <span class="tag">digest {String(c.properties.digest.hour).padStart(2, '0')}:00 UTC</span> : null}</td>
              <td><StateBadge state={c.metadata.state} /></td>
              <td class="nowrap"><When iso={c.metadata.lastDeliveryAt} /></td>
            </tr>
          )} />
      )}
    </AdminOnly>
  );
}

/** The deliveries of one channel, newest first, filtered by state, refreshed every 5 seconds. */
function Deliveries({ id }: { id: string }) {
  const [state, setState] = useState('');
  const [page, setPage] = useState({ offset: 0, limit: 25 });
  const { data, error } = useApi<Collection<Delivery>>(`notification-channels/${encodeURIComponent(id)}/deliveries${query({ 'filter.state': state, offset: page.offset, limit: page.limit })}`, 5000);
  return (
    <section class="panel panel-wide" aria-labelledby="nc-deliveries-heading">
      <h2 id="nc-deliveries-heading">Deliveries <span class="muted">({data?.total ?? '…'})</span></h2>
      <div class="filters">
        <label>
          <span>State</span>
          <select value={state} onChange={(e) => { setState((e.target as HTMLSelectElement).value); setPage((p) => ({ ...p, offset: 0 })); }}>
            <option value="">any</option>
            {DELIVERY_STATES.map((s) => <option key={s} value={s}>{stateLabel(s)}</option>)}
          </select>
        </label>
        <p class="help">One delivery per event the channel receives, retried with backoff; a test message is not one.</p>
      </div>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <>
          <ResourceTable caption="Deliveries" tableClass="table-stack" testId="deliveries"
            columns={['Created', 'Event', 'State', 'Attempts', 'Last answer', 'Detail']}
            items={data.items} empty={<>No deliveries{state ? ` in state ${stateLabel(state)}` : ' yet'}.</>}
            row={(d) => (
              <tr key={d.id}>
                <td class="nowrap"><When iso={d.metadata.createdDate} /></td>
                <td><code>{d.properties.eventType}</code>{d.properties.event ? <span class="muted small"> #{d.properties.event}</span> : null}</td>
                <td><StateBadge state={d.metadata.state} /></td>
                <td>{d.properties.attempts}</td>
                <td>{d.properties.lastStatus ?? <span class="muted">—</span>}</td>
                <td class={d.metadata.state === 'FAILED' ? 'small bad break' : 'small muted break'}>{d.metadata.message}</td>
              </tr>
            )} />
          <Pager offset={data.offset} limit={data.limit} total={data.total} onChange={(offset, limit) => setPage({ offset, limit })} />
        </>
      )}
    </section>
  );
}

type Action = 'test' | 'enable' | 'disable' | 'delete';

/** One channel. */
export function ChannelPage({ id }: { id: string }) {
  const path = `notification-channels/${encodeURIComponent(id)}`;
  const { data: c, error, reload } = useApi<Channel>(path, 15_000);
  const [secret, setSecret] = useState<string | null>(() => {
    const s = generatedSecrets.get(id) ?? null;
    generatedSecrets.delete(id);
    return s;
  });
  const [confirm, setConfirm] = useState(false);
  const { busy, actionError, setActionError, done, setDone, perform } = useActions<Action>();
  if (!c) {
    return <DetailPlaceholder title="Notification channel" error={error} admin />;
  }
  const m = c.metadata;
  const p = c.properties;
  const s = p.settings;

  const run = (action: Action) => perform(action, async () => {
    if (action === 'delete') {
      await api('DELETE', path);
      navigate('/notification-channels');
      return;
    }
    if (action === 'test') {
      const r = await api<{ delivered: boolean; status?: number; detail: string }>('POST', `${path}/test`);
      setDone(`Test message delivered: ${r.detail}.`);
    } else {
      await api('PATCH', path, { properties: { enabled: action === 'enable' } });
      setDone(action === 'enable' ? 'Enabled.' : 'Disabled: the channel receives nothing until enabled again.');
    }
    await reload();
  }, (err) => (action === 'test' ? `Test failed: ${errorText(err)}` : errorText(err)));

  return (
    <AdminOnly title={p.name}>
      <PageTitle title={p.name} />
      <p class="breadcrumbs"><Link href="/notification-channels">Notifications</Link></p>
      {secret ? (
        <div class="secret-once" role="status" data-testid="generated-secret">
          <p><strong>certkeeper generated the signing secret.</strong> Copy it into your receiver now: it is not shown again.</p>
          <CopyValue value={secret} label="Copy the signing secret" />
          <p><button type="button" class="button button-small" onClick={() => setSecret(null)}>I have copied it</button></p>
        </div>
      ) : null}
      <StatusLine state={m.state} message={m.message} />
      <div class="grid">
        <section class="panel" aria-labelledby="nc-settings-heading">
          <h2 id="nc-settings-heading">Settings</h2>
          <dl class="facts">
            <dt>Type</dt><dd>{kind(c)}</dd>
            {p.type === 'email' ? (
              <>
                <dt>To</dt><dd>{destination(c)}</dd>
                <dt>From</dt><dd>{String(s.from ?? '')}</dd>
                <dt>SMTP server</dt><dd>{String(s.smtpHost ?? '')}:{String(s.smtpPort ?? '')} <span class="muted">({s.secure ? 'implicit TLS' : `STARTTLS ${String(s.starttls ?? 'required')}`})</span></dd>
                <dt>Subject prefix</dt><dd>{String(s.subjectPrefix ?? '') || <span class="muted">none</span>}</dd>
              </>
            ) : (
              <>
                <dt>URL</dt><dd class="break">{String(s.url ?? '')} <span class="muted">(stored encrypted; path not shown)</span></dd>
                {s.chatId ? <><dt>Chat</dt><dd>{String(s.chatId)}</dd></> : null}
              </>
            )}
            <dt>Credentials</dt><dd>{m.credentialsSet.length ? <>{m.credentialsSet.join(', ')} <span class="muted">(stored encrypted; never shown)</span></> : <span class="muted">none</span>}</dd>
            <dt>Events</dt><dd>{p.events.map((e) => <code key={e} class="event-pattern">{e}</code>)}</dd>
            <dt>Daily digest</dt><dd>{p.digest.enabled ? `at ${String(p.digest.hour).padStart(2, '0')}:00 UTC` : <span class="muted">off</span>}</dd>
            <dt>Last delivery</dt><dd><When iso={m.lastDeliveryAt} both /></dd>
            <dt>Created</dt><dd>{absolute(m.createdDate)} by {m.createdBy}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="nc-actions-heading">
          <h2 id="nc-actions-heading">Actions</h2>
          <p class="help"><em>Send test</em> sends one test message now, enabled or not, without retries, and shows what the receiver answered.</p>
          <Notice tone="success">{done}</Notice>
          <ErrorMessage>{confirm ? null : actionError}</ErrorMessage>
          <div class="actions">
            <button type="button" class="button button-primary" disabled={busy !== null} onClick={() => void run('test')}>{busy === 'test' ? 'Sending…' : 'Send test'}</button>
            <EnableToggle enabled={p.enabled} busy={busy !== null} onRun={(a) => void run(a)} />
            <ChangeLink base="/notification-channels" id={id} />
            <ConfirmButton label="Delete…" disabled={busy !== null} onOpen={() => { setActionError(null); setConfirm(true); }} />
          </div>
        </section>
        <Deliveries id={id} />
      </div>
      <ConfirmDialog open={confirm} title="Delete this channel?" confirmLabel="Delete" danger busy={busy === 'delete'} onConfirm={() => void run('delete')} onCancel={() => setConfirm(false)}>
        <p><strong>{p.name}</strong> receives nothing more from now on, and its settings and credentials are forgotten. The audit log keeps every event.</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
    </AdminOnly>
  );
}
