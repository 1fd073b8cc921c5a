/**
 * The one way the UI talks to certkeeper: same-origin fetches to /api/v1 with the session cookie,
 * the session's CSRF token on every state-changing call (docs/access.md), and problem+json
 * (RFC 9457) answers turned into an {@link ApiError} whose `detail` says what to fix.
 */

/** Base path of the REST API. */
export const API = '/api/v1';

/** One field named by a problem's `errors[]`. */
export interface FieldError {
  field: string;
  value?: string;
  message: string;
}

/** An RFC 9457 problem as certkeeper sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code?: string;
  errors?: FieldError[];
}

/** A failed call: the HTTP status and, where the server sent one, its problem. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem | null, readonly retryAfterSeconds: number | null = null) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;
let unauthorized: () => void = () => {};

/** Sets the CSRF token sent with every non-GET call (from POST /sessions or GET /me). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** What to do when the session has ended (401): the session layer sends the user to the login page. */
export function onUnauthorized(handler: () => void): void {
  unauthorized = handler;
}

const SAFE = new Set(['GET', 'HEAD']);

async function request(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (!SAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path.startsWith('/') ? path : `${API}/${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.ok) return res;
  let problem: Problem | null = null;
  try {
    const text = await res.text();
    problem = text ? (JSON.parse(text) as Problem) : null;
  } catch {
    problem = null;
  }
  const retryAfter = Number(res.headers.get('retry-after'));
  const error = new ApiError(res.status, problem, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
  // The login call itself answers 401 for a wrong password: that is the form's business.
  if (res.status === 401 && !(method === 'POST' && path === 'sessions')) unauthorized();
  throw error;
}

/**
 * Calls the API and returns the parsed JSON (undefined for 204). `path` is relative to /api/v1
 * (`certificates/123`) or absolute (`/api/v1/…`).
 */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Calls the API for a binary answer (a PKCS#12 export). */
export async function apiBlob(method: string, path: string, body: unknown, accept: string): Promise<Blob> {
  return (await request(method, path, body, accept)).blob();
}

/** A query string from filter values, skipping empty ones: `{ 'filter.state': 'FAILED', limit: 1 }`. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The message to show for any error thrown by a call. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.problem?.detail ?? err.message;
  if (err instanceof TypeError) return 'certkeeper cannot be reached; check that the server is running.';
  return err instanceof Error ? err.message : String(err);
}
