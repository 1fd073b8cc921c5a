/** /dns-zones: where certkeeper may write dns-01 records. */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { createDnsZone, deleteDnsZone, recheckDnsZone, updateDnsZone } from '../../lifecycle/dns-zones.js';
import { notFound } from '../../domain-error.js';
import { collection, dnsZoneResource } from '../envelope.js';
import { IdParams, ListQuery, ZoneCreate, ZonePatch } from '../schemas.js';
import { filters } from '../app.js';

/** Routes of the DNS zone resource. */
export const dnsZoneRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['dns-zones'];
  app.get<{ Querystring: Static<typeof ListQuery> }>('/dns-zones', { config: { access: 'read' }, schema: { tags, querystring: ListQuery } }, async (req) => {
    const f = filters(req.query, ['zoneName', 'provider', 'state']);
    const page = await ctx.dnsZones.list(req.principal.tenantId, f, req.query.offset ?? 0, req.query.limit ?? 100);
    return collection('dns-zones', 'dns-zones', page, dnsZoneResource);
  });
  app.get<{ Params: Static<typeof IdParams> }>('/dns-zones/:id', { config: { access: 'read' }, schema: { tags, params: IdParams } }, async (req) => {
    const row = await ctx.dnsZones.get(req.principal.tenantId, req.params.id);
    if (!row) throw notFound('DNS zone', req.params.id);
    return dnsZoneResource(row);
  });
  app.post<{ Body: Static<typeof ZoneCreate> }>('/dns-zones', { config: { access: 'administer' }, schema: { tags, body: ZoneCreate } }, async (req, reply) => {
    const res = dnsZoneResource(await createDnsZone(ctx, req.principal.tenantId, req.principal.name, req.body.properties));
    return reply.code(201).header('location', res.href).send(res);
  });
  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof ZonePatch> }>('/dns-zones/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams, body: ZonePatch } }, async (req) =>
    dnsZoneResource(await updateDnsZone(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body.properties)));
  app.post<{ Params: Static<typeof IdParams> }>('/dns-zones/:id/check', { config: { access: 'administer' }, schema: { tags, params: IdParams } }, async (req) =>
    dnsZoneResource(await recheckDnsZone(ctx, req.principal.tenantId, req.params.id)));
  app.delete<{ Params: Static<typeof IdParams> }>('/dns-zones/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams } }, async (req, reply) => {
    await deleteDnsZone(ctx, req.principal.tenantId, req.principal.name, req.params.id);
    return reply.code(204).send();
  });
};
