/**
 * Authentication: a bearer token (`CERTKEEPER_ADMIN_TOKEN`, a role token or a consumer token) or a
 * browser session cookie. Sessions must echo their CSRF token on every change. The principal's role
 * comes from the database on each request, so a demoted user or a revoked token loses access at once.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { hashToken, type TokenRow } from '../store/access.js';
import { DEFAULT_TENANT } from '../store/migration-access.js';
import type { Context } from '../lifecycle/context.js';
import { DomainError } from '../domain-error.js';
import type { Principal, Role, TokenRole, TokenScope } from './access/permissions.js';

export { DEFAULT_TENANT };

/** The session cookie's name. */
export const SESSION_COOKIE = 'certkeeper_session';
/** The header a session echoes its CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';
/** A session ends after this long without use. */
export const SESSION_IDLE_MS = 12 * 3600_000;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function equalSecrets(a: string, b: string): boolean {
  const x = Buffer.from(hashToken(a), 'hex');
  const y = Buffer.from(hashToken(b), 'hex');
  return timingSafeEqual(x, y);
}

/** Reads one cookie from a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

async function tokenPrincipal(ctx: Context, row: TokenRow): Promise<Principal> {
  const principal: Principal = { tenantId: row.tenant_id, name: `token:${row.name}`, role: row.role as TokenRole };
  if (row.role === 'consumer') {
    const scope = JSON.parse(row.scope_json ?? '{"autoCertificates":[],"includePrivateKey":false}') as TokenScope;
    const ids = scope.autoCertificates.length
      ? (await ctx.db.kysely.selectFrom('auto_certificates').select('id').where('tenant_id', '=', row.tenant_id).where('name', 'in', scope.autoCertificates).execute()).map((r) => r.id)
      : [];
    principal.scope = { ...scope, autoCertificateIds: ids };
  }
  return principal;
}

/**
 * The principal of a request, or undefined when it carries no valid credentials. Throws a
 * `forbidden` error when a session changes state without its CSRF token.
 */
export async function authenticate(ctx: Context, req: FastifyRequest): Promise<Principal | undefined> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return undefined;
    const token = m[1]!;
    if (ctx.config.adminToken && equalSecrets(token, ctx.config.adminToken)) return { tenantId: DEFAULT_TENANT, name: 'admin', role: 'admin' };
    const row = await ctx.apiTokens.authenticate(token);
    return row ? tokenPrincipal(ctx, row) : undefined;
  }
  const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (!cookie) return undefined;
  const session = await ctx.sessions.authenticate(cookie, SESSION_IDLE_MS);
  if (!session) return undefined;
  const user = await ctx.users.get(session.tenant_id, session.user_id);
  if (!user || !user.password_hash) return undefined;
  if (!SAFE_METHODS.has(req.method)) {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !equalSecrets(sent, session.csrf_token)) {
      throw new DomainError('forbidden', `a browser session must send its CSRF token in the ${CSRF_HEADER} header with every change (GET /api/v1/me returns it)`);
    }
  }
  return {
    tenantId: user.tenant_id, name: `user:${user.email}`, role: user.role as Role, userId: user.id,
    session: { id: session.id, userId: user.id, csrfToken: session.csrf_token },
  };
}
