/** /tokens: API tokens of the tenant. The token itself is shown once, in the answer to POST. */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { DomainError, notFound } from '../../domain-error.js';
import type { TokenRow } from '../../store/access.js';
import { iso } from '../../store/time.js';
import { mayGrant, type TokenScope } from '../access/permissions.js';
import { BASE, collection } from '../envelope.js';
import { IdParams, ListQuery } from '../schemas.js';
import { TokenCreate } from '../access-schemas.js';
import { filters } from '../app.js';

/** A token as the API shows it: never the token or its hash. */
export function tokenResource(row: TokenRow, now: Date) {
  const expired = !!row.expires_at && Date.parse(row.expires_at) <= now.getTime();
  return {
    id: row.id, type: 'token', href: `${BASE}/tokens/${row.id}`,
    metadata: {
      createdDate: row.created_at, createdBy: row.created_by, lastUsedDate: row.last_used_at,
      state: expired ? 'EXPIRED' : 'ACTIVE',
      message: expired ? `expired at ${row.expires_at}` : row.expires_at ? `valid until ${row.expires_at}` : 'valid until revoked',
    },
    properties: {
      name: row.name, role: row.role, expiresAt: row.expires_at,
      ...(row.scope_json ? { scope: JSON.parse(row.scope_json) as TokenScope } : {}),
    },
  };
}

/** Routes of the token resource (admins only). */
export const tokenRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['tokens'];
  const config = { access: 'administer' as const };
  app.get<{ Querystring: Static<typeof ListQuery> }>('/tokens', { config, schema: { tags, querystring: ListQuery } }, async (req) => {
    const page = await ctx.apiTokens.list(req.principal.tenantId, filters(req.query, ['name', 'role']), req.query.offset ?? 0, req.query.limit ?? 100);
    const now = ctx.clock();
    return collection('tokens', 'tokens', page, (row) => tokenResource(row, now));
  });
  app.get<{ Params: Static<typeof IdParams> }>('/tokens/:id', { config, schema: { tags, params: IdParams } }, async (req) => {
    const row = await ctx.apiTokens.find(req.principal.tenantId, req.params.id);
    if (!row) throw notFound('token', req.params.id);
    return tokenResource(row, ctx.clock());
  });
  app.post<{ Body: Static<typeof TokenCreate> }>('/tokens', { config, schema: { tags, body: TokenCreate } }, async (req, reply) => {
    const p = req.body.properties;
    const now = ctx.clock();
    if (!mayGrant(req.principal.role, p.role)) throw new DomainError('forbidden', `the role ${req.principal.role} may not create a ${p.role} token`);
    if ((p.role === 'consumer') !== !!p.scope) {
      throw new DomainError('validation_failed', p.scope ? 'scope applies to consumer tokens only' : 'a consumer token needs scope.autoCertificates',
        [{ field: 'properties.scope', message: p.scope ? 'remove it, or use role consumer' : 'required for role consumer' }]);
    }
    const expiresAt = p.expiresAt ? new Date(p.expiresAt) : undefined;
    if (expiresAt && expiresAt.getTime() <= now.getTime()) {
      throw new DomainError('validation_failed', 'expiresAt is in the past', [{ field: 'properties.expiresAt', value: p.expiresAt!, message: 'must be in the future' }]);
    }
    if ((await ctx.apiTokens.list(req.principal.tenantId, { name: p.name }, 0, 1)).total > 0) {
      throw new DomainError('conflict', `a token named "${p.name}" already exists; choose another name or revoke it first`, [{ field: 'properties.name', value: p.name, message: 'already in use' }]);
    }
    let scope: TokenScope | undefined;
    if (p.scope) {
      const names = [...new Set(p.scope.autoCertificates)];
      const found = await ctx.db.kysely.selectFrom('auto_certificates').select('name').where('tenant_id', '=', req.principal.tenantId).where('name', 'in', names).execute();
      const missing = names.filter((n) => !found.some((f) => f.name === n));
      if (missing.length) {
        throw new DomainError('validation_failed', `no auto certificate named ${missing.map((m) => `"${m}"`).join(', ')} in this tenant`,
          missing.map((m) => ({ field: 'properties.scope.autoCertificates', value: m, message: 'no such auto certificate' })));
      }
      scope = { autoCertificates: names, includePrivateKey: p.scope.includePrivateKey ?? false };
    }
    const { row, token } = await ctx.apiTokens.create({ tenantId: req.principal.tenantId, name: p.name, role: p.role, expiresAt, scope, createdBy: req.principal.name });
    await ctx.events.append({
      tenantId: row.tenant_id, type: 'token.created', subjectType: 'token', subjectId: row.id, actor: req.principal.name,
      message: `token ${row.name} (${row.role}) created${row.expires_at ? `, valid until ${row.expires_at}` : ''}`,
      data: { name: row.name, role: row.role, expiresAt: row.expires_at, ...(scope ? { scope } : {}) },
    });
    const res = tokenResource(row, now);
    reply.header('cache-control', 'no-store');
    return reply.code(201).header('location', res.href).send({ ...res, properties: { ...res.properties, token } });
  });
  app.delete<{ Params: Static<typeof IdParams> }>('/tokens/:id', { config, schema: { tags, params: IdParams } }, async (req, reply) => {
    const row = await ctx.apiTokens.find(req.principal.tenantId, req.params.id);
    if (!row) throw notFound('token', req.params.id);
    await ctx.apiTokens.delete(row.tenant_id, row.id);
    await ctx.events.append({ tenantId: row.tenant_id, type: 'token.revoked', subjectType: 'token', subjectId: row.id, actor: req.principal.name, message: `token ${row.name} revoked (${iso(ctx.clock())})`, data: { name: row.name, role: row.role } });
    return reply.code(204).send();
  });
};
