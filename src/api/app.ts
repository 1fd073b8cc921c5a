/** The Fastify application: problem+json errors, bearer auth, routes per resource, OpenAPI. */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { Principal } from '../store/api-tokens.js';
import type { Context } from '../lifecycle/context.js';
import { DomainError } from '../domain-error.js';
import { problem, type ProblemCode, type ProblemFieldError } from './problems.js';
import { authenticate } from './auth.js';
import { BASE } from './envelope.js';
import { providerRoutes } from './routes/providers.js';
import { autoCertificateRoutes } from './routes/auto-certificates.js';
import { certificateRoutes } from './routes/certificates.js';
import { eventRoutes } from './routes/events.js';
import { dnsZoneRoutes } from './routes/dns-zones.js';
import { notificationChannelRoutes } from './routes/notification-channels.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

const DOMAIN_TO_PROBLEM: Record<DomainError['code'], ProblemCode> = {
  validation_failed: 'validation_failed',
  invalid_names: 'invalid_names',
  names_not_covered: 'names_not_covered',
  records_not_visible: 'records_not_visible',
  not_found: 'not_found',
  conflict: 'conflict',
  provider_not_available: 'provider_not_available',
  invalid_certificate_input: 'invalid_certificate_input',
  operation_not_allowed: 'operation_not_allowed',
  acme_error: 'acme_error',
  private_address_refused: 'private_address_refused',
};

/** `/properties/subjectAlternativeNames/3` → `properties.subjectAlternativeNames[3]`. */
function fieldOf(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (missing) parts.push(missing);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || 'body';
}

/** Builds the app over a context. */
export async function buildApp(ctx: Context): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger as unknown as FastifyBaseLogger,
    bodyLimit: 2 * 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true, useDefaults: true } },
    routerOptions: { ignoreTrailingSlash: true },
  });

  // JSON only: a text/plain body is refused with 415 instead of failing schema validation.
  app.removeContentTypeParser('text/plain');
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'certkeeper', version: '1', description: 'Self-hosted certificate lifecycle manager. Errors are application/problem+json (RFC 9457); see docs/problems.md.' },
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  const send = (reply: any, code: ProblemCode, detail: string, errors?: ProblemFieldError[], retryAfter?: Date) => {
    const p = problem(code, detail, errors, reply.request.url.split('?')[0]);
    if (retryAfter) reply.header('retry-after', Math.max(1, Math.ceil((retryAfter.getTime() - Date.now()) / 1000)));
    return reply.code(p.status).type('application/problem+json').send(p);
  };

  app.setErrorHandler((err: any, req, reply) => {
    if (err instanceof DomainError) return send(reply, DOMAIN_TO_PROBLEM[err.code], err.message, err.errors, err.retryAfter);
    if (err.validation) {
      const errors = (err.validation as any[]).map((v) => ({
        field: `${err.validationContext === 'body' ? '' : `${err.validationContext}.`}${fieldOf(v.instancePath ?? '', v.params?.missingProperty ?? v.params?.additionalProperty)}`.replace(/^\./, ''),
        message: v.keyword === 'additionalProperties' ? 'unknown field: remove it' : v.keyword === 'required' ? 'required' : v.message ?? 'invalid',
      }));
      return send(reply, 'validation_failed', `the request has ${errors.length} invalid field(s): ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, 'payload_too_large', 'the request body exceeds 2 MiB');
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(reply, 'unsupported_media_type', 'send JSON with Content-Type: application/json');
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return send(reply, 'malformed_request', 'the body is empty; send a JSON object');
    if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return send(reply, 'malformed_request', `the body is not valid JSON: ${err.message}`);
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return send(reply, 'validation_failed', err.message);
    req.log.error({ err }, 'unhandled error');
    return send(reply, 'internal_error', 'an internal error occurred; the server log has the details');
  });
  app.setNotFoundHandler((req, reply) => send(reply, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`));

  await app.register(healthRoutes(ctx));
  await app.register(metricsRoutes(ctx));
  await app.register(async (api) => {
    api.decorateRequest('principal', null as unknown as Principal);
    api.addHook('onRequest', async (req: FastifyRequest, reply) => {
      if (req.url === `${BASE}/openapi.json`) return;
      const principal = await authenticate(ctx, req.headers.authorization);
      if (!principal) {
        reply.header('www-authenticate', 'Bearer realm="certkeeper"');
        return send(reply, 'unauthorized', 'send Authorization: Bearer <token> with an API token (CERTKEEPER_ADMIN_TOKEN, or the one printed at first start)');
      }
      req.principal = principal;
    });
    api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    await api.register(providerRoutes(ctx));
    await api.register(autoCertificateRoutes(ctx));
    await api.register(certificateRoutes(ctx));
    await api.register(dnsZoneRoutes(ctx));
    await api.register(notificationChannelRoutes(ctx));
    await api.register(eventRoutes(ctx));
  }, { prefix: BASE });
  return app;
}

/** Reads `filter.<field>` query keys. */
export function filters(query: Record<string, unknown>, allowed: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (!k.startsWith('filter.')) continue;
    const field = k.slice(7);
    if (!allowed.includes(field)) {
      throw new DomainError('validation_failed', `cannot filter by "${field}"; filterable fields: ${allowed.join(', ')}`, [{ field: k, message: 'unknown filter' }]);
    }
    out[field] = String(v);
  }
  return out;
}
