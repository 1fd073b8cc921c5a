/** /healthz (the process answers) and /readyz (the database answers). */
import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import type { Context } from '../../lifecycle/context.js';

/** Liveness and readiness probes, without authentication. */
export const healthRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await sql`select 1`.execute(ctx.db.kysely);
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'database unavailable' });
    }
  });
};
