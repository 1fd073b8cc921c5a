// The budget per registered domain at the storage level, on SQLite and on PostgreSQL: what counts
// (orders that ended with a certificate, in the window, of every tenant), the time a slot frees,
// the index the count uses, and the backfill of migration 0005.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import SQLite from 'better-sqlite3';
import { openDatabase, type Db } from '../../src/store/database.js';
import { migrationProvider } from '../../src/store/migrations.js';
import { OrderDomains } from '../../src/store/order-domains.js';
import type { OrdersTable } from '../../src/store/schema.js';
import { allDatabases, postgresDatabase, sqliteDatabase, type TestDatabase } from '../harness/databases.js';

const backends = await allDatabases();

function orderRow(id: string, createdAt: string, names: string[], certificateId: string | null, tenantId = 't1'): OrdersTable {
  return {
    id, tenant_id: tenantId, auto_certificate_id: `ac-${id}`, provider_id: 'p1', names_json: JSON.stringify(names), key_algorithm: 'ecdsa256', rekey: 0,
    step: certificateId ? 'done' : 'new', order_url: null, finalize_url: null, authorizations_json: '[]', key_enc: null, certificate_url: null,
    certificate_id: certificateId, error: null, created_at: createdAt, updated_at: createdAt, finished_at: certificateId ? createdAt : null, names_hash: null, replaces: null,
  };
}

const day = (n: number) => new Date(Date.UTC(2026, 10, 1) + n * 86_400_000).toISOString();

for (const backend of backends) {
  describe(`order_domains on ${backend.name}`, () => {
    let db: Db;
    before(async () => {
      db = await openDatabase(backend.url);
    });
    after(async () => {
      await db.close();
      await (backend as TestDatabase).cleanup();
    });

    test('record is idempotent; spent counts issued orders of every tenant within the window', async () => {
      const od = new OrderDomains(db);
      const add = async (id: string, at: string, domains: string[], cert: string | null, tenant = 't1') => {
        await db.kysely.insertInto('orders').values(orderRow(id, at, domains, cert, tenant)).execute();
        await od.record({ id, created_at: at }, domains);
      };
      await add('o1', day(1), ['example.com'], 'c1');
      await add('o2', day(2), ['example.com', 'example.org'], 'c2', 't2');
      await add('o3', day(3), ['example.com'], 'c3');
      await add('o4', day(4), ['example.com'], null); // failed or in flight: does not count
      await add('o0', day(-10), ['example.com'], 'c0'); // outside the window
      await od.record({ id: 'o1', created_at: day(1) }, ['example.com']);
      assert.equal((await db.kysely.selectFrom('order_domains').select('order_id').where('order_id', '=', 'o1').execute()).length, 1);

      const since = day(0);
      assert.deepEqual(await od.spent(['example.com', 'example.org', 'example.net'], since, 4), []);
      assert.deepEqual(await od.spent(['example.com', 'example.org', 'example.net'], since, 3), [{ registeredDomain: 'example.com', issued: 3, freedBy: day(1) }]);
      // Over the limit (a lowered budget): a slot frees only when enough have left the window.
      assert.deepEqual(await od.spent(['example.com'], since, 2), [{ registeredDomain: 'example.com', issued: 3, freedBy: day(2) }]);
      const both = await od.spent(['example.org', 'example.com'], since, 1);
      assert.deepEqual(both.sort((a, b) => a.registeredDomain.localeCompare(b.registeredDomain)), [
        { registeredDomain: 'example.com', issued: 3, freedBy: day(3) },
        { registeredDomain: 'example.org', issued: 1, freedBy: day(2) },
      ]);
      assert.deepEqual(await od.spent([], since, 1), []);
    });

    test('the count is an index range on (registered_domain, created_at), orders by primary key', async () => {
      const query = sql`SELECT d.registered_domain, count(*) FROM order_domains d JOIN orders o ON o.id = d.order_id
        WHERE d.created_at > ${day(0)} AND o.certificate_id IS NOT NULL AND d.registered_domain IN ('example.com', 'example.org')
        GROUP BY d.registered_domain HAVING count(*) >= 3`;
      if (backend.name === 'sqlite') {
        const plan = await sql<{ detail: string }>`EXPLAIN QUERY PLAN ${query}`.execute(db.kysely);
        const details = plan.rows.map((r) => r.detail).join('\n');
        assert.match(details, /SEARCH d USING (COVERING )?INDEX order_domains_domain_created \(registered_domain=\? AND created_at>\?\)/, details);
        assert.match(details, /SEARCH o USING INDEX sqlite_autoindex_orders_1 \(id=\?\)/, details);
      } else {
        // These tables are tiny, so the planner would rightly scan them: forbid that to see the index is usable.
        const details = await db.kysely.connection().execute(async (c) => {
          await sql`SET enable_seqscan = off`.execute(c);
          try {
            return (await sql<{ 'QUERY PLAN': string }>`EXPLAIN ${query}`.execute(c)).rows.map((r) => r['QUERY PLAN']).join('\n');
          } finally {
            await sql`RESET enable_seqscan`.execute(c);
          }
        });
        assert.match(details, /Index (Only )?Scan (using|on) order_domains_domain_created\b.*\n\s*Index Cond: \(\(registered_domain = ANY .* AND \(created_at > /, details);
        assert.match(details, /Index Scan using orders_pkey on orders o/, details);
      }
    });
  });

  describe(`migration 0005 on ${backend.name}`, () => {
    test('backfills the orders of the last week with their registered domains', async () => {
      const fresh = backend.name === 'sqlite' ? sqliteDatabase() : (await postgresDatabase())!;
      const kysely = fresh.name === 'sqlite'
        ? new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(fresh.url.replace(/^sqlite:/, '')) }) })
        : new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: fresh.url }) }) });
      try {
        const all = await migrationProvider(fresh.name).getMigrations();
        const upTo4 = Object.fromEntries(Object.entries(all).filter(([name]) => name < '0005'));
        const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => upTo4 }, migrationTableName: 'certkeeper_migrations', migrationLockTableName: 'certkeeper_migrations_lock' });
        assert.equal((await migrator.migrateToLatest()).error, undefined);
        const recent = new Date(Date.now() - 86_400_000).toISOString();
        const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
        await kysely.insertInto('orders').values([
          orderRow('recent', recent, ['www.example.co.uk', '*.example.co.uk', 'a.b.wild.test'], 'c1'),
          orderRow('old', old, ['old.example.com'], 'c2'),
        ]).execute();
      } finally {
        await kysely.destroy();
      }
      const db = await openDatabase(fresh.url);
      try {
        const rows = await db.kysely.selectFrom('order_domains').selectAll().orderBy('registered_domain').execute();
        assert.deepEqual(rows.map((r) => [r.order_id, r.registered_domain]), [['recent', 'example.co.uk'], ['recent', 'wild.test']]);
      } finally {
        await db.close();
        await fresh.cleanup();
      }
    });
  });
}
