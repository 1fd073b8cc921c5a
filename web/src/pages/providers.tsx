/**
 * ACME providers (admins): the list with each account's state, the create form (name, directory
 * URL, contact e-mail, external account binding with a write-only secret, extra CA roots, profile,
 * preferred chain), one provider's page with its state, account and delete, and changing one
 * (name, contact, profile, preferred chain, CA roots; a new contact or new roots register the
 * account again, followed on its page).
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { AdminOnly } from '../components/admin-only';
import { ErrorMessage } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ConfirmButton, StatusLine } from '../components/detail';
import { FieldError, invalidProps } from '../components/field';
import { DetailPlaceholder, Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { EditResourcePage } from '../components/resource-pages';
import { ResourceTable } from '../components/resource-table';
import { StateBadge } from '../components/state-badge';
import { fieldErrors } from '../field-errors';
import type { Collection, Resource } from '../resources';
import { Link, navigate } from '../router';
import { absolute } from '../time-format';
import { useApi } from '../use-api';

/** A provider as GET /providers/{id} shows it. */
export type ProviderDetail = Resource<{ accountUrl: string | null; termsOfService: string | null; profiles: Record<string, string> }, {
  name: string; email: string | null; server: string; externalAccountBinding: { keyId: string } | null;
  profile: string | null; preferredChain: string | null; caCertificates: string | null;
}>;

const settling = (p: ProviderDetail | undefined) => (p?.metadata.state === 'PROVISIONING' ? 1500 : null);

/** The list. */
export function ProvidersPage() {
  const { data, error } = useApi<Collection<ProviderDetail>>('providers?limit=1000', (d) => (d?.items.some((p) => p.metadata.state === 'PROVISIONING') ? 1500 : null));
  return (
    <AdminOnly title="Providers">
      <PageTitle title="Providers"><Link href="/providers/new" class="button button-primary">New provider</Link></PageTitle>
      <p class="help">A provider is an ACME account with one CA; auto certificates name the provider that issues them.</p>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <ResourceTable 
          columns={['Name', 'State', 'Directory', 'Contact']}
          items={data.items} empty="No provider yet."
          row={(p) => (
            <tr key={p.id}>
              <td><Link href={`/providers/${encodeURIComponent(p.id)}`}>{p.properties.name}</Link></td>
              <td><StateBadge state={p.metadata.state} /></td>
              <td class="truncate" title={p.properties.server}>{p.properties.server}</td>
              <td>{p.properties.email ?? <span class="muted">—</span>}</td>
            </tr>
          )} />
      )}
    </AdminOnly>
  );
}

const FIELDS = ['name', 'server', 'email', 'externalAccountBinding', 'caCertificates', 'profile', 'preferredChain'] as const;

/** The create form. */
export function ProviderNewPage() {
  const [v, setV] = useState({ name: '', server: '', email: '', keyId: '', keySecret: '', caCertificates: '', profile: '', preferredChain: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof v) => (e: Event) => setV((o) => ({ ...o, [k]: (e.target as HTMLInputElement).value }));

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setGeneral(null);
    if ((v.keyId.trim() === '') !== (v.keySecret.trim() === '')) {
      setErrors({ externalAccountBinding: 'Give both the key identifier and the HMAC key, or neither.' });
      return;
    }
    setBusy(true);
    try {
      const created = await api<ProviderDetail>('POST', 'providers', {
        properties: {
          name: v.name.trim(),
          server: v.server.trim(),
          ...(v.email.trim() ? { email: v.email.trim() } : {}),
          ...(v.keyId.trim() ? { externalAccountBinding: { keyId: v.keyId.trim(), keySecret: v.keySecret.trim() } } : {}),
          ...(v.caCertificates.trim() ? { caCertificates: v.caCertificates } : {}),
          ...(v.profile.trim() ? { profile: v.profile.trim() } : {}),
          ...(v.preferredChain.trim() ? { preferredChain: v.preferredChain.trim() } : {}),
        },
      });
      navigate(`/providers/${encodeURIComponent(created.id)}`);
    } catch (err) {
      const { byField, other } = fieldErrors(err, FIELDS);
      setErrors(byField);
      setGeneral([errorText(err), ...other].join(' · '));
      setBusy(false);
    }
  };

  const eabError = errors.externalAccountBinding;
  return (
    <AdminOnly title="New provider">
      <PageTitle title="New provider" />
      <p class="breadcrumbs"><Link href="/providers">Providers</Link></p>
      <form class="form form-wide" onSubmit={submit} noValidate>
        <ErrorMessage>{general}</ErrorMessage>
        <label for="pv-name">Name</label>
        <input id="pv-name" required maxLength={200} value={v.name} onInput={set('name')} {...invalidProps('pv-name', errors.name)} />
        <FieldError id="pv-name" message={errors.name} />
        <label for="pv-server">ACME directory URL</label>
        <input id="pv-server" type="url" required placeholder="https://acme-v02.api.letsencrypt.org/directory" value={v.server} onInput={set('server')} {...invalidProps('pv-server', errors.server)} />
        <FieldError id="pv-server" message={errors.server} />
        <label for="pv-email">Contact e-mail <span class="muted">(optional; the CA's expiry and policy mails)</span></label>
        <input id="pv-email" type="email" value={v.email} onInput={set('email')} {...invalidProps('pv-email', errors.email)} />
        <FieldError id="pv-email" message={errors.email} />
        <fieldset>
          <legend>External account binding <span class="muted">(only if the CA asks for one)</span></legend>
          <label for="pv-eab-kid">Key identifier</label>
          <input id="pv-eab-kid" autoComplete="off" value={v.keyId} onInput={set('keyId')} {...invalidProps('pv-eab', eabError)} />
          <label for="pv-eab-secret">HMAC key <span class="muted">(base64url; write-only, never shown again)</span></label>
          <input id="pv-eab-secret" type="password" autoComplete="off" value={v.keySecret} onInput={set('keySecret')} {...invalidProps('pv-eab', eabError)} />
          <FieldError id="pv-eab" message={eabError} />
        </fieldset>
        <label for="pv-ca">CA certificates <span class="muted">(optional: PEM roots to trust for a private ACME server)</span></label>
        <textarea id="pv-ca" class="pem" rows={4} spellcheck={false} value={v.caCertificates} onInput={set('caCertificates')} {...invalidProps('pv-ca', errors.caCertificates)} />
        <FieldError id="pv-ca" message={errors.caCertificates} />
        <details class="advanced">
          <summary>Profile, preferred chain</summary>
          <label for="pv-profile">ACME profile <span class="muted">(optional)</span></label>
          <input id="pv-profile" value={v.profile} onInput={set('profile')} {...invalidProps('pv-profile', errors.profile)} />
          <FieldError id="pv-profile" message={errors.profile} />
          <label for="pv-chain">Preferred chain <span class="muted">(issuer common name of an alternate chain)</span></label>
          <input id="pv-chain" value={v.preferredChain} onInput={set('preferredChain')} {...invalidProps('pv-chain', errors.preferredChain)} />
          <FieldError id="pv-chain" message={errors.preferredChain} />
        </details>
        <div class="actions">
          <button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Creating…' : 'Create provider'}</button>
          <Link href="/providers" class="button">Cancel</Link>
        </div>
      </form>
    </AdminOnly>
  );
}

/** One provider: state (followed while the account is registered), settings, delete. */
export function ProviderPage({ id }: { id: string }) {
  const path = `providers/${encodeURIComponent(id)}`;
  const { data: p, error } = useApi<ProviderDetail>(path, settling);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  if (!p) {
    return <DetailPlaceholder title="Provider" error={error} admin />;
  }
  const remove = async () => {
    setBusy(true);
    setActionError(null);
    try {
      await api('DELETE', path);
      navigate('/providers');
    } catch (err) {
      setActionError(errorText(err));
      setBusy(false);
    }
  };
  const m = p.metadata;
  const pr = p.properties;
  return (
    <AdminOnly title={pr.name}>
      <PageTitle title={pr.name} />
      <p class="breadcrumbs"><Link href="/providers">Providers</Link></p>
      <StatusLine state={m.state} message={m.message} spinning={m.state === 'PROVISIONING'} bad={m.state === 'FAILED'} />
      <div class="grid">
        <section class="panel panel-wide" aria-labelledby="pv-facts-heading">
          <h2 id="pv-facts-heading">Account</h2>
          <dl class="facts">
            <dt>Directory</dt><dd>{pr.server}</dd>
            <dt>Contact</dt><dd>{pr.email ?? <span class="muted">none</span>}</dd>
            <dt>Account URL</dt><dd>{m.accountUrl ?? <span class="muted">not registered yet</span>}</dd>
            {m.termsOfService ? <><dt>Terms of service</dt><dd>{m.termsOfService}</dd></> : null}
            <dt>External account binding</dt><dd>{pr.externalAccountBinding ? <>key {pr.externalAccountBinding.keyId} <span class="muted">(secret stored, not shown)</span></> : <span class="muted">none</span>}</dd>
            <dt>Profile</dt><dd>{pr.profile ?? <span class="muted">CA default</span>}</dd>
            {Object.keys(m.profiles ?? {}).length ? <><dt>Profiles offered</dt><dd>{Object.keys(m.profiles).join(', ')}</dd></> : null}
            <dt>Preferred chain</dt><dd>{pr.preferredChain ?? <span class="muted">CA default</span>}</dd>
            <dt>Extra CA roots</dt><dd>{pr.caCertificates ? `${(pr.caCertificates.match(/BEGIN CERTIFICATE/g) ?? []).length} certificate(s)` : <span class="muted">none</span>}</dd>
            <dt>Created</dt><dd>{absolute(m.createdDate)} by {m.createdBy}</dd>
          </dl>
        </section>
        <section class="panel panel-wide" aria-labelledby="pv-actions-heading">
          <h2 id="pv-actions-heading">Actions</h2>
          <ErrorMessage>{confirm ? null : actionError}</ErrorMessage>
          <div class="actions">
            <Link href={`/providers/${encodeURIComponent(id)}/edit`} class="button">Change</Link>
            <ConfirmButton label="Delete…" onOpen={() => { setActionError(null); setConfirm(true); }} />
          </div>
        </section>
      </div>
      <ConfirmDialog open={confirm} title="Delete this provider?" confirmLabel="Delete" danger busy={busy} onConfirm={() => void remove()} onCancel={() => setConfirm(false)}>
        <p>certkeeper forgets the ACME account <strong>{pr.name}</strong>. An auto certificate that still names it must be changed first (the server refuses otherwise).</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
    </AdminOnly>
  );
}

const EDIT_FIELDS = ['name', 'email', 'caCertificates', 'profile', 'preferredChain'] as const;

/** The change form: PATCH with only what changed (an unchanged contact or CA roots must not register the account again). */
function ProviderEditForm({ p }: { p: ProviderDetail }) {
  const pr = p.properties;
  const start = { name: pr.name, email: pr.email ?? '', caCertificates: pr.caCertificates ?? '', profile: pr.profile ?? '', preferredChain: pr.preferredChain ?? '' };
  const [v, setV] = useState(start);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof v) => (e: Event) => setV((o) => ({ ...o, [k]: (e.target as HTMLInputElement).value }));
  const reRegister = v.email.trim() !== start.email || v.caCertificates !== start.caCertificates;

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setGeneral(null);
    const properties: Record<string, string | null> = {};
    if (v.name.trim() !== start.name) properties.name = v.name.trim();
    if (v.email.trim() !== start.email) properties.email = v.email.trim() || null;
    if (v.caCertificates !== start.caCertificates) properties.caCertificates = v.caCertificates.trim() ? v.caCertificates : null;
    if (v.profile.trim() !== start.profile) properties.profile = v.profile.trim() || null;
    if (v.preferredChain.trim() !== start.preferredChain) properties.preferredChain = v.preferredChain.trim() || null;
    if (!Object.keys(properties).length) {
      navigate(`/providers/${encodeURIComponent(p.id)}`);
      return;
    }
    setBusy(true);
    try {
      await api('PATCH', `providers/${encodeURIComponent(p.id)}`, { properties });
      navigate(`/providers/${encodeURIComponent(p.id)}`);
    } catch (err) {
      const { byField, other } = fieldErrors(err, EDIT_FIELDS);
      setErrors(byField);
      setGeneral([errorText(err), ...other].join(' · '));
      setBusy(false);
    }
  };

  return (
    <form class="form form-wide" onSubmit={submit} noValidate>
      <ErrorMessage>{general}</ErrorMessage>
      <label for="pv-name">Name</label>
      <input id="pv-name" required maxLength={200} value={v.name} onInput={set('name')} {...invalidProps('pv-name', errors.name)} />
      <FieldError id="pv-name" message={errors.name} />
      <p class="help">Directory URL <code>{pr.server}</code>{pr.externalAccountBinding ? <> and external account binding (key {pr.externalAccountBinding.keyId})</> : null} belong to the ACME account and stay as they are: for another CA or binding, create a new provider.</p>
      <label for="pv-email">Contact e-mail <span class="muted">(empty: none)</span></label>
      <input id="pv-email" type="email" value={v.email} onInput={set('email')} {...invalidProps('pv-email', errors.email)} />
      <FieldError id="pv-email" message={errors.email} />
      <label for="pv-ca">CA certificates <span class="muted">(PEM roots to trust for a private ACME server; empty: none)</span></label>
      <textarea id="pv-ca" class="pem" rows={4} spellcheck={false} value={v.caCertificates} onInput={set('caCertificates')} {...invalidProps('pv-ca', errors.caCertificates)} />
      <FieldError id="pv-ca" message={errors.caCertificates} />
      <label for="pv-profile">ACME profile <span class="muted">(empty: the CA's default)</span></label>
      <input id="pv-profile" value={v.profile} onInput={set('profile')} {...invalidProps('pv-profile', errors.profile)} />
      <FieldError id="pv-profile" message={errors.profile} />
      <label for="pv-chain">Preferred chain <span class="muted">(issuer common name of an alternate chain; empty: the CA's default)</span></label>
      <input id="pv-chain" value={v.preferredChain} onInput={set('preferredChain')} {...invalidProps('pv-chain', errors.preferredChain)} />
      <FieldError id="pv-chain" message={errors.preferredChain} />
      {reRegister ? <p class="alert alert-info" role="status">Saving registers the account with the CA again (a new contact or new CA roots); its page follows it.</p> : null}
      <div class="actions">
        <button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Saving…' : 'Save changes'}</button>
        <Link href={`/providers/${encodeURIComponent(p.id)}`} class="button">Cancel</Link>
      </div>
    </form>
  );
}

/** /providers/{id}/edit */
export function ProviderEditPage({ id }: { id: string }) {
  const { data, error } = useApi<ProviderDetail>(`providers/${encodeURIComponent(id)}`);
  return (
    <EditResourcePage base={{ href: '/providers', label: 'Providers' }} id={id} kind="provider" name={data?.properties.name} error={error}>
      {data ? <ProviderEditForm p={data} /> : null}
    </EditResourcePage>
  );
}
