/** /agents: deployment agents. The enrolment token is shown once, in the answer that made it. */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { createAgent, deleteAgent, reissueEnrolment, revokeAgent, updateAgent } from '../../deploy/agents.js';
import { notFound } from '../../domain-error.js';
import { agentResource } from '../deploy-envelope.js';
import { collection } from '../envelope.js';
import { IdParams, ListQuery, NoQuery } from '../schemas.js';
import { AgentCreate, AgentPatch } from '../deploy-schemas.js';
import { filters } from '../app.js';

/** Routes of the agent resource. */
export const agentRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['agents'];
  app.get<{ Querystring: Static<typeof ListQuery> }>('/agents', { config: { access: 'read' }, schema: { tags, querystring: ListQuery } }, async (req) => {
    const page = await ctx.agents.list(req.principal.tenantId, filters(req.query, ['name']), req.query.offset ?? 0, req.query.limit ?? 100);
    const now = ctx.clock();
    return collection('agents', 'agents', page, (row) => agentResource(row, now));
  });
  app.get<{ Params: Static<typeof IdParams> }>('/agents/:id', { config: { access: 'read' }, schema: { tags, params: IdParams, querystring: NoQuery } }, async (req) => {
    const row = await ctx.agents.find(req.principal.tenantId, req.params.id);
    if (!row) throw notFound('agent', req.params.id);
    return agentResource(row, ctx.clock());
  });
  app.post<{ Body: Static<typeof AgentCreate> }>('/agents', { config: { access: 'administer' }, schema: { tags, body: AgentCreate, querystring: NoQuery } }, async (req, reply) => {
    const { row, enrolmentToken } = await createAgent(ctx, req.principal.tenantId, req.principal.name, req.body.properties);
    const res = agentResource(row, ctx.clock(), enrolmentToken);
    return reply.code(201).header('location', res.href).header('cache-control', 'no-store').send(res);
  });
  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof AgentPatch> }>('/agents/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams, body: AgentPatch, querystring: NoQuery } }, async (req) =>
    agentResource(await updateAgent(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body.properties), ctx.clock()));
  app.post<{ Params: Static<typeof IdParams> }>('/agents/:id/enrolment-token', { config: { access: 'administer' }, schema: { tags, params: IdParams, querystring: NoQuery } }, async (req, reply) => {
    const { row, enrolmentToken } = await reissueEnrolment(ctx, req.principal.tenantId, req.principal.name, req.params.id);
    return reply.header('cache-control', 'no-store').send(agentResource(row, ctx.clock(), enrolmentToken));
  });
  app.post<{ Params: Static<typeof IdParams> }>('/agents/:id/revoke', { config: { access: 'administer' }, schema: { tags, params: IdParams, querystring: NoQuery } }, async (req) =>
    agentResource(await revokeAgent(ctx, req.principal.tenantId, req.principal.name, req.params.id), ctx.clock()));
  app.delete<{ Params: Static<typeof IdParams> }>('/agents/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams, querystring: NoQuery } }, async (req, reply) => {
    await deleteAgent(ctx, req.principal.tenantId, req.principal.name, req.params.id);
    return reply.code(204).send();
  });
};
