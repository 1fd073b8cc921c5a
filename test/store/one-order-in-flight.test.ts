// Migration 0008: the database itself refuses a second unfinished order for one auto certificate,
// on SQLite and on PostgreSQL; the migration closes older duplicates first; and the issuance job
// that loses the race to open an order is not broken by the refusal: it is retried and resumes the
// order that is in flight.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { openDatabase, type Db } from '../../src/store/database.js';
import { migrationProvider } from '../../src/store/migrations.js';
import { isOrderInFlightConflict } from '../../src/store/order-in-flight.js';
import { OrdersRepository, type OrderRow } from '../../src/store/repositories.js';
import { loadConfig } from '../../src/config/config.js';
import { createContext } from '../../src/server/context.js';
import { createLogger } from '../../src/server/logger.js';
import { Worker } from '../../src/lifecycle/worker.js';
import { ISSUE_JOB, issuanceHandler } from '../../src/lifecycle/issuance.js';
import { allDatabases, type TestDatabase } from '../harness/databases.js';

const backends = await allDatabases();

function order(id: string, autoCertificateId: string, createdAt: string, finishedAt: string | null = null, providerId = 'p-main'): OrderRow {
  return {
    id, tenant_id: 'default', auto_certificate_id: autoCertificateId, provider_id: providerId, names_json: '["a.example"]', key_algorithm: 'ecdsa256',
    rekey: 0, step: 'authorizing', order_url: `https://ca.example/order/${id}`, finalize_url: null, authorizations_json: '[]', key_enc: null,
    certificate_url: null, certificate_id: null, error: null, created_at: createdAt, updated_at: createdAt, finished_at: finishedAt,
    names_hash: null, replaces: null,
  };
}

/** The database at migration 0007, before the index existed. */
async function openAt0007(backend: TestDatabase): Promise<Kysely<any>> {
  const dialect = backend.name === 'postgres'
    ? new PostgresDialect({ pool: new pg.Pool({ connectionString: backend.url, max: 2 }) })
    : new SqliteDialect({ database: new SQLite(backend.url.replace(/^sqlite:/, '')) });
  const db = new Kysely<any>({ dialect });
  const migrator = new Migrator({ db, provider: migrationProvider(backend.name), migrationTableName: 'certkeeper_migrations', migrationLockTableName: 'certkeeper_migrations_lock' });
  const { error } = await migrator.migrateTo('0007_access');
  if (error) throw error;
  return db;
}

for (const backend of backends) {
  describe(`one order in flight per auto certificate on ${backend.name}`, () => {
    let db: Db;
    const dir = mkdtempSync(join(tmpdir(), 'ck-inflight-'));
    before(async () => {
      // Duplicates that code without the constraint could leave behind, then the migration.
      const old = await openAt0007(backend);
      await old.insertInto('orders').values([
        order('dup-1', 'ac-dup', '2026-01-01T00:00:00.000Z'),
        order('dup-2', 'ac-dup', '2026-01-02T00:00:00.000Z'),
        order('dup-3', 'ac-dup', '2026-01-03T00:00:00.000Z'),
        order('dup-done', 'ac-dup', '2025-12-01T00:00:00.000Z', '2025-12-01T01:00:00.000Z'),
        order('tie-a', 'ac-tie', '2026-01-05T00:00:00.000Z'),
        order('tie-b', 'ac-tie', '2026-01-05T00:00:00.000Z'),
        order('single', 'ac-single', '2026-01-04T00:00:00.000Z'),
      ]).execute();
      await old.destroy();
      db = await openDatabase(backend.url);
    });
    after(async () => {
      await db.close();
      await backend.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the migration closes older duplicates and keeps the newest open order (the one issuance resumes)', async () => {
      const rows = await db.kysely.selectFrom('orders').select(['id', 'finished_at', 'error']).orderBy('id').execute();
      const open = rows.filter((r) => r.finished_at === null).map((r) => r.id);
      assert.deepEqual(open, ['dup-3', 'single', 'tie-b']);
      for (const id of ['dup-1', 'dup-2', 'tie-a']) {
        assert.match(rows.find((r) => r.id === id)!.error ?? '', /migration 0008/, `${id} is closed with a reason`);
      }
      assert.equal(rows.find((r) => r.id === 'dup-done')!.error, null, 'a finished order is left as it was');
      assert.equal((await new OrdersRepository(db).open('ac-dup'))?.id, 'dup-3');
    });

    test('a second unfinished order for the same auto certificate is refused by the database', async () => {
      const orders = new OrdersRepository(db);
      await orders.insert(order('o1', 'ac-1', '2026-02-01T00:00:00.000Z'));
      const refused = await orders.insert(order('o2', 'ac-1', '2026-02-01T00:00:01.000Z')).then(() => null, (err: unknown) => err);
      assert.ok(refused, 'the insert was refused');
      assert.equal(isOrderInFlightConflict(refused), true, `recognised as "an order is in flight": ${String(refused)}`);
      // Reopening a finished order beside an open one is refused too.
      await orders.insert(order('o0', 'ac-1', '2026-01-01T00:00:00.000Z', '2026-01-01T01:00:00.000Z'));
      await assert.rejects(orders.update('o0', { finished_at: null }), (err) => isOrderInFlightConflict(err));
      // Other auto certificates, and any number of finished orders, are unaffected.
      await orders.insert(order('p1', 'ac-2', '2026-02-01T00:00:00.000Z'));
      await orders.insert(order('o-1', 'ac-1', '2025-01-01T00:00:00.000Z', '2025-01-01T01:00:00.000Z'));
      // Once the order in flight finishes, the next one may start.
      await orders.update('o1', { finished_at: '2026-02-02T00:00:00.000Z' });
      await orders.insert(order('o2', 'ac-1', '2026-02-02T00:00:01.000Z'));
      assert.equal((await orders.open('ac-1'))?.id, 'o2');
      // Other constraint errors are not mistaken for it.
      const other = await orders.insert(order('o2', 'ac-3', '2026-02-02T00:00:01.000Z')).then(() => null, (err: unknown) => err);
      assert.ok(other, 'a duplicate primary key is refused');
      assert.equal(isOrderInFlightConflict(other), false);
    });

    test('issuance that loses the race to open an order is retried and resumes the order in flight', async () => {
      let now = new Date('2026-03-01T00:00:00.000Z');
      const ctx = await createContext(loadConfig({ CERTKEEPER_DATA_DIR: dir, CERTKEEPER_DATABASE_URL: backend.url }), createLogger('silent'), () => now);
      const worker = new Worker(ctx.jobs, { [ISSUE_JOB]: issuanceHandler(ctx) }, { owner: 'w1', concurrency: 1, pollMs: 50, logger: createLogger('silent') });
      try {
        const t = now.toISOString();
        for (const [id, name] of [['p-main', 'main'], ['p-other', 'other']] as const) {
          await ctx.providers.insert({
            id, tenant_id: 'default', name, email: null, server: 'https://ca.invalid/dir', eab_key_id: null, eab_secret_enc: null,
            ca_certificates: null, profile: null, preferred_chain: null, account_key_enc: 'ck1.x', account_url: null, terms_of_service: null,
            profiles_json: null, state: 'PROVISIONING', message: 'registering', created_at: t, created_by: 'test', updated_at: t, updated_by: 'test',
          });
        }
        await ctx.autoCertificates.insert({
          id: 'ac-race', tenant_id: 'default', name: 'race', provider_id: 'p-main', fallback_provider_ids: '[]', common_name: 'a.example',
          names_json: '["a.example"]', key_algorithm: 'ecdsa256', challenge_type: 'http-01', key_policy: 'rotate', renew_before_days: null,
          profile: null, state: 'PROVISIONING', message: '', last_issued_certificate_id: null, next_renewal_at: null, renewal_reason: null,
          last_attempt_at: null, next_attempt_at: null, failure_count: 0, ari_window_start: null, ari_window_end: null, ari_next_check_at: null,
          ari_explanation_url: null, current_provider_id: null, created_at: t, created_by: 'test', updated_at: t, updated_by: 'test',
        });
        // Another instance opened this order (at provider "other") between our look-up and our insert.
        await ctx.orders.insert(order('theirs', 'ac-race', t, null, 'p-other'));
        const open = ctx.orders.open.bind(ctx.orders);
        let raced = false;
        ctx.orders.open = async (id: string) => {
          if (raced) return open(id);
          raced = true;
          return undefined;
        };
        const { job } = await ctx.jobs.enqueue({ tenantId: 'default', kind: ISSUE_JOB, subjectId: 'ac-race', payload: {} });
        await worker.start();
        const settle = async (pred: (j: { state: string; attempts: number }) => boolean) => {
          for (let i = 0; i < 200; i++) {
            const row = await ctx.db.kysely.selectFrom('jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
            if (pred(row)) return row;
            await new Promise((r) => setTimeout(r, 25));
          }
          throw new Error('the job did not settle');
        };
        const first = await settle((j) => j.state !== 'running' && j.attempts === 1);
        assert.equal(first.state, 'queued', 'the refused insert is retried, not failed');
        assert.match(first.last_error ?? '', /already in flight; resuming it/, 'said plainly, not as a database error');
        const inFlight = await ctx.db.kysely.selectFrom('orders').select('id').where('auto_certificate_id', '=', 'ac-race').execute();
        assert.deepEqual(inFlight.map((o) => o.id), ['theirs'], 'no second order was opened');

        // The retry resumes their order: its provider (not the auto certificate's) is the one asked.
        now = new Date(Date.now() + 120_000);
        worker.kick();
        const second = await settle((j) => j.attempts === 2 && j.state !== 'running');
        assert.equal(second.state, 'done');
        const ac = await ctx.autoCertificates.get('default', 'ac-race');
        assert.match(ac!.message, /provider other is PROVISIONING/, ac!.message);
        assert.equal((await ctx.orders.get('theirs'))?.finished_at, null, 'their order stays in flight, to be resumed again');
        assert.equal((await ctx.db.kysely.selectFrom('orders').select('id').where('auto_certificate_id', '=', 'ac-race').execute()).length, 1);
      } finally {
        await worker.stop(0);
        await ctx.db.close();
      }
    });
  });
}
