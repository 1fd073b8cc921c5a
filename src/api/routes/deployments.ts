/** /deployments: one certificate version to one target, with its state and attempts. */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { retryDeployment } from '../../deploy/orchestrator.js';
import { notFound } from '../../domain-error.js';
import { deploymentResource } from '../deploy-envelope.js';
import { collection } from '../envelope.js';
import { IdParams, ListQuery, NoQuery } from '../schemas.js';
import { filters } from '../app.js';

/** Routes of the deployment resource. */
export const deploymentRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['deployments'];
  app.get<{ Querystring: Static<typeof ListQuery> }>('/deployments', { config: { access: 'read' }, schema: { tags, querystring: ListQuery } }, async (req) => {
    const page = await ctx.deployments.list(req.principal.tenantId, filters(req.query, ['state', 'target', 'certificate', 'autoCertificate']), req.query.offset ?? 0, req.query.limit ?? 100);
    return collection('deployments', 'deployments', page, deploymentResource);
  });
  app.get<{ Params: Static<typeof IdParams> }>('/deployments/:id', { config: { access: 'read' }, schema: { tags, params: IdParams, querystring: NoQuery } }, async (req) => {
    const row = await ctx.deployments.get(req.principal.tenantId, req.params.id);
    if (!row) throw notFound('deployment', req.params.id);
    return deploymentResource(row);
  });
  app.post<{ Params: Static<typeof IdParams> }>('/deployments/:id/retry', { config: { access: 'operate' }, schema: { tags, params: IdParams, querystring: NoQuery } }, async (req, reply) =>
    reply.code(202).send(deploymentResource(await retryDeployment(ctx, req.principal.tenantId, req.principal.name, req.params.id))));
};
