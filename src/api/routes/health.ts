/** /healthz (the process answers) and /readyz (the database answers). */
import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import type { Context } from '../../lifecycle/context.js';

/**
 * How long /readyz waits for the database. Shorter than the pool's own timeouts: a probe must
 * answer within its deadline (Kubernetes defaults to 1 s per probe, and retries), and a database
 * that takes longer than this for `select 1` is not ready for traffic either.
 */
export const READINESS_TIMEOUT_MS = 2_000;

/** Liveness and readiness probes, without authentication. */
export const healthRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`select 1`.execute(ctx.db.kysely),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('the database did not answer in time')), READINESS_TIMEOUT_MS);
        }),
      ]);
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'database unavailable' });
    } finally {
      clearTimeout(timer);
    }
  });
};
