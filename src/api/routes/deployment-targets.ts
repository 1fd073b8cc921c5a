/** /deployment-targets: where certificates are deployed. Credentials are write-only. */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { createTarget, deleteTarget, targetCredentials, updateTarget } from '../../deploy/deployment-targets.js';
import type { DeploymentTargetRow } from '../../store/deployments.js';
import { notFound } from '../../domain-error.js';
import { deploymentTargetResource } from '../deploy-envelope.js';
import { collection } from '../envelope.js';
import { IdParams, ListQuery, NoQuery } from '../schemas.js';
import { TargetCreate, TargetPatch } from '../deploy-schemas.js';
import { filters } from '../app.js';

/** Routes of the deployment target resource. */
export const deploymentTargetRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['deployment-targets'];
  const show = (row: DeploymentTargetRow) => deploymentTargetResource(row, Object.keys(targetCredentials(ctx, row)).sort());
  app.get<{ Querystring: Static<typeof ListQuery> }>('/deployment-targets', { config: { access: 'read' }, schema: { tags, querystring: ListQuery } }, async (req) => {
    const page = await ctx.deploymentTargets.list(req.principal.tenantId, filters(req.query, ['name', 'type', 'agent']), req.query.offset ?? 0, req.query.limit ?? 100);
    return collection('deployment-targets', 'deployment-targets', page, show);
  });
  app.get<{ Params: Static<typeof IdParams> }>('/deployment-targets/:id', { config: { access: 'read' }, schema: { tags, params: IdParams, querystring: NoQuery } }, async (req) => {
    const row = await ctx.deploymentTargets.find(req.principal.tenantId, req.params.id);
    if (!row) throw notFound('deployment target', req.params.id);
    return show(row);
  });
  app.post<{ Body: Static<typeof TargetCreate> }>('/deployment-targets', { config: { access: 'administer' }, schema: { tags, body: TargetCreate, querystring: NoQuery } }, async (req, reply) => {
    const res = show(await createTarget(ctx, req.principal.tenantId, req.principal.name, req.body.properties));
    return reply.code(201).header('location', res.href).send(res);
  });
  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof TargetPatch> }>('/deployment-targets/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams, body: TargetPatch, querystring: NoQuery } }, async (req) =>
    show(await updateTarget(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body.properties)));
  app.delete<{ Params: Static<typeof IdParams> }>('/deployment-targets/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams, querystring: NoQuery } }, async (req, reply) => {
    await deleteTarget(ctx, req.principal.tenantId, req.principal.name, req.params.id);
    return reply.code(204).send();
  });
};
