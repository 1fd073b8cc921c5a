/** /providers: ACME accounts. */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { createProvider, deleteProvider, updateProvider } from '../../lifecycle/providers.js';
import { notFound } from '../../domain-error.js';
import { collection, providerResource } from '../envelope.js';
import { IdParams, ListQuery, ProviderCreate, ProviderPatch } from '../schemas.js';
import { filters } from '../app.js';

/** Routes of the provider resource. */
export const providerRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['providers'];
  app.get<{ Querystring: Static<typeof ListQuery> }>('/providers', { config: { access: 'read' }, schema: { tags, querystring: ListQuery } }, async (req) => {
    const f = filters(req.query, ['name', 'state']);
    const page = await ctx.providers.list(req.principal.tenantId, f, req.query.offset ?? 0, req.query.limit ?? 100);
    return collection('providers', 'providers', page, providerResource);
  });
  app.get<{ Params: Static<typeof IdParams> }>('/providers/:id', { config: { access: 'read' }, schema: { tags, params: IdParams } }, async (req) => {
    const row = await ctx.providers.get(req.principal.tenantId, req.params.id);
    if (!row) throw notFound('provider', req.params.id);
    return providerResource(row);
  });
  app.post<{ Body: Static<typeof ProviderCreate> }>('/providers', { config: { access: 'administer' }, schema: { tags, body: ProviderCreate } }, async (req, reply) => {
    const row = await createProvider(ctx, req.principal.tenantId, req.principal.name, req.body.properties);
    return reply.code(202).header('location', providerResource(row).href).send(providerResource(row));
  });
  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof ProviderPatch> }>('/providers/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams, body: ProviderPatch } }, async (req) => {
    return providerResource(await updateProvider(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body.properties));
  });
  app.delete<{ Params: Static<typeof IdParams> }>('/providers/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams } }, async (req, reply) => {
    await deleteProvider(ctx, req.principal.tenantId, req.principal.name, req.params.id);
    return reply.code(204).send();
  });
};
