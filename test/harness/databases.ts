/**
 * The storage back ends every store test runs on: a fresh SQLite file, and a fresh PostgreSQL
 * database on 127.0.0.1:5432 (or CERTKEEPER_TEST_PG_URL) dropped afterwards.
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
  cleanup(): Promise<void>;
}

const PG_ADMIN_URL = process.env.CERTKEEPER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh SQLite database file. */
export function sqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'ck-sqlite-'));
  return { name: 'sqlite', url: `sqlite:${join(dir, 'test.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh PostgreSQL database, or null (with a loud message) when no server is reachable. */
export async function postgresDatabase(): Promise<TestDatabase | null> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (err) {
    console.error(`\n!!! PostgreSQL is not reachable at ${PG_ADMIN_URL} (${(err as Error).message}): the PostgreSQL half of this test is SKIPPED !!!\n`);
    return null;
  }
  const name = `certkeeper_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name: 'postgres',
    url: url.toString(),
    async cleanup() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Both back ends (PostgreSQL only where reachable). */
export async function allDatabases(): Promise<TestDatabase[]> {
  const pgdb = await postgresDatabase();
  return pgdb ? [sqliteDatabase(), pgdb] : [sqliteDatabase()];
}
