/**
 * The security headers of every answer (API, health, metrics, and the web UI served by the same
 * app): no MIME sniffing, no framing, no referrer, a strict Content-Security-Policy, an isolated
 * browsing context, no caching of API answers, and HSTS where the request came over TLS.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The policy: only the app's own origin, never framed, no plugins, no `<base>` rewriting. A page
 * that needs more (the web UI) MAY set its own Content-Security-Policy; it is then kept.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

/** RFC 6797: one year; sent only over TLS, where a browser honours it (§7.2). */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000';

const ALWAYS: readonly [string, string][] = [
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
  ['referrer-policy', 'no-referrer'],
  ['content-security-policy', CONTENT_SECURITY_POLICY],
  ['cross-origin-opener-policy', 'same-origin'],
];

/**
 * Adds the headers to `reply`. A header the route set itself is left alone; API answers
 * (`/api/…`) get `Cache-Control: no-store` unless the route chose a policy.
 */
export function applySecurityHeaders(req: FastifyRequest, reply: FastifyReply): void {
  for (const [name, value] of ALWAYS) if (!reply.hasHeader(name)) reply.header(name, value);
  if (req.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  // The socket, not X-Forwarded-Proto: HSTS only where this server itself spoke TLS.
  if ((req.raw.socket as { encrypted?: boolean } | null)?.encrypted === true && !reply.hasHeader('strict-transport-security')) {
    reply.header('strict-transport-security', STRICT_TRANSPORT_SECURITY);
  }
}

/** The `onSend` hook of {@link applySecurityHeaders}. */
export function addSecurityHeaders(req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  applySecurityHeaders(req, reply);
  done(null, payload);
}
