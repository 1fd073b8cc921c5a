/**
 * Opens the database named by a URL (`postgres://…`, `sqlite:/path`, or a plain file path) and
 * brings its schema up to date.
 */
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider, type DialectName } from './migrations.js';
import { createPgPool, type PoolLogger } from './pg-pool.js';

/** An open database with the back end it runs on. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: DialectName;
  close(): Promise<void>;
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Where a lost or recovered PostgreSQL connection is reported (default: process warnings). */
  logger?: PoolLogger;
}

/** Reports pool trouble as process warnings when no logger is given (never silently). */
const warningLogger: PoolLogger = {
  warn: (obj, msg) => process.emitWarning(`${msg} ${JSON.stringify(obj)}`, 'CertkeeperDatabaseWarning'),
  info: (_obj, msg) => process.emitWarning(msg, 'CertkeeperDatabaseWarning'),
};

/** Opens `url` and migrates it to the latest schema. */
export async function openDatabase(url: string, opts: OpenDatabaseOptions = {}): Promise<Db> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const logger = opts.logger ?? warningLogger;
    // Migrations run on their own short-lived pool without query timeouts: DDL on a big table,
    // and waiting for another instance's migration lock, may take longer than any request should.
    const migrating = new Kysely<any>({ dialect: new PostgresDialect({ pool: await createPgPool(url, { max: 2, timeouts: false, logger, name: 'migration' }) }) });
    try {
      await migrate(migrating, 'postgres');
    } finally {
      await migrating.destroy();
    }
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: await createPgPool(url, { max: 10, timeouts: true, logger, name: 'application' }) }) });
    // Use the pool once now: Kysely creates it lazily, and a destroy() before the first query would
    // leave the pool it makes later unclosed. It also proves the application connection works.
    await sql`select 1`.execute(kysely);
    return { kysely, dialect: 'postgres', close: () => kysely.destroy() };
  }
  const { default: SQLite } = await import('better-sqlite3');
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  const sqlite = new SQLite(file);
  // WAL lets the http-01 responder and the API read while a worker writes; a busy timeout
  // makes concurrent writers wait instead of failing with SQLITE_BUSY.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrate(kysely, 'sqlite');
  } catch (err) {
    await kysely.destroy();
    throw err;
  }
  return { kysely, dialect: 'sqlite', close: () => kysely.destroy() };
}

/**
 * Runs the pending migrations. Several instances starting together migrate once: on PostgreSQL
 * Kysely's Migrator holds a session advisory lock (`pg_advisory_lock`) around the whole run and
 * re-reads the applied migrations under it, so the others wait and then find nothing to do
 * (test/store/migration-lock.test.ts).
 */
async function migrate(kysely: Kysely<any>, dialect: DialectName): Promise<void> {
  const migrator = new Migrator({ db: kysely, provider: migrationProvider(dialect), migrationTableName: 'certkeeper_migrations', migrationLockTableName: 'certkeeper_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300', 'SQLITE_BUSY']);

/**
 * Whether an error means the database cannot be reached or is overloaded right now (as opposed
 * to a bug or bad data): connection refused or lost, a connect or query timeout, a server shutting
 * down (57P0x), too many connections (53300), SQLSTATE class 08, a busy SQLite file.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (UNAVAILABLE_CODES.has(code) || /^08/.test(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection timeout|Client has encountered a connection error/i.test(message);
}
