/** /events: the audit log (read-only). */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { ListQuery } from '../schemas.js';
import { filters } from '../app.js';

/** Routes of the event log. */
export const eventRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  app.get<{ Querystring: Static<typeof ListQuery> }>('/events', { config: { access: 'read' }, schema: { tags: ['events'], querystring: ListQuery } }, async (req) => {
    const f = filters(req.query, ['type', 'subjectId', 'subjectType', 'actor']);
    const page = await ctx.events.list(req.principal.tenantId, f, req.query.offset ?? 0, req.query.limit ?? 100);
    return {
      id: 'events', type: 'collection', href: '/api/v1/events', offset: page.offset, limit: page.limit, total: page.total,
      items: page.items.map((e) => ({
        id: String(e.id), type: 'event', href: `/api/v1/events/${e.id}`,
        metadata: { createdDate: e.created_at, createdBy: e.actor },
        properties: { type: e.type, subjectType: e.subject_type, subjectId: e.subject_id, actor: e.actor, source: e.source, message: e.message, data: JSON.parse(e.data_json) },
      })),
    };
  });
};
