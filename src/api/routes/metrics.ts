/** `/metrics`: the Prometheus exposition (docs/metrics.md). */
import type { FastifyPluginAsync } from 'fastify';
import type { Context } from '../../lifecycle/context.js';
import { authenticate, DEFAULT_TENANT } from '../auth.js';
import { problem } from '../problems.js';

/**
 * The scrape endpoint, outside `/api/v1`. It needs the same bearer token as the API, because
 * certificate names and ids are in the labels, unless `CERTKEEPER_METRICS_PUBLIC=1`.
 */
export const metricsRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (!ctx.config.metricsPublic) {
      const principal = await authenticate(ctx, req);
      if (!principal) {
        const p = problem('unauthorized', 'send Authorization: Bearer <token> with an API token (in Prometheus: authorization.credentials_file), or set CERTKEEPER_METRICS_PUBLIC=1', undefined, '/metrics');
        return reply.code(p.status).header('www-authenticate', 'Bearer realm="certkeeper"').type('application/problem+json').send(p);
      }
      // The metrics cover every tenant, so only the platform's own (default) tenant may read them.
      if (principal.tenantId !== DEFAULT_TENANT || principal.role === 'consumer') {
        const p = problem('forbidden', `the metrics cover every tenant: scrape with a token of the ${DEFAULT_TENANT} tenant (a viewer token is enough)`, undefined, '/metrics');
        return reply.code(p.status).type('application/problem+json').send(p);
      }
    }
    const text = await ctx.metrics.render();
    return reply.header('cache-control', 'no-store').type(ctx.metrics.contentType).send(text);
  });
};
