/**
 * The PostgreSQL server of the chaos test, which the test stops and starts again once:
 *
 * - `private` (default): a throw-away PostgreSQL cluster made with the installed server's own
 *   `initdb` in a temp dir, on a free loopback port. Stopping it disturbs nobody else — other
 *   test runs on this machine keep their PostgreSQL.
 * - `system` (CERTKEEPER_CHAOS_PG=system): the machine's cluster at CERTKEEPER_TEST_PG_URL (default
 *   postgres://postgres@127.0.0.1:5432/postgres), stopped and started with
 *   `pg_ctlcluster --skip-systemctl-redirect <version> <cluster> stop|start`
 *   (CERTKEEPER_CHAOS_PG_CLUSTER=<version>/<cluster>, default the only version in /etc/postgresql
 *   and `main`). Every other user of that server sees the outage too: run it alone.
 *
 * Both need root (or the postgres user): initdb and pg_ctl run as `postgres` through runuser.
 * `dispose()` always leaves the server running (system) or removed (private), and never throws.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../harness/ports.js';

const execFileAsync = promisify(execFile);

/** A PostgreSQL server the test may stop and start. */
export interface ChaosPostgres {
  mode: 'private' | 'system';
  /** What it is, for the summary. */
  description: string;
  /** A superuser URL to the `postgres` database. */
  adminUrl: string;
  /** Fast shutdown (sessions are terminated), waits until stopped. */
  stop(): Promise<void>;
  /** Starts, waits until it accepts connections (at most 60 s). */
  start(): Promise<void>;
  /** Whether this object stopped the server and has not started it again. */
  readonly stopped: boolean;
  dispose(): Promise<void>;
}

async function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, { timeout: timeoutMs, encoding: 'utf8' });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Runs a PostgreSQL binary as the postgres user (initdb and the server refuse to run as root). */
function asPostgres(bin: string, args: string[], timeoutMs?: number): Promise<string> {
  return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', bin, ...args], timeoutMs) : run(bin, args, timeoutMs);
}

/** Waits until `url` answers `SELECT 1`, at most `timeoutMs`. */
export async function waitForPostgres(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL at ${url} did not come back within ${timeoutMs / 1000} s: ${(err as Error).message}`);
    } finally {
      await c.end().catch(() => undefined);
    }
    await sleep(250);
  }
}

function serverVersion(): string {
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : readdirSync('/usr/lib/postgresql');
  const v = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!v) throw new Error('no PostgreSQL server installed (/etc/postgresql and /usr/lib/postgresql are empty); install the Debian package postgresql');
  return v;
}

async function privatePostgres(): Promise<ChaosPostgres> {
  const bin = join('/usr/lib/postgresql', serverVersion(), 'bin');
  const dir = mkdtempSync(join(tmpdir(), 'ck-chaos-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (process.getuid?.() === 0) {
    const uid = Number((await run('id', ['-u', 'postgres'])).trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  await asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = true;
  const pgctl = (args: string[]) => asPostgres(join(bin, 'pg_ctl'), ['-D', data, ...args], 90_000);
  // A run that ends without dispose() (interrupted) must not leave the server running.
  const killNow = () => {
    const args = [join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'];
    if (process.getuid?.() === 0) spawnSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'ignore', timeout: 30_000 });
    else spawnSync(args[0]!, args.slice(1), { stdio: 'ignore', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killNow);
  const handle: ChaosPostgres = {
    mode: 'private',
    description: `private PostgreSQL ${serverVersion()} cluster in ${dir} on 127.0.0.1:${port}`,
    adminUrl,
    get stopped() {
      return stopped;
    },
    async start() {
      await pgctl(['-l', log, '-o', options, '-w', '-t', '60', 'start']);
      stopped = false;
      await waitForPostgres(adminUrl);
    },
    async stop() {
      stopped = true;
      await pgctl(['-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    async dispose() {
      process.off('exit', killNow);
      try {
        await pgctl(['-m', 'immediate', '-w', '-t', '30', 'stop']);
      } catch { /* not running */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}

async function systemPostgres(): Promise<ChaosPostgres> {
  const adminUrl = process.env.CERTKEEPER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const [version, cluster] = (process.env.CERTKEEPER_CHAOS_PG_CLUSTER ?? `${serverVersion()}/main`).split('/');
  if (!version || !cluster) throw new Error('CERTKEEPER_CHAOS_PG_CLUSTER: expected <version>/<cluster>, e.g. 15/main');
  await waitForPostgres(adminUrl, 5_000);
  let stopped = false;
  const ctl = (action: string) => run('pg_ctlcluster', ['--skip-systemctl-redirect', version, cluster, action], 90_000);
  // Interrupted (Ctrl-C, the runner's timeout) while the machine's PostgreSQL is down: start it
  // again synchronously before this process goes.
  const startNow = () => {
    if (stopped) spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, cluster, 'start'], { stdio: 'inherit', timeout: 60_000 });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    startNow();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', startNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const handle: ChaosPostgres = {
    mode: 'system',
    description: `the system cluster ${version}/${cluster} (${adminUrl}) through pg_ctlcluster`,
    adminUrl,
    get stopped() {
      return stopped;
    },
    async stop() {
      stopped = true;
      await ctl('stop');
    },
    async start() {
      await ctl('start');
      stopped = false;
      await waitForPostgres(adminUrl);
    },
    async dispose() {
      process.off('exit', startNow);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Whatever happened, the machine's PostgreSQL runs again afterwards.
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          await waitForPostgres(adminUrl, 3_000);
          stopped = false;
          return;
        } catch {
          try {
            await ctl('start');
          } catch (err) {
            console.error(`chaos: pg_ctlcluster start (attempt ${attempt}) failed: ${(err as Error).message}`);
          }
        }
      }
      try {
        await waitForPostgres(adminUrl, 30_000);
        stopped = false;
      } catch (err) {
        console.error(`\n!!! chaos: could NOT start PostgreSQL again: ${(err as Error).message}\n!!! start it by hand: pg_ctlcluster --skip-systemctl-redirect ${version} ${cluster} start\n`);
      }
    },
  };
  return handle;
}

/** The server chosen by CERTKEEPER_CHAOS_PG (`private`, the default, or `system`). */
export function chaosPostgres(): Promise<ChaosPostgres> {
  const mode = (process.env.CERTKEEPER_CHAOS_PG ?? 'private').trim().toLowerCase();
  if (mode === 'private' || mode === '') return privatePostgres();
  if (mode === 'system') return systemPostgres();
  throw new Error(`CERTKEEPER_CHAOS_PG=${mode}: expected private or system`);
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const CHAOS_DB = /^ck_chaos_[0-9a-z]{1,12}_[0-9a-f]{8}$/;

async function admin<T>(adminUrl: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000, query_timeout: 30_000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Creates `ck_chaos_<base-36 seconds>_<random>`, first dropping such databases older than an hour (a crashed run's). */
export async function createChaosDatabase(adminUrl: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `ck_chaos_${Math.floor(Date.now() / 1000).toString(36)}_${randomBytes(4).toString('hex')}`;
  await admin(adminUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'ck\\_chaos\\_%'");
    for (const { datname } of rows) {
      const created = CHAOS_DB.test(datname) ? parseInt(datname.split('_')[2]!, 36) * 1000 : NaN;
      if (Date.now() - created > 3_600_000) await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`).catch(() => undefined);
    }
    await c.query(`CREATE DATABASE ${quoteIdent(name)}`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      try {
        await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
      } catch (err) {
        console.error(`chaos: could not drop ${name} (a later run drops it after an hour): ${(err as Error).message}`);
      }
    },
  };
}
