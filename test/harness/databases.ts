/**
 * The storage back ends the tests run on: a fresh SQLite file, and a fresh PostgreSQL database on
 * 127.0.0.1:5432 (or CERTKEEPER_TEST_PG_URL) dropped afterwards.
 *
 * `CERTKEEPER_TEST_DATABASE=sqlite|postgres` (default sqlite) picks the back end of the servers
 * the harnesses start (test/harness/certkeeper.ts, test/harness/serve-process.ts); `npm test`
 * runs the server suites once per back end. The store contract tests use `allDatabases()`.
 *
 * Every database made here is named `ck_test_<creation time, base 36 seconds>_<random>`, so that a
 * database left behind by a crashed run can be recognised and dropped by a later one (after an
 * hour), and no database the tests did not make is ever touched.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** One back end for a test. */
export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  url: string;
  /** Removes the database; bounded in time, never throws. Calling it again does nothing. */
  cleanup(): Promise<void>;
}

/** The back ends a test can run on. */
export type TestBackend = TestDatabase['name'];

const PG_ADMIN_URL = process.env.CERTKEEPER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PREFIX = 'ck_test_';
const NAME = /^ck_test_([0-9a-z]{1,12})_[0-9a-f]{12}$/;
/** A database of ours older than this is a crashed run's leftover. */
const STALE_MS = 60 * 60 * 1000;
/** No admin statement (create, drop, list) waits longer than this. */
const ADMIN_TIMEOUT_MS = 15_000;

/** The back end chosen by CERTKEEPER_TEST_DATABASE (sqlite when unset). */
export function selectedBackend(): TestBackend {
  const v = (process.env.CERTKEEPER_TEST_DATABASE ?? '').trim().toLowerCase();
  if (v === '' || v === 'sqlite') return 'sqlite';
  if (v === 'postgres' || v === 'postgresql' || v === 'pg') return 'postgres';
  throw new Error(`CERTKEEPER_TEST_DATABASE=${process.env.CERTKEEPER_TEST_DATABASE}: expected sqlite or postgres`);
}

/** A fresh SQLite database file. */
export function sqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'ck-sqlite-'));
  return { name: 'sqlite', url: `sqlite:${join(dir, 'test.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000, query_timeout: ADMIN_TIMEOUT_MS, statement_timeout: ADMIN_TIMEOUT_MS });
  c.on('error', () => { /* a dropped admin connection surfaces through the query */ });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function drop(c: pg.Client, name: string): Promise<void> {
  if (!NAME.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
  // FORCE ends the sessions still connected (a server that did not stop cleanly).
  await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/** Drops the `ck_test_*` databases made more than `maxAgeMs` ago (a crashed run's); never throws. */
export async function dropStaleDatabases(maxAgeMs = STALE_MS): Promise<string[]> {
  const dropped: string[] = [];
  try {
    await admin(async (c) => {
      const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [PREFIX]);
      for (const { datname } of rows) {
        const m = NAME.exec(datname);
        if (!m) continue;
        const createdMs = parseInt(m[1]!, 36) * 1000;
        if (!(Date.now() - createdMs > maxAgeMs)) continue;
        try {
          await drop(c, datname);
          dropped.push(datname);
        } catch { /* another run dropped it first, or it is busy: the next run tries again */ }
      }
    });
  } catch (err) {
    console.error(`certkeeper tests: could not look for stale test databases: ${(err as Error).message}`);
  }
  return dropped;
}

let staleSweep: Promise<unknown> | undefined;
const live = new Set<TestDatabase>();
let exitHook = false;

/**
 * A fresh PostgreSQL database, or null (with a loud message) when no server is reachable.
 * The first call in a process also drops stale test databases.
 */
export async function postgresDatabase(): Promise<TestDatabase | null> {
  const name = `${PREFIX}${Math.floor(Date.now() / 1000).toString(36)}_${randomBytes(6).toString('hex')}`;
  try {
    await admin(async (c) => {
      staleSweep ??= dropStaleDatabases();
      await c.query(`CREATE DATABASE ${quoteIdent(name)}`);
    });
  } catch (err) {
    console.error(`\n!!! PostgreSQL is not reachable at ${PG_ADMIN_URL} (${(err as Error).message}): the PostgreSQL half of this test is SKIPPED !!!\n`);
    return null;
  }
  await staleSweep;
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  let done: Promise<void> | undefined;
  const db: TestDatabase = {
    name: 'postgres',
    url: url.toString(),
    cleanup() {
      done ??= (async () => {
        live.delete(db);
        try {
          await admin((c) => drop(c, name));
        } catch (err) {
          console.error(`certkeeper tests: could not drop the test database ${name} (a later run drops it): ${(err as Error).message}`);
        }
      })();
      return done;
    },
  };
  live.add(db);
  if (!exitHook) {
    // A test that forgot to stop its server: drop what is left once the event loop is idle.
    exitHook = true;
    process.once('beforeExit', () => void Promise.all([...live].map((d) => d.cleanup())));
  }
  return db;
}

/** A fresh PostgreSQL database; throws (the test fails) when no server is reachable. */
export async function requirePostgresDatabase(): Promise<TestDatabase> {
  const db = await postgresDatabase();
  if (!db) throw new Error(`CERTKEEPER_TEST_DATABASE=postgres, but PostgreSQL is not reachable at ${PG_ADMIN_URL} (set CERTKEEPER_TEST_PG_URL, or unset CERTKEEPER_TEST_DATABASE)`);
  return db;
}

/**
 * The database a test server gets when the test names none: a fresh PostgreSQL database under
 * CERTKEEPER_TEST_DATABASE=postgres, else null (the server's default SQLite file in its data dir).
 */
export async function serverDatabase(): Promise<TestDatabase | null> {
  return selectedBackend() === 'postgres' ? requirePostgresDatabase() : null;
}

/**
 * Both back ends (PostgreSQL only where reachable). Under CERTKEEPER_TEST_DATABASE=postgres only
 * PostgreSQL: the SQLite pass of `npm test` covered SQLite already.
 */
export async function allDatabases(): Promise<TestDatabase[]> {
  if (selectedBackend() === 'postgres') return [await requirePostgresDatabase()];
  const pgdb = await postgresDatabase();
  return pgdb ? [sqliteDatabase(), pgdb] : [sqliteDatabase()];
}
