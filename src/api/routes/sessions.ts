/**
 * /sessions and /me: browser login for the web UI. A login opens a new server-side session (a
 * cookie presented before login is discarded, so a planted session id is worthless), answers with
 * the CSRF token the UI echoes on every change, and is rate-limited per address and locked per
 * account after repeated failures.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { DomainError } from '../../domain-error.js';
import { hashToken } from '../../store/access.js';
import { iso } from '../../store/time.js';
import { dummyHash, hashPassword, passwordProblem, verifyPassword } from '../access/passwords.js';
import { LoginLimiter } from '../access/login-limiter.js';
import { readCookie, SESSION_COOKIE, SESSION_IDLE_MS } from '../auth.js';
import { Login, PasswordChange } from '../access-schemas.js';

/** Failed logins in a row that lock an account. */
export const LOCK_AFTER_FAILURES = 5;
/** How long a locked account waits. */
export const LOCK_MS = 15 * 60_000;

function cookie(req: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

function clearCookie(req: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', cookie(req, '', 0));
}

function sessionOnly(req: FastifyRequest): { id: string; userId: string } {
  if (!req.principal.session) throw new DomainError('operation_not_allowed', 'this applies to browser sessions; API tokens are revoked at DELETE /api/v1/tokens/{id}');
  return req.principal.session;
}

/** Routes of sessions and of the caller's own account. */
export const sessionRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['sessions'];
  const limiter = new LoginLimiter();

  app.post<{ Body: Static<typeof Login> }>('/sessions', { config: { public: true }, schema: { tags, body: Login, security: [] } }, async (req, reply) => {
    const now = ctx.clock();
    const address = req.ip;
    const wait = limiter.blockedUntil(address, now.getTime());
    if (wait) throw new DomainError('too_many_requests', `too many failed logins from ${address}; try again after ${iso(wait)}`, [], wait);
    // Whatever session the browser brought is ended: a login always starts a fresh one.
    const previous = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (previous) await ctx.db.kysely.deleteFrom('sessions').where('token_hash', '=', hashToken(previous)).execute();

    // An address is unique per tenant, so it may name users of several tenants: the password (and,
    // when it fits more than one, the tenant's name) picks the one.
    let candidates = (await ctx.users.byEmail(req.body.email)).filter((u) => u.password_hash);
    if (req.body.tenant !== undefined) {
      const tenant = await ctx.tenants.find(req.body.tenant);
      candidates = candidates.filter((u) => u.tenant_id === tenant?.id);
    }
    const isLocked = (u: { locked_until: string | null }) => !!u.locked_until && Date.parse(u.locked_until) > now.getTime();
    const open = candidates.filter((u) => !isLocked(u));
    if (candidates.length && !open.length) {
      const until = new Date(Math.min(...candidates.map((u) => Date.parse(u.locked_until!))));
      throw new DomainError('too_many_requests', `the account is locked after ${LOCK_AFTER_FAILURES} failed logins until ${iso(until)}; wait, or ask an admin to invite you again`, [], until);
    }
    const matches = [];
    for (const u of open) if (await verifyPassword(req.body.password, u.password_hash!)) matches.push(u);
    if (!open.length) await verifyPassword(req.body.password, await dummyHash());
    if (!matches.length) {
      limiter.fail(address, now.getTime());
      for (const u of open) {
        await ctx.users.recordFailedLogin(u.id, LOCK_AFTER_FAILURES, new Date(now.getTime() + LOCK_MS));
        await ctx.events.append({ tenantId: u.tenant_id, type: 'user.login_failed', subjectType: 'user', subjectId: u.id, actor: `user:${u.email}`, message: `failed login for ${u.email} from ${address}` });
        const after = await ctx.users.get(u.tenant_id, u.id);
        if (after && isLocked(after)) {
          await ctx.events.append({ tenantId: u.tenant_id, type: 'user.locked', subjectType: 'user', subjectId: u.id, actor: 'system', message: `${u.email} locked until ${after.locked_until} after ${LOCK_AFTER_FAILURES} failed logins` });
        }
      }
      throw new DomainError('unauthorized', 'wrong e-mail address or password');
    }
    if (matches.length > 1) {
      throw new DomainError('validation_failed', 'this address and password fit users of several tenants: add "tenant" with the name of the one to log in to', [{ field: 'tenant', message: 'required here' }]);
    }
    const user = matches[0]!;
    limiter.succeed(address);
    await ctx.users.update(user.tenant_id, user.id, { failed_logins: 0, locked_until: null, last_login_at: iso(now) });
    const { row, token } = await ctx.sessions.create({ tenantId: user.tenant_id, userId: user.id, address, userAgent: String(req.headers['user-agent'] ?? ''), ttlMs: SESSION_IDLE_MS });
    await ctx.events.append({ tenantId: user.tenant_id, type: 'user.logged_in', subjectType: 'user', subjectId: user.id, actor: `user:${user.email}`, message: `${user.email} logged in from ${address}` });
    const tenant = await ctx.tenants.get(user.tenant_id);
    reply.header('set-cookie', cookie(req, token, SESSION_IDLE_MS / 1000)).header('cache-control', 'no-store');
    return reply.code(201).send({
      id: row.id, type: 'session',
      properties: { email: user.email, role: user.role, tenant: { id: user.tenant_id, name: tenant?.name ?? user.tenant_id }, csrfToken: row.csrf_token, expiresAt: row.expires_at },
    });
  });

  app.delete('/sessions/current', { config: { access: 'read' }, schema: { tags } }, async (req, reply) => {
    const session = sessionOnly(req);
    await ctx.sessions.delete(session.id);
    await ctx.events.append({ tenantId: req.principal.tenantId, type: 'user.logged_out', subjectType: 'user', subjectId: session.userId, actor: req.principal.name, message: `${req.principal.name} logged out` });
    clearCookie(req, reply);
    return reply.code(204).send();
  });

  app.delete('/sessions', { config: { access: 'read' }, schema: { tags, description: 'log out everywhere: ends every session of the user' } }, async (req, reply) => {
    const session = sessionOnly(req);
    const n = await ctx.sessions.deleteForUser(session.userId);
    await ctx.events.append({ tenantId: req.principal.tenantId, type: 'user.logged_out', subjectType: 'user', subjectId: session.userId, actor: req.principal.name, message: `${req.principal.name} logged out everywhere (${n} session(s))` });
    clearCookie(req, reply);
    return reply.code(204).send();
  });

  app.get('/me', { config: { access: 'read', consumer: true }, schema: { tags } }, async (req, reply) => {
    const p = req.principal;
    const tenant = await ctx.tenants.get(p.tenantId);
    reply.header('cache-control', 'no-store');
    return {
      name: p.name, role: p.role, tenant: { id: p.tenantId, name: tenant?.name ?? p.tenantId },
      ...(p.userId ? { userId: p.userId } : {}),
      ...(p.session ? { csrfToken: p.session.csrfToken } : {}),
      ...(p.scope ? { scope: { autoCertificates: p.scope.autoCertificates, includePrivateKey: p.scope.includePrivateKey } } : {}),
    };
  });

  app.post<{ Body: Static<typeof PasswordChange> }>('/me/password', { config: { access: 'read' }, schema: { tags, body: PasswordChange } }, async (req, reply) => {
    const session = sessionOnly(req);
    const user = await ctx.users.get(req.principal.tenantId, session.userId);
    if (!user?.password_hash || !(await verifyPassword(req.body.currentPassword, user.password_hash))) {
      throw new DomainError('validation_failed', 'the current password is wrong', [{ field: 'currentPassword', message: 'wrong password' }]);
    }
    const why = passwordProblem(req.body.newPassword, user.email);
    if (why) throw new DomainError('validation_failed', why, [{ field: 'newPassword', message: why }]);
    const now = ctx.clock();
    await ctx.users.update(user.tenant_id, user.id, { password_hash: await hashPassword(req.body.newPassword), updated_at: iso(now), updated_by: req.principal.name });
    // Every other session ends: whoever knew the old password is out.
    await ctx.db.kysely.deleteFrom('sessions').where('user_id', '=', user.id).where('id', '!=', session.id).execute();
    await ctx.events.append({ tenantId: user.tenant_id, type: 'user.password_changed', subjectType: 'user', subjectId: user.id, actor: req.principal.name, message: `${user.email} changed their password; other sessions ended` });
    return reply.code(204).send();
  });
};
