/**
 * Users of the tenant (admins): the list (e-mail, role, state, last login), inviting one — the
 * invitation is shown once, to hand over — changing a role (applied to live sessions at once) and
 * deleting a user after a confirmation.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { AdminOnly } from '../components/admin-only';
import { ErrorMessage, Notice } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { CopyValue } from '../components/copy-button';
import { FieldError, invalidProps } from '../components/field';
import { Loading } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { StateBadge } from '../components/state-badge';
import { When } from '../components/when';
import { fieldErrors } from '../field-errors';
import type { Collection } from '../resources';
import { useMe } from '../session';
import { useApi } from '../use-api';

type UserRole = 'viewer' | 'operator' | 'admin';

/** A user as GET /users lists it. */
export interface User {
  id: string;
  metadata: { createdDate: string; createdBy: string; state: string; message: string; lastLoginDate: string | null };
  properties: { email: string; role: UserRole };
}

interface Invited {
  properties: { email: string; invitation: { token: string; expiresAt: string } };
}

const ROLES: UserRole[] = ['viewer', 'operator', 'admin'];

/** The users page. */
export function UsersPage() {
  const me = useMe();
  const { data, error, reload } = useApi<Collection<User>>('users?limit=1000');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<UserRole>('viewer');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [invited, setInvited] = useState<Invited['properties'] | null>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  const [rowDone, setRowDone] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const invite = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setGeneral(null);
    setInvited(null);
    setBusy(true);
    try {
      const res = await api<Invited>('POST', 'users', { properties: { email: email.trim(), role } });
      setInvited(res.properties);
      setEmail('');
      await reload();
    } catch (err) {
      const { byField, other } = fieldErrors(err, ['email', 'role']);
      setErrors(byField);
      setGeneral([errorText(err), ...other].join(' · '));
    } finally {
      setBusy(false);
    }
  };

  const changeRole = async (u: User, to: UserRole) => {
    setRowError(null);
    setRowDone(null);
    try {
      await api('PATCH', `users/${encodeURIComponent(u.id)}`, { properties: { role: to } });
      setRowDone(`${u.properties.email} is now ${to}.`);
    } catch (err) {
      setRowError(`${u.properties.email}: ${errorText(err)}`);
    }
    await reload();
  };

  const remove = async () => {
    if (!deleting) return;
    setDeleteError(null);
    try {
      await api('DELETE', `users/${encodeURIComponent(deleting.id)}`);
      setDeleting(null);
      await reload();
    } catch (err) {
      setDeleteError(errorText(err));
    }
  };

  return (
    <AdminOnly title="Users">
      <PageTitle title="Users" />
      {invited ? (
        <div class="secret-once" role="status" data-testid="invitation">
          <p><strong>{invited.email} is invited.</strong> Hand over this invitation (valid until <When iso={invited.invitation.expiresAt} both />, usable once); it is not shown again.</p>
          <CopyValue value={invited.invitation.token} label="Copy the invitation" />
          <p class="help">The user sets a password with it: <code>POST /api/v1/users/activate {'{'} "invitation", "password" {'}'}</code>.</p>
          <p><button type="button" class="button button-small" onClick={() => setInvited(null)}>I have handed it over</button></p>
        </div>
      ) : null}
      <section class="panel" aria-labelledby="us-new-heading">
        <h2 id="us-new-heading">Invite a user</h2>
        <form class="form" onSubmit={invite} noValidate>
          <ErrorMessage>{general}</ErrorMessage>
          <label for="us-email">E-mail address</label>
          <input id="us-email" type="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} {...invalidProps('us-email', errors.email)} />
          <FieldError id="us-email" message={errors.email} />
          <label for="us-role">Role</label>
          <select id="us-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as UserRole)}>
            {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
          <div class="actions"><button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Inviting…' : 'Invite'}</button></div>
        </form>
      </section>
      <ErrorMessage>{error ?? rowError}</ErrorMessage>
      <Notice tone="success">{rowDone}</Notice>
      {!data ? <Loading /> : (
        <div class="table-wrap">
          <table class="table">
            <caption class="visually-hidden">Users</caption>
            <thead><tr><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Last login</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {data.items.map((u) => {
                const self = u.id === me.userId;
                return (
                  <tr key={u.id}>
                    <td>{u.properties.email}{self ? <span class="tag">you</span> : null}</td>
                    <td>
                      <select aria-label={`Role of ${u.properties.email}`} value={u.properties.role} disabled={self}
                        onChange={(e) => void changeRole(u, (e.target as HTMLSelectElement).value as UserRole)}>
                        {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                      </select>
                    </td>
                    <td><StateBadge state={u.metadata.state} /> <span class="muted small">{u.metadata.message}</span></td>
                    <td class="nowrap">{u.metadata.lastLoginDate ? <When iso={u.metadata.lastLoginDate} /> : <span class="muted">never</span>}</td>
                    <td>{self ? null : <button type="button" class="button button-small button-danger-outline" aria-label={`Delete ${u.properties.email}`} onClick={() => { setDeleteError(null); setDeleting(u); }}>Delete…</button>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog open={deleting !== null} title="Delete this user?" confirmLabel="Delete" danger onConfirm={() => void remove()} onCancel={() => setDeleting(null)}>
        <p><strong>{deleting?.properties.email}</strong> can no longer log in; their sessions end now. The audit log keeps what they did.</p>
        <ErrorMessage>{deleteError}</ErrorMessage>
      </ConfirmDialog>
    </AdminOnly>
  );
}
