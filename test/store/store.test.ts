// The storage contract: the same assertions on SQLite and on PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type Db } from '../../src/store/database.js';
import { JobQueue } from '../../src/store/jobs.js';
import { EventLog } from '../../src/store/events.js';
import { Http01Tokens } from '../../src/store/http01-tokens.js';
import { ApiTokens } from '../../src/store/access.js';
import { ProvidersRepository } from '../../src/store/repositories.js';
import { allDatabases, type TestDatabase } from '../harness/databases.js';

const backends = await allDatabases();

for (const backend of backends) {
  describe(`store on ${backend.name}`, () => {
    let db: Db;
    let now = new Date('2026-11-26T01:30:00.000Z');
    const clock = () => now;
    before(async () => {
      db = await openDatabase(backend.url);
    });
    after(async () => {
      await db.close();
      await (backend as TestDatabase).cleanup();
    });

    test('migrations are idempotent: opening twice keeps the schema', async () => {
      const again = await openDatabase(backend.url);
      await again.close();
    });

    test('providers: insert, unique name per tenant, pagination with total', async () => {
      const repo = new ProvidersRepository(db);
      for (let i = 0; i < 5; i++) {
        await repo.insert({
          id: `p${i}`, tenant_id: 't1', name: `prov-${i}`, email: null, server: 'https://ca.example/dir', eab_key_id: null, eab_secret_enc: null,
          ca_certificates: null, profile: null, preferred_chain: null, account_key_enc: 'ck1.x', account_url: null, terms_of_service: null,
          profiles_json: null, state: 'AVAILABLE', message: '', created_at: `2026-11-26T01:30:0${i}.000Z`, created_by: 'a', updated_at: now.toISOString(), updated_by: 'a',
        });
      }
      await assert.rejects(repo.insert({ ...(await repo.get('t1', 'p0'))!, id: 'dup' }));
      const page = await repo.list('t1', {}, 1, 2);
      assert.equal(page.total, 5);
      assert.deepEqual(page.items.map((p) => p.id), ['p1', 'p2']);
      assert.equal((await repo.list('t2', {}, 0, 10)).total, 0, 'another tenant sees nothing');
      assert.equal(await repo.get('t2', 'p0'), undefined);
    });

    test('jobs: one active job per subject, exclusive claims, leases expire, outcomes recorded', async () => {
      const q = new JobQueue(db, clock);
      const a = await q.enqueue({ tenantId: 't1', kind: 'k', subjectId: 's1' });
      const b = await q.enqueue({ tenantId: 't1', kind: 'k', subjectId: 's1' });
      assert.equal(a.created, true);
      assert.equal(b.created, false);
      assert.equal(b.job.id, a.job.id);
      const first = await q.claim('owner-1', 10_000, 5);
      const second = await q.claim('owner-2', 10_000, 5);
      assert.deepEqual(first.map((j) => j.id), [a.job.id]);
      assert.equal(second.length, 0, 'a leased job is not claimed twice');
      now = new Date(now.getTime() + 11_000);
      const stolen = await q.claim('owner-2', 10_000, 5);
      assert.deepEqual(stolen.map((j) => j.id), [a.job.id], 'an expired lease is taken over');
      assert.equal(stolen[0]!.attempts, 2);
      assert.equal(await q.heartbeat(a.job.id, 'owner-1', 10_000), false, 'the old owner lost the lease');
      await q.reschedule(a.job.id, 'owner-2', new Date(now.getTime() + 60_000), 'try later');
      assert.equal((await q.claim('owner-1', 10_000, 5)).length, 0, 'not due yet');
      assert.equal((await q.nextRunAt())?.getTime(), now.getTime() + 60_000);
      now = new Date(now.getTime() + 61_000);
      const again = await q.claim('owner-1', 10_000, 5);
      assert.equal(again.length, 1);
      assert.equal(await q.releaseLeases('owner-1'), 1);
      const back = await q.claim('owner-1', 10_000, 5);
      assert.equal(back.length, 1, 'released leases are claimable at once');
      await q.complete(a.job.id, 'owner-1');
      const c = await q.enqueue({ tenantId: 't1', kind: 'k', subjectId: 's1' });
      assert.equal(c.created, true, 'a finished job frees the subject');
      assert.equal(await q.cancelQueued('k', 's1'), true);
    });

    test('concurrent claims from two owners never share a job', async () => {
      const q = new JobQueue(db, clock);
      for (let i = 0; i < 20; i++) await q.enqueue({ tenantId: 't1', kind: 'race', subjectId: `r${i}` });
      const [x, y] = await Promise.all([q.claim('A', 60_000, 20), q.claim('B', 60_000, 20)]);
      const ids = [...x, ...y].map((j) => j.id);
      assert.equal(new Set(ids).size, ids.length);
      assert.equal(ids.length, 20);
    });

    test('http-01 tokens: lookup until expiry, per-order cleanup', async () => {
      const t = new Http01Tokens(db, clock);
      await t.put({ token: 'tok1', keyAuthorization: 'tok1.thumb', orderId: 'o1', identifier: 'a.example', expiresAt: new Date(now.getTime() + 1000) });
      await t.put({ token: 'tok1', keyAuthorization: 'tok1.thumb', orderId: 'o1', identifier: 'a.example', expiresAt: new Date(now.getTime() + 1000) });
      assert.equal(await t.lookup('tok1'), 'tok1.thumb');
      assert.equal(await t.lookup('nope'), undefined);
      now = new Date(now.getTime() + 2000);
      assert.equal(await t.lookup('tok1'), undefined, 'expired');
      assert.equal(await t.sweep(), 1);
    });

    test('events are appended and listed newest first with filters', async () => {
      const log = new EventLog(db, clock);
      await log.append({ tenantId: 't1', type: 'certificate.issued', subjectType: 'certificate', subjectId: 'c1', actor: 'system', message: 'one' });
      await log.append({ tenantId: 't1', type: 'certificate.revoked', subjectType: 'certificate', subjectId: 'c1', actor: 'admin', message: 'two' });
      const all = await log.list('t1', {}, 0, 10);
      assert.deepEqual(all.items.map((e) => e.message), ['two', 'one']);
      assert.equal((await log.list('t1', { type: 'certificate.issued' }, 0, 10)).total, 1);
    });

    test('API tokens are stored hashed and expire', async () => {
      const tokens = new ApiTokens(db, clock);
      const { token } = await tokens.create({ tenantId: 't1', name: 'ci', role: 'operator', expiresAt: new Date(now.getTime() + 1000) });
      const rows = await db.kysely.selectFrom('api_tokens').selectAll().execute();
      assert.ok(rows.every((r) => !JSON.stringify(r).includes(token)), 'the token itself is not stored');
      assert.equal((await tokens.authenticate(token))?.role, 'operator');
      assert.equal(await tokens.authenticate(token + 'x'), undefined);
      now = new Date(now.getTime() + 2000);
      assert.equal(await tokens.authenticate(token), undefined, 'expired');
    });
  });
}
