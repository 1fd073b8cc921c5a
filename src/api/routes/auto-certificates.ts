/** /auto-certificates: what certkeeper keeps alive. */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { createAutoCertificate, deleteAutoCertificate, listValidations, renewAutoCertificate, setPaused, updateAutoCertificate, verifyAutoCertificate } from '../../lifecycle/auto-certificates.js';
import { DomainError, notFound } from '../../domain-error.js';
import { inScope, mayExportKeys, scopeIds, type Principal } from '../access/permissions.js';
import { autoCertificateResource, collection } from '../envelope.js';
import { AutoCreate, AutoPatch, IdParams, ListQuery, NoQuery, RenewBody, VerifyBody } from '../schemas.js';
import { PullQuery } from '../deploy-schemas.js';
import { redeployAutoCertificate } from '../../deploy/orchestrator.js';
import { deploymentResource } from '../deploy-envelope.js';
import { pullCertificate } from '../../deploy/pull.js';
import type { AutoCertificateRow } from '../../store/repositories.js';
import { filters } from '../app.js';

/** Routes of the auto certificate resource. */
export const autoCertificateRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['auto-certificates'];
  const load = async (principal: Principal, id: string) => {
    const row = await ctx.autoCertificates.get(principal.tenantId, id);
    if (!row || !inScope(principal, row.id)) throw notFound('auto certificate', id);
    return row;
  };
  const show = async (row: AutoCertificateRow) => autoCertificateResource(row, await ctx.deploymentTargets.ofAutoCertificate(row.id));
  app.get<{ Querystring: Static<typeof ListQuery> }>('/auto-certificates', { config: { access: 'read', consumer: true }, schema: { tags, querystring: ListQuery } }, async (req) => {
    const f = filters(req.query, ['name', 'commonName', 'state', 'provider']);
    const page = await ctx.autoCertificates.list(req.principal.tenantId, f, req.query.offset ?? 0, req.query.limit ?? 100, scopeIds(req.principal));
    const targets = await ctx.deploymentTargets.ofAutoCertificates(page.items.map((r) => r.id));
    return collection('auto-certificates', 'auto-certificates', page, (row) => autoCertificateResource(row, targets.get(row.id) ?? []));
  });
  app.get<{ Params: Static<typeof IdParams> }>('/auto-certificates/:id', { config: { access: 'read', consumer: true }, schema: { tags, params: IdParams } }, async (req) =>
    show(await load(req.principal, req.params.id)));
  app.post<{ Body: Static<typeof AutoCreate> }>('/auto-certificates', { config: { access: 'operate' }, schema: { tags, body: AutoCreate } }, async (req, reply) => {
    const row = await createAutoCertificate(ctx, req.principal.tenantId, req.principal.name, req.body.properties);
    const res = await show(row);
    return reply.code(202).header('location', res.href).send(res);
  });
  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof AutoPatch> }>('/auto-certificates/:id', { config: { access: 'operate' }, schema: { tags, params: IdParams, body: AutoPatch } }, async (req) =>
    show(await updateAutoCertificate(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body.properties)));
  app.delete<{ Params: Static<typeof IdParams> }>('/auto-certificates/:id', { config: { access: 'operate' }, schema: { tags, params: IdParams } }, async (req, reply) => {
    await deleteAutoCertificate(ctx, req.principal.tenantId, req.principal.name, req.params.id);
    return reply.code(204).send();
  });
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof RenewBody> }>('/auto-certificates/:id/renew', { config: { access: 'operate' }, schema: { tags, params: IdParams, body: RenewBody } }, async (req, reply) => {
    await renewAutoCertificate(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body?.rekey ?? false);
    return reply.code(202).send(await show(await load(req.principal, req.params.id)));
  });
  app.post<{ Params: Static<typeof IdParams> }>('/auto-certificates/:id/pause', { config: { access: 'operate' }, schema: { tags, params: IdParams } }, async (req) =>
    show(await setPaused(ctx, req.principal.tenantId, req.principal.name, req.params.id, true)));
  app.post<{ Params: Static<typeof IdParams> }>('/auto-certificates/:id/resume', { config: { access: 'operate' }, schema: { tags, params: IdParams } }, async (req) =>
    show(await setPaused(ctx, req.principal.tenantId, req.principal.name, req.params.id, false)));
  app.get<{ Params: Static<typeof IdParams> }>('/auto-certificates/:id/validations', { config: { access: 'read' }, schema: { tags, params: IdParams } }, async (req) => {
    const items = await listValidations(ctx, req.principal.tenantId, req.params.id);
    return { id: 'validations', type: 'collection', href: `/api/v1/auto-certificates/${req.params.id}/validations`, items, offset: 0, limit: items.length, total: items.length };
  });
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof VerifyBody> }>('/auto-certificates/:id/verify', { config: { access: 'operate' }, schema: { tags, params: IdParams, body: VerifyBody } }, async (req, reply) => {
    const row = await verifyAutoCertificate(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body?.force ?? false);
    return reply.code(202).send(await show(row));
  });
  app.post<{ Params: Static<typeof IdParams> }>('/auto-certificates/:id/deploy', { config: { access: 'operate' }, schema: { tags, params: IdParams, querystring: NoQuery } }, async (req, reply) => {
    const rows = await redeployAutoCertificate(ctx, req.principal.tenantId, req.principal.name, req.params.id);
    const href = `/api/v1/deployments?filter.autoCertificate=${req.params.id}`;
    return reply.code(202).send({ id: 'deployments', type: 'collection', href, items: rows.map(deploymentResource), offset: 0, limit: rows.length, total: rows.length });
  });
  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof PullQuery> }>('/auto-certificates/:id/certificate', { config: { access: 'read', consumer: true }, schema: { tags, params: IdParams, querystring: PullQuery } }, async (req, reply) => {
    const row = await load(req.principal, req.params.id);
    const withKey = req.query.includePrivateKey === true;
    if (withKey && !mayExportKeys(req.principal)) {
      throw new DomainError('forbidden', req.principal.role === 'consumer'
        ? 'this consumer token may read the certificate only; create one with scope.includePrivateKey to pull the key'
        : 'a viewer may not pull private keys; pull without includePrivateKey, or use an operator or admin');
    }
    const pulled = await pullCertificate(ctx, req.principal.tenantId, req.principal.name, row, withKey, req.headers['if-none-match']);
    reply.header('etag', pulled.etag).header('cache-control', withKey ? 'private, no-cache' : 'private, max-age=60, must-revalidate')
      .header('last-modified', new Date(pulled.issuedAt).toUTCString()).header('x-certkeeper-certificate', pulled.certificateId);
    if (pulled.notModified) return reply.code(304).send();
    return reply.type('application/pem-certificate-chain').send(pulled.body);
  });
};
