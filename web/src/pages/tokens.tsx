/**
 * API tokens (admins): the list (name, role, state, expiry, last use), creating one — its value
 * is shown once, right after POST, and never again — and revoking one after a confirmation.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { AdminOnly } from '../components/admin-only';
import { ErrorMessage } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { CopyValue } from '../components/copy-button';
import { FieldError, invalidProps } from '../components/field';
import { Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { ResourceTable } from '../components/resource-table';
import { StateBadge } from '../components/state-badge';
import { When } from '../components/when';
import { fieldErrors } from '../field-errors';
import type { Collection, Role } from '../resources';
import { useApi } from '../use-api';

/** A token as GET /tokens lists it. */
export interface Token {
  id: string;
  metadata: { createdDate: string; createdBy: string; lastUsedDate: string | null; state: string; message: string };
  properties: { name: string; role: Role; expiresAt: string | null; scope?: { autoCertificates: string[]; includePrivateKey?: boolean } };
}

const FIELDS = ['name', 'role', 'expiresAt', 'scope'] as const;

/** The tokens page. */
export function TokensPage() {
  const { data, error, reload } = useApi<Collection<Token>>('tokens?limit=1000');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [expires, setExpires] = useState('');
  const [scope, setScope] = useState('');
  const [withKey, setWithKey] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const [revokeError, setRevokeError] = useState<string | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setGeneral(null);
    setCreated(null);
    setBusy(true);
    try {
      const names = scope.split(/[\s,]+/).filter(Boolean);
      const res = await api<Token & { properties: { token: string } }>('POST', 'tokens', {
        properties: {
          name: name.trim(),
          role,
          ...(expires ? { expiresAt: new Date(`${expires}T23:59:59Z`).toISOString() } : {}),
          ...(role === 'consumer' ? { scope: { autoCertificates: names, includePrivateKey: withKey } } : {}),
        },
      });
      setCreated({ name: res.properties.name, token: res.properties.token });
      setName('');
      setScope('');
      await reload();
    } catch (err) {
      const { byField, other } = fieldErrors(err, FIELDS);
      setErrors(byField);
      setGeneral([errorText(err), ...other].join(' · '));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async () => {
    if (!revoking) return;
    setRevokeError(null);
    try {
      await api('DELETE', `tokens/${encodeURIComponent(revoking.id)}`);
      setRevoking(null);
      await reload();
    } catch (err) {
      setRevokeError(errorText(err));
    }
  };

  return (
    <AdminOnly title="API tokens">
      <PageTitle title="API tokens" />
      <p class="help">Bearer tokens for scripts and the CLI (docs/access.md). A token's value is shown once, when it is created.</p>
      {created ? (
        <div class="secret-once" role="status" data-testid="new-token">
          <p><strong>Token {created.name} created.</strong> Copy it now: certkeeper stores only its hash and cannot show it again.</p>
          <CopyValue value={created.token} label="Copy the token" />
          <p><button type="button" class="button button-small" onClick={() => setCreated(null)}>I have copied it</button></p>
        </div>
      ) : null}
      <section class="panel" aria-labelledby="tk-new-heading">
        <h2 id="tk-new-heading">New token</h2>
        <form class="form" onSubmit={create} noValidate>
          <ErrorMessage>{general}</ErrorMessage>
          <label for="tk-name">Name</label>
          <input id="tk-name" required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} {...invalidProps('tk-name', errors.name)} />
          <FieldError id="tk-name" message={errors.name} />
          <label for="tk-role">Role</label>
          <select id="tk-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
            <option value="viewer">viewer — reads everything</option>
            <option value="operator">operator — also changes certificates</option>
            <option value="admin">admin — also providers, users, tokens</option>
            <option value="consumer">consumer — exports the named auto certificates only</option>
          </select>
          <FieldError id="tk-role" message={errors.role} />
          {role === 'consumer' ? (
            <>
              <label for="tk-scope">Auto certificates <span class="muted">(names, separated by spaces or commas)</span></label>
              <input id="tk-scope" value={scope} onInput={(e) => setScope((e.target as HTMLInputElement).value)} {...invalidProps('tk-scope', errors.scope)} />
              <FieldError id="tk-scope" message={errors.scope} />
              <label class="choice"><input type="checkbox" checked={withKey} onChange={(e) => setWithKey((e.target as HTMLInputElement).checked)} /><span>May export the private key too</span></label>
            </>
          ) : null}
          <label for="tk-expires">Expires <span class="muted">(optional; end of that day, UTC)</span></label>
          <input id="tk-expires" type="date" value={expires} onInput={(e) => setExpires((e.target as HTMLInputElement).value)} {...invalidProps('tk-expires', errors.expiresAt)} />
          <FieldError id="tk-expires" message={errors.expiresAt} />
          <div class="actions"><button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Creating…' : 'Create token'}</button></div>
        </form>
      </section>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : (
        <ResourceTable caption="API tokens"
          columns={['Name', 'Role', 'State', 'Expires', 'Last used', 'Created', <th scope="col"><span class="visually-hidden">Actions</span></th>]}
          items={data.items} empty="No tokens."
          row={(t) => (
            <tr key={t.id}>
              <td>{t.properties.name}</td>
              <td>{t.properties.role}{t.properties.scope ? <span class="muted small"> ({t.properties.scope.autoCertificates.join(', ')}{t.properties.scope.includePrivateKey ? ', with key' : ''})</span> : null}</td>
              <td><StateBadge state={t.metadata.state} /></td>
              <td class="nowrap">{t.properties.expiresAt ? <When iso={t.properties.expiresAt} expiry /> : <span class="muted">never</span>}</td>
              <td class="nowrap">{t.metadata.lastUsedDate ? <When iso={t.metadata.lastUsedDate} /> : <span class="muted">never</span>}</td>
              <td class="nowrap"><When iso={t.metadata.createdDate} /> <span class="muted small">by {t.metadata.createdBy}</span></td>
              <td><button type="button" class="button button-small button-danger-outline" aria-label={`Revoke ${t.properties.name}`} onClick={() => { setRevokeError(null); setRevoking(t); }}>Revoke…</button></td>
            </tr>
          )} />
      )}
      <ConfirmDialog open={revoking !== null} title="Revoke this token?" confirmLabel="Revoke" danger onConfirm={() => void revoke()} onCancel={() => setRevoking(null)}>
        <p>Every call with the token <strong>{revoking?.properties.name}</strong> is refused from now on.</p>
        <ErrorMessage>{revokeError}</ErrorMessage>
      </ConfirmDialog>
    </AdminOnly>
  );
}
