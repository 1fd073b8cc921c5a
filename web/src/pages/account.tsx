/**
 * The logged-in user's own account: who they are, changing the password (POST /me/password, which
 * ends every other session of the user) with each error beside its field, and "log out everywhere"
 * (DELETE /sessions: every session of the user, this one included).
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { ErrorMessage, Notice } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { FieldError, focusFirstInvalid, invalidProps } from '../components/field';
import { PageTitle } from '../components/page-title';
import { fieldErrors } from '../field-errors';
import { displayName, useMe, useSession } from '../session';

/** The shortest password the server accepts (src/api/access/passwords.ts). */
const MIN_PASSWORD = 12;

function PasswordForm({ email }: { email: string }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setGeneral(null);
    setDone(null);
    const found: Record<string, string> = {};
    if (!current) found.currentPassword = 'Enter your current password.';
    if (next.length < MIN_PASSWORD) found.newPassword = `A password needs at least ${MIN_PASSWORD} characters.`;
    else if (next === current) found.newPassword = 'The new password is the current one.';
    if (repeat !== next) found.repeat = 'The two new passwords differ.';
    setErrors(found);
    if (Object.keys(found).length) {
      focusFirstInvalid();
      return;
    }
    setBusy(true);
    try {
      await api('POST', 'me/password', { currentPassword: current, newPassword: next });
      setCurrent('');
      setNext('');
      setRepeat('');
      setDone('Your password is changed. Every other session of your account has ended; this one stays.');
    } catch (err) {
      const { byField, other } = fieldErrors(err, ['currentPassword', 'newPassword']);
      setErrors(byField);
      if (!Object.keys(byField).length || other.length) setGeneral([errorText(err), ...other].join(' · '));
      if (byField.currentPassword) setCurrent('');
      focusFirstInvalid();
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form" onSubmit={submit} noValidate aria-labelledby="pw-heading">
      {/* The browser's password manager files the new password under this account. */}
      <input type="text" name="username" autoComplete="username" value={email} readOnly hidden />
      <ErrorMessage>{general}</ErrorMessage>
      <Notice tone="success">{done}</Notice>
      <label for="pw-current">Current password</label>
      <input id="pw-current" type="password" autoComplete="current-password" required value={current}
        onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} {...invalidProps('pw-current', errors.currentPassword)} />
      <FieldError id="pw-current" message={errors.currentPassword} />
      <label for="pw-new">New password <span class="muted">(at least {MIN_PASSWORD} characters, not your e-mail address)</span></label>
      <input id="pw-new" type="password" autoComplete="new-password" required minLength={MIN_PASSWORD} value={next}
        onInput={(e) => setNext((e.target as HTMLInputElement).value)} {...invalidProps('pw-new', errors.newPassword)} />
      <FieldError id="pw-new" message={errors.newPassword} />
      <label for="pw-repeat">New password again</label>
      <input id="pw-repeat" type="password" autoComplete="new-password" required value={repeat}
        onInput={(e) => setRepeat((e.target as HTMLInputElement).value)} {...invalidProps('pw-repeat', errors.repeat)} />
      <FieldError id="pw-repeat" message={errors.repeat} />
      <div class="actions"><button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Changing…' : 'Change password'}</button></div>
    </form>
  );
}

/** /account */
export function AccountPage() {
  const me = useMe();
  const { logoutEverywhere } = useSession();
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const email = displayName(me);

  const everywhere = async () => {
    setBusy(true);
    setError(null);
    try {
      await logoutEverywhere();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <>
      <PageTitle title="Your account" />
      <div class="grid">
        <section class="panel" aria-labelledby="acct-heading">
          <h2 id="acct-heading">Account</h2>
          <dl class="facts">
            <dt>E-mail address</dt><dd>{email}</dd>
            <dt>Role</dt><dd>{me.role}</dd>
            <dt>Tenant</dt><dd>{me.tenant.name}</dd>
          </dl>
          <p class="help">An admin changes roles on the Users page. A forgotten password: an admin invites you again.</p>
        </section>
        <section class="panel" aria-labelledby="sessions-heading">
          <h2 id="sessions-heading">Sessions</h2>
          <p>A login lasts until you log out or leave it unused for 12 hours. <em>Log out everywhere</em> ends every session of your account at once — other browsers and devices, and this one — for example after using a shared computer.</p>
          <ErrorMessage>{confirm ? null : error}</ErrorMessage>
          <div class="actions">
            <button type="button" class="button button-danger-outline" onClick={() => { setError(null); setConfirm(true); }}>Log out everywhere…</button>
          </div>
        </section>
        <section class="panel panel-wide" aria-labelledby="pw-heading">
          <h2 id="pw-heading">Change password</h2>
          <PasswordForm email={email} />
        </section>
      </div>
      <ConfirmDialog open={confirm} title="Log out everywhere?" confirmLabel="Log out everywhere" danger busy={busy} onConfirm={() => void everywhere()} onCancel={() => setConfirm(false)}>
        <p>Every session of <strong>{email}</strong> ends now, this one included; you log in again afterwards. API tokens are not affected.</p>
        <ErrorMessage>{error}</ErrorMessage>
      </ConfirmDialog>
    </>
  );
}
