/**
 * The web UI: the files Vite built into web/dist, served at `/`. Hashed assets (`/assets/…`) are
 * cached for a year as immutable; index.html is revalidated on every load (`no-cache`), so a new
 * build takes effect at once. Any other GET that is not a file and not an API, metrics, health or
 * `/.well-known` path is a client-side route (`/certificates/123`) and answers index.html.
 *
 * Only plain names under web/dist are ever opened: a path with a `.`-leading segment (`..`,
 * `.git`), a backslash or a NUL answers 404, and the resolved file must lie inside the directory.
 * Without a build, `/` says how to make one.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/** web/dist of this checkout: three levels above both src/api/routes/ and dist/api/routes/. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** Paths that are never the UI's, even when nothing else answers them. */
const NOT_UI = /^\/(api|metrics|healthz|readyz|\.well-known)(\/|$)/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
};
/** Extensions of files a build makes: a missing one is a 404, not the app. */
const STATIC_EXTENSIONS = new Set(Object.keys(TYPES));
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.svg', '.json', '.map', '.txt', '.webmanifest']);
const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>certkeeper: web UI not built</title></head>
<body><h1>The certkeeper web UI is not built</h1>
<p>Build it in the certkeeper checkout with <code>npm run build:web</code> (or <code>npm run build</code>, which builds the
server too; <code>npm start</code> builds whatever is missing), then reload this page.</p>
<p>The REST API works without it: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></body></html>
`;

interface Cached {
  mtimeMs: number;
  size: number;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
}

/** The UI's routes. `dir` is the built UI (default {@link DEFAULT_UI_DIR}). */
export const uiRoutes = (dir: string = DEFAULT_UI_DIR): FastifyPluginAsync => async (app) => {
  const root = resolve(dir);
  const cache = new Map<string, Cached>();

  /** The file's bytes (and gzip), re-read when it changed on disk; null when it is not a regular file. */
  const load = async (file: string): Promise<Cached | null> => {
    let st;
    try {
      st = await stat(file);
    } catch {
      return null;
    }
    if (!st.isFile()) return null;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
    const body = await readFile(file);
    const entry: Cached = {
      mtimeMs: st.mtimeMs,
      size: st.size,
      body,
      gzip: COMPRESSIBLE.has(extname(file)) && body.length > 1024 ? gzipSync(body) : null,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
    cache.set(file, entry);
    return entry;
  };

  const send = (req: FastifyRequest, reply: FastifyReply, file: string, entry: Cached, cacheControl: string) => {
    reply.header('cache-control', cacheControl).header('etag', entry.etag).header('vary', 'accept-encoding');
    reply.type(TYPES[extname(file)] ?? 'application/octet-stream');
    if (req.headers['if-none-match'] === entry.etag) return reply.code(304).send();
    if (entry.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      return reply.header('content-encoding', 'gzip').send(entry.gzip);
    }
    return reply.send(entry.body);
  };

  const serveIndex = async (req: FastifyRequest, reply: FastifyReply) => {
    const file = join(root, 'index.html');
    const entry = await load(file);
    if (!entry) {
      return reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT);
    }
    return send(req, reply, file, entry, REVALIDATE);
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const rawPath = req.url.split('?')[0] ?? '/';
    if (NOT_UI.test(rawPath)) return reply.callNotFound();
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return reply.callNotFound();
    }
    const segments = path.split('/').filter((s) => s !== '');
    // `..`, `.git`, `\`, NUL: never a file of ours and never a client route.
    if (segments.some((s) => s.startsWith('.') || s.includes('\\') || s.includes('\0')) || NOT_UI.test(path)) return reply.callNotFound();
    if (segments.length === 0 || (segments.length === 1 && segments[0] === 'index.html')) return serveIndex(req, reply);
    if (segments.every((s) => SAFE_SEGMENT.test(s))) {
      const file = resolve(root, ...segments);
      if (file.startsWith(root + sep)) {
        const entry = await load(file);
        if (entry) return send(req, reply, file, entry, segments[0] === 'assets' ? IMMUTABLE : REVALIDATE);
      }
    }
    // Not a file: a missing asset is a 404 (a browser must not get HTML for a script); anything
    // else is a route of the app.
    if (segments[0] === 'assets' || STATIC_EXTENSIONS.has(extname(segments[segments.length - 1]!))) return reply.callNotFound();
    return serveIndex(req, reply);
  };

  // The catch-all must not even match the paths that are not the UI's: the router then answers
  // them exactly as before (an over-long /api path parameter stays a 400, not a 404 from here).
  if (!app.hasConstraintStrategy(UI_CONSTRAINT)) app.addConstraintStrategy(uiPathStrategy);
  const schema = { hide: true };
  app.get('/', { schema }, handler);
  app.get('/*', { schema, constraints: { [UI_CONSTRAINT]: 'ui' } }, handler);
};

const UI_CONSTRAINT = 'certkeeperUiPath';

/** A router constraint: `ui` for paths the UI may answer, `other` for /api, /metrics, … */
const uiPathStrategy: Parameters<FastifyInstance['addConstraintStrategy']>[0] = {
  name: UI_CONSTRAINT,
  storage() {
    const handlers = new Map<string, any>();
    return { get: (k) => handlers.get(String(k)) ?? null, set: (k, v) => void handlers.set(String(k), v) };
  },
  deriveConstraint: (req) => (NOT_UI.test((req.url ?? '/').split('?')[0]!) ? 'other' : 'ui'),
  mustMatchWhenDerived: false,
  validate: (value) => {
    if (value !== 'ui') throw new Error(`${UI_CONSTRAINT} takes "ui"`);
  },
};
