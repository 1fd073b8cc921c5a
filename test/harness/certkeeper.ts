/**
 * Starts a real certkeeper server in this process (fresh data dir, loopback ports) and talks to
 * it over HTTP as a user would. Every log line is captured for the secret-leak assertions.
 *
 * The store is the SQLite file in the data dir, or, under CERTKEEPER_TEST_DATABASE=postgres, a
 * fresh PostgreSQL database made for this server and dropped by `stop()` (see databases.ts). A
 * CERTKEEPER_DATABASE_URL given by the test wins over both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { createLogger } from '../../src/server/logger.js';
import type { Clock } from '../../src/store/time.js';
import { serverDatabase } from './databases.js';

/** A JSON response. */
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A running in-process certkeeper. */
export interface CertkeeperHandle {
  url: string;
  token: string;
  dataDir: string;
  /** The store's URL (`sqlite:…` or `postgres://…`): give it to a CLI that opens the same store. */
  databaseUrl: string;
  server: RunningServer;
  /** Every log line written so far. */
  logs(): string;
  /** Every response body received so far (for leak checks). */
  responses(): string;
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  /** Polls `path` until `done(body)` is true; fails after `timeoutMs`. */
  waitFor<T = any>(path: string, done: (body: T) => boolean, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/** Starts certkeeper with `CERTKEEPER_*` overrides (and, optionally, an injected clock). */
export async function startCertkeeper(env: Record<string, string> = {}, opts: { clock?: Clock } = {}): Promise<CertkeeperHandle> {
  const dataDir = env.CERTKEEPER_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'ck-data-'));
  const token = env.CERTKEEPER_ADMIN_TOKEN ?? randomBytes(24).toString('base64url');
  const removeDataDir = () => {
    if (!env.CERTKEEPER_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
  };
  const explicitDatabase = env.CERTKEEPER_DATABASE_URL !== undefined || env.CERTKEEPER_DATABASE_URL_FILE !== undefined;
  let database: Awaited<ReturnType<typeof serverDatabase>>;
  try {
    database = explicitDatabase ? null : await serverDatabase();
  } catch (err) {
    removeDataDir();
    throw err;
  }
  const lines: string[] = [];
  const responses: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  let server: RunningServer;
  let databaseUrl: string;
  try {
    const config = loadConfig({
      CERTKEEPER_LISTEN: '127.0.0.1:0',
      CERTKEEPER_HTTP01_LISTEN: '127.0.0.1:0',
      CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1',
      CERTKEEPER_LOG_LEVEL: 'debug',
      ...env,
      ...(database ? { CERTKEEPER_DATABASE_URL: database.url } : {}),
      CERTKEEPER_DATA_DIR: dataDir,
      CERTKEEPER_ADMIN_TOKEN: token,
    });
    databaseUrl = config.databaseUrl;
    server = await startServer(config, { logger: createLogger('debug', sink), announce: (m) => lines.push(m), ...(opts.clock ? { clock: opts.clock } : {}) });
  } catch (err) {
    // A server that fails to start (some tests expect it to) leaves nothing behind.
    await database?.cleanup();
    removeDataDir();
    throw err;
  }
  const url = server.url;
  const api = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    responses.push(text);
    let parsed: any = text;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
  const waitFor = async <T>(path: string, done: (b: T) => boolean, timeoutMs = 60_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: ApiResponse<T> | undefined;
    while (Date.now() < deadline) {
      last = await api<T>('GET', path);
      if (last.status === 200 && done(last.body)) return last.body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting on ${path}; last answer: ${last?.status} ${last?.text.slice(0, 2000)}`);
  };
  return {
    url, token, dataDir, databaseUrl, server, api, waitFor,
    logs: () => lines.join(''),
    responses: () => responses.join('\n'),
    async stop() {
      try {
        await server.stop();
      } finally {
        await database?.cleanup();
        removeDataDir();
      }
    },
  };
}
