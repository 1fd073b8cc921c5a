/**
 * The agent's http-01 answers (RFC 8555 §8.3): either its own HTTP listener, or files in the
 * web root of a web server that already listens on port 80. Either way it serves exactly the set
 * the server last sent, and says so (`POST /api/v1/agent/http-01/ack`) once that set is in place.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentHttp01Work } from '../deploy/types.js';
import { ensureDirectory, writeFileAtomic } from './atomic-file.js';

/** RFC 8555 §8.3: the token is base64url; the key authorization is `token.thumbprint`. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const KEY_AUTHORIZATION = /^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,128}$/;
const PATH_PREFIX = '/.well-known/acme-challenge/';

/** Serves a set of http-01 tokens. */
export interface Http01Responder {
  /** How it answers, for the heartbeat: `listen 0.0.0.0:80`, `webroot /var/www/html`, `off`. */
  readonly description: string;
  /** Starts answering (binds the listener). */
  start(): Promise<void>;
  /**
   * Serves exactly `set` from now on (the tokens not in it are no longer served) and returns the
   * tokens now served; malformed entries are skipped (and so never acknowledged).
   */
  apply(set: AgentHttp01Work[]): Promise<string[]>;
  close(): Promise<void>;
}

/** The well-formed entries of `set`, one per token. */
function validEntries(set: AgentHttp01Work[], logger: Logger): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of set) {
    if (!TOKEN.test(item.token) || !KEY_AUTHORIZATION.test(item.keyAuthorization) || !item.keyAuthorization.startsWith(`${item.token}.`)) {
      logger.warn({ identifier: item.identifier }, 'ignoring a malformed http-01 token');
      continue;
    }
    out.set(item.token, item.keyAuthorization);
  }
  return out;
}

/** A responder that answers nothing (no http-01 mode configured). */
export function disabledHttp01(): Http01Responder {
  return {
    description: 'off',
    start: async () => undefined,
    apply: async () => [],
    close: async () => undefined,
  };
}

/** An HTTP listener on `host:port` answering `GET /.well-known/acme-challenge/<token>`. */
export function listeningHttp01(host: string, port: number, logger: Logger): Http01Responder & { address(): { host: string; port: number } } {
  let tokens = new Map<string, string>();
  let server: Server | undefined;
  let bound = { host, port };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const token = path.startsWith(PATH_PREFIX) ? path.slice(PATH_PREFIX.length) : '';
    const keyAuthorization = (req.method === 'GET' || req.method === 'HEAD') ? tokens.get(token) : undefined;
    if (keyAuthorization === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    logger.debug({ remote: req.socket.remoteAddress }, 'answered an http-01 request');
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(keyAuthorization) });
    res.end(req.method === 'HEAD' ? undefined : keyAuthorization);
  };
  const hostText = host.includes(':') ? `[${host}]` : host;
  return {
    get description() {
      return `listen ${hostText}:${bound.port}`;
    },
    address: () => bound,
    async start() {
      const s = createServer(handle);
      s.requestTimeout = 10_000;
      s.headersTimeout = 10_000;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      s.on('error', (err) => logger.error({ err }, 'http-01 listener error'));
      const addr = s.address();
      if (addr && typeof addr === 'object') bound = { host, port: addr.port };
      server = s;
    },
    async apply(set) {
      tokens = validEntries(set, logger);
      return [...tokens.keys()];
    },
    async close() {
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };
}

/**
 * Files `<webroot>/.well-known/acme-challenge/<token>` (0644), for a web server that already
 * serves `webroot`. Only the files this responder wrote are ever removed (when they leave the set,
 * and when the agent stops).
 */
export function webrootHttp01(webroot: string, logger: Logger): Http01Responder {
  const dir = join(webroot, '.well-known', 'acme-challenge');
  let written = new Set<string>();
  return {
    description: `webroot ${webroot}`,
    async start() {
      await ensureDirectory(dir);
    },
    async apply(set) {
      const entries = validEntries(set, logger);
      await ensureDirectory(dir);
      const now = new Set<string>();
      for (const [token, keyAuthorization] of entries) {
        await writeFileAtomic(join(dir, token), keyAuthorization, { mode: 0o644 });
        now.add(token);
      }
      for (const token of written) {
        if (!now.has(token)) await rm(join(dir, token), { force: true });
      }
      written = now;
      return [...now];
    },
    async close() {
      // Served while the agent runs, like the listener: nothing is left behind.
      for (const token of written) await rm(join(dir, token), { force: true }).catch(() => undefined);
      written = new Set();
    },
  };
}
