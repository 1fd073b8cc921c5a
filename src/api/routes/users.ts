/**
 * /users: the people of the tenant. An admin invites a user by e-mail address and role; the
 * answer carries a one-time invitation token (valid 7 days) that the user redeems at
 * `POST /users/activate` with a password of their own. Certkeeper never knows a password it did
 * not hash itself.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { DomainError, notFound } from '../../domain-error.js';
import { newInvitation, type UserRow } from '../../store/access.js';
import { iso } from '../../store/time.js';
import { hashPassword, passwordProblem } from '../access/passwords.js';
import { mayGrant } from '../access/permissions.js';
import { BASE, collection } from '../envelope.js';
import { IdParams, ListQuery } from '../schemas.js';
import { UserActivate, UserCreate, UserPatch } from '../access-schemas.js';
import { filters } from '../app.js';

/** A user as the API shows it: never the password hash or the invitation. */
export function userResource(row: UserRow, now: Date) {
  const locked = !!row.locked_until && Date.parse(row.locked_until) > now.getTime();
  const state = row.password_hash ? (locked ? 'LOCKED' : 'ACTIVE') : 'INVITED';
  return {
    id: row.id, type: 'user', href: `${BASE}/users/${row.id}`,
    metadata: {
      createdDate: row.created_at, createdBy: row.created_by, lastModifiedDate: row.updated_at, lastModifiedBy: row.updated_by,
      state,
      message: state === 'INVITED' ? `invited; the invitation is valid until ${row.invitation_expires_at}`
        : state === 'LOCKED' ? `locked after repeated failed logins until ${row.locked_until}` : 'can log in',
      lastLoginDate: row.last_login_at,
    },
    properties: { email: row.email, role: row.role },
  };
}

/** Routes of the user resource. */
export const userRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['users'];
  const config = { access: 'administer' as const };
  const load = async (tenantId: string, id: string) => {
    const row = await ctx.users.find(tenantId, id);
    if (!row) throw notFound('user', id);
    return row;
  };
  /** Refuses to leave the tenant without an admin who can log in or be re-invited. */
  const keepAnAdmin = async (row: UserRow, action: string) => {
    if (row.role === 'admin' && (await ctx.users.countAdmins(row.tenant_id)) <= 1) {
      throw new DomainError('operation_not_allowed', `cannot ${action} the last admin of the tenant; make another user admin first`);
    }
  };

  app.get<{ Querystring: Static<typeof ListQuery> }>('/users', { config, schema: { tags, querystring: ListQuery } }, async (req) => {
    const page = await ctx.users.list(req.principal.tenantId, filters(req.query, ['role', 'email']), req.query.offset ?? 0, req.query.limit ?? 100);
    const now = ctx.clock();
    return collection('users', 'users', page, (row) => userResource(row, now));
  });
  app.get<{ Params: Static<typeof IdParams> }>('/users/:id', { config, schema: { tags, params: IdParams } }, async (req) =>
    userResource(await load(req.principal.tenantId, req.params.id), ctx.clock()));

  app.post<{ Body: Static<typeof UserCreate> }>('/users', { config, schema: { tags, body: UserCreate } }, async (req, reply) => {
    const { role } = req.body.properties;
    const email = req.body.properties.email.toLowerCase();
    if (!mayGrant(req.principal.role, role)) throw new DomainError('forbidden', `the role ${req.principal.role} may not create an ${role}`);
    if (await ctx.users.find(req.principal.tenantId, email)) {
      throw new DomainError('conflict', `a user with the e-mail address ${email} already exists`, [{ field: 'properties.email', value: email, message: 'already in use' }]);
    }
    const now = ctx.clock();
    const invitation = newInvitation(now);
    const row: UserRow = {
      id: randomUUID(), tenant_id: req.principal.tenantId, email, role, password_hash: null,
      invitation_hash: invitation.hash, invitation_expires_at: invitation.expiresAt, failed_logins: 0, locked_until: null, last_login_at: null,
      created_at: iso(now), created_by: req.principal.name, updated_at: iso(now), updated_by: req.principal.name,
    };
    await ctx.users.insert(row);
    await ctx.events.append({ tenantId: row.tenant_id, type: 'user.invited', subjectType: 'user', subjectId: row.id, actor: req.principal.name, message: `${email} invited as ${role}`, data: { email, role } });
    const res = userResource(row, now);
    reply.header('cache-control', 'no-store');
    return reply.code(201).header('location', res.href).send({ ...res, properties: { ...res.properties, invitation: { token: invitation.token, expiresAt: invitation.expiresAt } } });
  });

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UserPatch> }>('/users/:id', { config, schema: { tags, params: IdParams, body: UserPatch } }, async (req, reply) => {
    const row = await load(req.principal.tenantId, req.params.id);
    const { role, reinvite } = req.body.properties;
    const now = ctx.clock();
    const set: Partial<UserRow> = { updated_at: iso(now), updated_by: req.principal.name };
    if (role && role !== row.role) {
      if (row.role === 'admin') await keepAnAdmin(row, 'demote');
      set.role = role;
    }
    let invitation: ReturnType<typeof newInvitation> | undefined;
    if (reinvite) {
      invitation = newInvitation(now);
      Object.assign(set, { password_hash: null, invitation_hash: invitation.hash, invitation_expires_at: invitation.expiresAt, failed_logins: 0, locked_until: null });
    }
    await ctx.users.update(row.tenant_id, row.id, set);
    // A changed role applies at once (it is read on every request); a reset ends every session.
    if (reinvite) await ctx.sessions.deleteForUser(row.id);
    await ctx.events.append({
      tenantId: row.tenant_id, type: 'user.updated', subjectType: 'user', subjectId: row.id, actor: req.principal.name,
      message: `${row.email}: ${[set.role ? `role ${row.role} → ${set.role}` : '', reinvite ? 'invited again (password reset)' : ''].filter(Boolean).join(', ') || 'no change'}`,
      data: { email: row.email, ...(set.role ? { role: set.role, previousRole: row.role } : {}), reinvite: !!reinvite },
    });
    const res = userResource({ ...row, ...set }, now);
    if (!invitation) return res;
    reply.header('cache-control', 'no-store');
    return { ...res, properties: { ...res.properties, invitation: { token: invitation.token, expiresAt: invitation.expiresAt } } };
  });

  app.delete<{ Params: Static<typeof IdParams> }>('/users/:id', { config, schema: { tags, params: IdParams } }, async (req, reply) => {
    const row = await load(req.principal.tenantId, req.params.id);
    await keepAnAdmin(row, 'delete');
    await ctx.users.delete(row.tenant_id, row.id);
    await ctx.sessions.deleteForUser(row.id);
    await ctx.events.append({ tenantId: row.tenant_id, type: 'user.deleted', subjectType: 'user', subjectId: row.id, actor: req.principal.name, message: `${row.email} removed`, data: { email: row.email, role: row.role } });
    return reply.code(204).send();
  });

  app.post<{ Body: Static<typeof UserActivate> }>('/users/activate', { config: { public: true }, schema: { tags, body: UserActivate, security: [] } }, async (req) => {
    const now = ctx.clock();
    const row = await ctx.users.byInvitation(req.body.invitation);
    if (!row || !row.invitation_expires_at || Date.parse(row.invitation_expires_at) <= now.getTime()) {
      throw new DomainError('not_found', 'the invitation is unknown, used or expired; ask an admin of your tenant for a new one');
    }
    const why = passwordProblem(req.body.password, row.email);
    if (why) throw new DomainError('validation_failed', why, [{ field: 'password', message: why }]);
    await ctx.users.update(row.tenant_id, row.id, {
      password_hash: await hashPassword(req.body.password), invitation_hash: null, invitation_expires_at: null,
      failed_logins: 0, locked_until: null, updated_at: iso(now), updated_by: `user:${row.email}`,
    });
    await ctx.events.append({ tenantId: row.tenant_id, type: 'user.activated', subjectType: 'user', subjectId: row.id, actor: `user:${row.email}`, message: `${row.email} set a password` });
    return userResource({ ...row, password_hash: 'set', invitation_hash: null, invitation_expires_at: null }, now);
  });
};
