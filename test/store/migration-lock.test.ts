// Several instances starting together on one fresh PostgreSQL database migrate it once: Kysely's
// Migrator serialises the runs with a session advisory lock and re-reads the applied migrations
// under it, so the late starters find nothing left to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase } from '../../src/store/database.js';
import { migrationProvider } from '../../src/store/migrations.js';
import { postgresDatabase } from '../harness/databases.js';

const N = 3;

test(`${N} instances opening one fresh PostgreSQL database at once migrate it exactly once`, async () => {
  // PostgreSQL is part of the test setup (README): unreachable is a failure, not a skip.
  const backend = await postgresDatabase();
  assert.ok(backend, 'PostgreSQL is not reachable at 127.0.0.1:5432 (or CERTKEEPER_TEST_PG_URL): start it, see README');
  try {
    const opened = await Promise.allSettled(Array.from({ length: N }, () => openDatabase(backend.url)));
    const failures = opened.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    const dbs = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      assert.deepEqual(failures, [], 'every instance started');
      const db = dbs[0]!;
      const expected = Object.keys(await migrationProvider('postgres').getMigrations());
      const ran = await sql<{ name: string; n: number }>`select name, count(*)::int as n from certkeeper_migrations group by name order by name`.execute(db.kysely);
      assert.deepEqual(ran.rows.map((r) => r.name), expected, 'every migration is recorded');
      assert.ok(ran.rows.every((r) => r.n === 1), 'each once');
      // The schema is the full one: tables of the first and the last migration, and 0008's index.
      const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public'`.execute(db.kysely);
      const names = new Set(tables.rows.map((r) => r.table_name));
      for (const table of ['providers', 'orders', 'jobs', 'notification_channels', 'tenants', 'users']) assert.ok(names.has(table), `table ${table}`);
      const index = await sql<{ indexdef: string }>`select indexdef from pg_indexes where indexname = 'orders_one_in_flight'`.execute(db.kysely);
      assert.match(index.rows[0]?.indexdef ?? '', /UNIQUE INDEX .* WHERE \(finished_at IS NULL\)/);
      // Every instance works on it.
      for (const d of dbs) await d.kysely.selectFrom('jobs').select('id').execute();
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  } finally {
    await backend.cleanup();
  }
});
