/** The Fastify application: problem+json errors, bearer auth, routes per resource, OpenAPI. */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { allowed, type Access, type Principal } from './access/permissions.js';
import { AsyncResource } from 'node:async_hooks';
import { runInRequest } from '../request-context.js';
import type { Context } from '../lifecycle/context.js';
import { DomainError } from '../domain-error.js';
import { isDatabaseUnavailable } from '../store/database.js';
import { problem, type ProblemCode, type ProblemFieldError } from './problems.js';
import { authenticate } from './auth.js';
import { BASE } from './envelope.js';
import { NoQuery } from './schemas.js';
import { addSecurityHeaders, applySecurityHeaders } from './security-headers.js';
import { providerRoutes } from './routes/providers.js';
import { autoCertificateRoutes } from './routes/auto-certificates.js';
import { certificateRoutes } from './routes/certificates.js';
import { eventRoutes } from './routes/events.js';
import { dnsZoneRoutes } from './routes/dns-zones.js';
import { notificationChannelRoutes } from './routes/notification-channels.js';
import { healthRoutes } from './routes/health.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';
import { sessionRoutes } from './routes/sessions.js';
import { metricsRoutes } from './routes/metrics.js';
import { uiRoutes } from './routes/ui.js';
import { agentRoutes } from './routes/agents.js';
import { deploymentTargetRoutes } from './routes/deployment-targets.js';
import { deploymentRoutes } from './routes/deployments.js';
import { agentProtocolRoutes } from './routes/agent-protocol.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** What the route needs (every route under /api/v1 declares it, or `public`). */
    access?: Access;
    /** Consumer tokens may call it (the handler then checks the object against the scope). */
    consumer?: boolean;
    /** No authentication: login, accepting an invitation, the OpenAPI document. */
    public?: boolean;
  }
}

const requestScope = Symbol('requestScope');

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
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  too_many_requests: 'too_many_requests',
};

const NEEDED_ROLE: Record<Access, string> = { read: 'viewer, operator or admin', operate: 'operator or admin', administer: 'admin' };

/** `/properties/subjectAlternativeNames/3` → `properties.subjectAlternativeNames[3]`. */
function fieldOf(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (missing) parts.push(missing);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || 'body';
}

/** The largest request body accepted (a PKCS#12 file in base64 fits easily). */
const BODY_LIMIT = 2 * 1024 * 1024;

/** Builds the app over a context. */
export async function buildApp(ctx: Context): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger as unknown as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true, useDefaults: true, allowUnionTypes: true } },
    // A path parameter is at most as long as the longest id or name (IdParams: 200).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // A malformed percent-escape or an over-long path parameter is a problem too, not Fastify's own JSON.
    // Fastify runs no onSend hook for these answers: the security headers are added here.
    frameworkErrors: (err, req, reply) => {
      applySecurityHeaders(req, reply);
      return send(reply, 'validation_failed', err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'a path segment is longer than 200 characters; no id or name is that long'
        : 'the path is not valid: it holds a malformed percent-escape; encode "%" as %25');
    },
  });

  // Every answer, errors and not-found included, carries the security headers.
  app.addHook('onSend', addSecurityHeaders);
  // Every /api/v1 route without a query schema refuses query parameters, as bodies refuse unknown fields.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(`${BASE}/`) && !route.schema?.querystring) route.schema = { ...route.schema, querystring: NoQuery };
  });

  // JSON only: a text/plain body is refused with 415 instead of failing schema validation.
  app.removeContentTypeParser('text/plain');
  // RFC 8259 §8.1: JSON is UTF-8. A body labelled with another charset is refused, not misread.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(Object.assign(new Error(`charset ${charset} is not supported`), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }), undefined);
      return;
    }
    parseJson(req, body as string, done);
  });
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
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, 'payload_too_large', `the request body exceeds ${BODY_LIMIT / 1024 / 1024} MiB`);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(reply, 'unsupported_media_type', 'send JSON (UTF-8) with Content-Type: application/json');
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return send(reply, 'malformed_request', 'the body is empty; send a JSON object');
    if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return send(reply, 'malformed_request', `the body is not valid JSON: ${err.message}`);
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return send(reply, 'validation_failed', err.message);
    if (isDatabaseUnavailable(err)) {
      req.log.warn({ err: err.message }, 'database unavailable');
      return send(reply, 'service_unavailable', 'the database cannot be reached right now; try again shortly (after a change, read the resource first: the change may or may not have been made)', undefined, new Date(Date.now() + 5_000));
    }
    req.log.error({ err }, 'unhandled error');
    return send(reply, 'internal_error', 'an internal error occurred; the server log has the details');
  });
  app.setNotFoundHandler((req, reply) => send(reply, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`));

  // Every request runs in its own context, so the events it appends record its source address.
  // Fastify parses the body outside that context; preValidation re-enters it (the pattern of
  // @fastify/request-context).
  app.addHook('onRequest', (req, _reply, done) => {
    runInRequest({ address: req.ip }, () => {
      const scope = new AsyncResource('certkeeper-request');
      (req as any)[requestScope] = scope;
      scope.runInAsyncScope(done, req.raw);
    });
  });
  app.addHook('preValidation', (req, _reply, done) => {
    const scope = (req as any)[requestScope] as AsyncResource | undefined;
    if (scope) scope.runInAsyncScope(done, req.raw);
    else done();
  });

  await app.register(healthRoutes(ctx));
  await app.register(metricsRoutes(ctx));
  await app.register(uiRoutes());
  await app.register(async (api) => {
    api.decorateRequest('principal', null as unknown as Principal);
    // Fail closed: a route that says neither what it needs nor that it is public does not start.
    api.addHook('onRoute', (route) => {
      if (!route.config?.access && !route.config?.public) throw new Error(`route ${route.method} ${route.url} declares no access (config.access or config.public)`);
    });
    api.addHook('onRequest', async (req: FastifyRequest, reply) => {
      const config = req.routeOptions.config;
      if (config.public) return;
      const principal = await authenticate(ctx, req);
      if (!principal) {
        reply.header('www-authenticate', 'Bearer realm="certkeeper"');
        return send(reply, 'unauthorized', 'send Authorization: Bearer <token> with an API token (CERTKEEPER_ADMIN_TOKEN, or the one printed at first start), or log in at POST /api/v1/sessions');
      }
      req.principal = principal;
      // No route matched: the not-found handler answers, to an authenticated caller only.
      if (!config.access) return;
      if (!allowed(principal, config.access, config.consumer === true)) {
        return send(reply, 'forbidden', principal.role === 'consumer'
          ? 'a consumer token may only read the auto certificates in its scope and export their certificates'
          : `the role ${principal.role} may not do this; it needs ${NEEDED_ROLE[config.access]}`);
      }
    });
    api.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
    await api.register(providerRoutes(ctx));
    await api.register(autoCertificateRoutes(ctx));
    await api.register(certificateRoutes(ctx));
    await api.register(dnsZoneRoutes(ctx));
    await api.register(notificationChannelRoutes(ctx));
    await api.register(eventRoutes(ctx));
    await api.register(tokenRoutes(ctx));
    await api.register(userRoutes(ctx));
    await api.register(sessionRoutes(ctx));
    await api.register(agentRoutes(ctx));
    await api.register(deploymentTargetRoutes(ctx));
    await api.register(deploymentRoutes(ctx));
    await api.register(agentProtocolRoutes(ctx));
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
