/** Login: e-mail and password → POST /api/v1/sessions. Wrong passwords, lockouts and tenant choice are shown. */
import { useState } from 'preact/hooks';
import { ApiError, errorText } from '../api';
import { ErrorMessage, Notice } from '../components/alert';
import { PageTitle } from '../components/page-title';
import { absolute } from '../time-format';
import { useSession } from '../session';

function loginError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'Wrong e-mail address or password.';
    if (err.status === 429) {
      const until = err.retryAfterSeconds ? ` Try again after ${absolute(new Date(Date.now() + err.retryAfterSeconds * 1000).toISOString())}.` : '';
      return `Too many failed logins: ${err.problem?.detail ?? 'the account is locked for now.'}${until}`;
    }
  }
  return errorText(err);
}

/** The login page. */
export function LoginPage() {
  const { login, notice } = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [tenant, setTenant] = useState('');
  const [needTenant, setNeedTenant] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email.trim(), password, needTenant ? tenant.trim() : undefined);
    } catch (err) {
      if (err instanceof ApiError && err.problem?.errors?.some((f) => f.field === 'tenant')) setNeedTenant(true);
      setError(loginError(err));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <div class="login-box">
        <p class="brand brand-large" aria-hidden="true"><span class="brand-mark" />certkeeper</p>
        <PageTitle title="Log in" />
        <Notice>{notice}</Notice>
        <ErrorMessage>{error}</ErrorMessage>
        <form onSubmit={submit} class="form" aria-describedby="login-help">
          <label for="login-email">E-mail address</label>
          <input id="login-email" name="email" type="email" autoComplete="username" required value={email}
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
          <label for="login-password">Password</label>
          <input id="login-password" name="password" type="password" autoComplete="current-password" required value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
          {needTenant ? (
            <>
              <label for="login-tenant">Tenant</label>
              <input id="login-tenant" name="tenant" required value={tenant} aria-describedby="login-tenant-help"
                onInput={(e) => setTenant((e.target as HTMLInputElement).value)} />
              <p id="login-tenant-help" class="help">This address and password belong to users of several tenants: name the one to log in to.</p>
            </>
          ) : null}
          <button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
        </form>
        <p id="login-help" class="help">An admin invites you (POST /api/v1/users); you set your password with the invitation. Five wrong passwords in a row lock the account for 15 minutes.</p>
      </div>
    </main>
  );
}
