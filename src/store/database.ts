/**
 * Opens the database named by a URL (`postgres://…`, `sqlite:/path`, or a plain file path) and
 * brings its schema up to date.
 */
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider, type DialectName } from './migrations.js';

/** An open database with the back end it runs on. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: DialectName;
  close(): Promise<void>;
}

/** Opens `url` and migrates it to the latest schema. */
export async function openDatabase(url: string): Promise<Db> {
  let kysely: Kysely<Database>;
  let dialect: DialectName;
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pg = await import('pg');
    const Pool = pg.default?.Pool ?? (pg as any).Pool;
    kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: url, max: 10 }) }) });
    dialect = 'postgres';
  } else {
    const { default: SQLite } = await import('better-sqlite3');
    const file = url.replace(/^sqlite:(\/\/)?/, '');
    const sqlite = new SQLite(file);
    // WAL lets the http-01 responder and the API read while a worker writes; a busy timeout
    // makes concurrent writers wait instead of failing with SQLITE_BUSY.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('synchronous = NORMAL');
    kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    dialect = 'sqlite';
  }
  const migrator = new Migrator({ db: kysely, provider: migrationProvider(dialect), migrationTableName: 'certkeeper_migrations', migrationLockTableName: 'certkeeper_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await kysely.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${(error as Error).message ?? error}`);
  }
  return { kysely, dialect, close: () => kysely.destroy() };
}

