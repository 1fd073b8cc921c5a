/**
 * Runs `certkeeper serve` as a separate process, exactly as `npm start` does (bin/certkeeper.js
 * over the built dist/), so a test can kill it with SIGKILL and start it again.
 *
 * Under CERTKEEPER_TEST_DATABASE=postgres, a server whose `env` names no CERTKEEPER_DATABASE_URL
 * gets a fresh PostgreSQL database, one per CERTKEEPER_DATA_DIR: a server started again on the same
 * data dir (after `kill()`, a crash) finds its data, and `stop()` drops the database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverDatabase, type TestDatabase } from './databases.js';

const root = join(import.meta.dirname, '..', '..');
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** The PostgreSQL database of each data dir, while a server of it may be started again. */
const databases = new Map<string, TestDatabase>();

/** A server process. */
export interface ServeProcess {
  child: ChildProcess;
  /** The PostgreSQL database made for it, or undefined (its env's database, or SQLite in its data dir). */
  databaseUrl: string | undefined;
  output(): string;
  /** SIGKILL, then wait for exit. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for exit; drops the PostgreSQL database made for it. */
  stop(): Promise<void>;
}

/** Starts `certkeeper serve` with `env` and waits until `/healthz` answers at `apiUrl`. */
export async function startServeProcess(env: Record<string, string>, apiUrl: string, args: string[] = []): Promise<ServeProcess> {
  const key = env.CERTKEEPER_DATA_DIR;
  let database: TestDatabase | null | undefined;
  if (env.CERTKEEPER_DATABASE_URL === undefined && env.CERTKEEPER_DATABASE_URL_FILE === undefined) {
    database = key === undefined ? undefined : databases.get(key);
    if (!database) {
      database = await serverDatabase();
      if (database && key !== undefined) databases.set(key, database);
    }
  }
  const child = spawn(process.execPath, [join(root, 'bin', 'certkeeper.js'), 'serve', ...args], {
    cwd: root,
    env: { ...process.env, CERTKEEPER_LOG_LEVEL: 'info', ...env, ...(database ? { CERTKEEPER_DATABASE_URL: database.url } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    children.delete(child);
    resolve();
  }));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`certkeeper serve exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${apiUrl}/healthz`);
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (i > 300) throw new Error(`certkeeper serve did not come up at ${apiUrl}:\n${out}`);
    await sleep(50);
  }
  return {
    child,
    databaseUrl: database?.url,
    output: () => out,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      if (key !== undefined && databases.get(key) === database) databases.delete(key);
      await database?.cleanup();
    },
  };
}
