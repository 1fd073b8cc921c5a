/**
 * The browser session (docs/access.md): who is logged in (GET /api/v1/me), logging in
 * (POST /api/v1/sessions, which sets the HttpOnly cookie and returns the CSRF token) and out
 * (DELETE /api/v1/sessions/current), or out everywhere (DELETE /api/v1/sessions: every session of
 * the user). Any 401 from the API ends the session in the UI too.
 */
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, onUnauthorized, setCsrfToken } from './api';
import type { Me, Role } from './resources';

/** What the UI knows about the session. */
export interface Session {
  /** undefined while GET /me is in flight; null when logged out. */
  me: Me | null | undefined;
  /** Why the user was sent to the login page, if not by their own logout. */
  notice: string | null;
  login(email: string, password: string, tenant?: string): Promise<void>;
  logout(): Promise<void>;
  /** Ends every session of the user, this one included. */
  logoutEverywhere(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

interface LoginAnswer {
  properties: { email: string; role: Role; tenant: { id: string; name: string }; csrfToken: string };
}

/** Provides the session to the app. */
export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | null>(null);

  const loadMe = useCallback(async () => {
    try {
      const who = await api<Me>('GET', 'me');
      setCsrfToken(who.csrfToken ?? null);
      setMe(who);
    } catch (err) {
      setCsrfToken(null);
      setMe(null);
      if (!(err instanceof ApiError && err.status === 401)) setNotice(err instanceof Error ? err.message : String(err));
    }
  }, []);

  useEffect(() => {
    onUnauthorized(() => {
      setCsrfToken(null);
      setMe((was) => {
        if (was) setNotice('Your session has ended; log in again.');
        return null;
      });
    });
    void loadMe();
  }, [loadMe]);

  const login = useCallback(async (email: string, password: string, tenant?: string) => {
    const res = await api<LoginAnswer>('POST', 'sessions', { email, password, ...(tenant ? { tenant } : {}) });
    setCsrfToken(res.properties.csrfToken);
    setNotice(null);
    setMe({ name: `user:${res.properties.email}`, role: res.properties.role, tenant: res.properties.tenant, csrfToken: res.properties.csrfToken });
    // GET /me fills in what the login answer lacks (userId), with the same token.
    void loadMe();
  }, [loadMe]);

  const logout = useCallback(async () => {
    try {
      await api('DELETE', 'sessions/current');
    } catch (err) {
      // Already ended (401) is the outcome we wanted; anything else is worth saying.
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    }
    setCsrfToken(null);
    setNotice('You are logged out.');
    setMe(null);
  }, []);

  const logoutEverywhere = useCallback(async () => {
    await api('DELETE', 'sessions');
    setCsrfToken(null);
    setNotice('You are logged out everywhere: every session of your account has ended.');
    setMe(null);
  }, []);

  const value = useMemo(() => ({ me, notice, login, logout, logoutEverywhere }), [me, notice, login, logout, logoutEverywhere]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** The session; only inside {@link SessionProvider}. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The logged-in user (pages behind the login only). */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error('useMe without a session');
  return me;
}

/** `user:ann@example.com` → `ann@example.com`. */
export function displayName(me: Me): string {
  return me.name.replace(/^user:/, '');
}
