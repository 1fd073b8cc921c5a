// Job claims under contention, on SQLite and PostgreSQL: many owners claiming at once never share
// a job; on PostgreSQL a claim skips rows another transaction holds (FOR UPDATE SKIP LOCKED)
// instead of waiting for them; a lease handed back is claimable by another owner at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openDatabase, type Db } from '../../src/store/database.js';
import { JobQueue } from '../../src/store/jobs.js';
import { allDatabases } from '../harness/databases.js';

const backends = await allDatabases();

for (const backend of backends) {
  describe(`job claims on ${backend.name}`, () => {
    let db: Db;
    const now = new Date('2026-06-01T00:00:00.000Z');
    const clock = () => now;
    before(async () => {
      db = await openDatabase(backend.url);
    });
    after(async () => {
      await db.close();
      await backend.cleanup();
    });

    test('five owners claiming in rounds take every job exactly once', async () => {
      const q = new JobQueue(db, clock);
      for (let i = 0; i < 40; i++) await q.enqueue({ tenantId: 't', kind: 'contended', subjectId: `c${i}` });
      const seen: string[] = [];
      for (let round = 0; round < 10; round++) {
        const claims = await Promise.all(['A', 'B', 'C', 'D', 'E'].map((o) => q.claim(o, 60_000, 3)));
        for (const jobs of claims) {
          for (const j of jobs) {
            assert.equal(j.state, 'running');
            assert.equal(j.attempts, 1);
            seen.push(j.id);
          }
        }
      }
      assert.equal(seen.length, 40);
      assert.equal(new Set(seen).size, 40, 'no job was claimed twice');
      const owners = await db.kysely.selectFrom('jobs').select(['lease_owner']).where('kind', '=', 'contended').execute();
      assert.ok(owners.every((o) => o.lease_owner), 'every row records its owner');
      await db.kysely.deleteFrom('jobs').execute();
    });

    test('a lease handed back is claimable by another owner at once, and only its owner can hand it back', async () => {
      const q = new JobQueue(db, clock);
      const { job } = await q.enqueue({ tenantId: 't', kind: 'handback', subjectId: 'h1' });
      assert.equal((await q.claim('A', 60_000, 5)).length, 1);
      assert.equal((await q.claim('B', 60_000, 5)).length, 0);
      assert.equal(await q.releaseLease(job.id, 'B'), false, 'not B\'s to hand back');
      assert.equal(await q.releaseLease(job.id, 'A'), true);
      const taken = await q.claim('B', 60_000, 5);
      assert.deepEqual(taken.map((j) => [j.id, j.lease_owner, j.attempts]), [[job.id, 'B', 2]]);
      assert.equal(await q.heartbeat(job.id, 'A', 60_000), false, 'the old owner learns it lost the lease');
      await q.complete(job.id, 'B');
      await db.kysely.deleteFrom('jobs').execute();
    });

    if (backend.name === 'postgres') {
      test('a claim skips rows locked by another transaction instead of waiting', async () => {
        const q = new JobQueue(db, clock);
        for (let i = 0; i < 5; i++) await q.enqueue({ tenantId: 't', kind: 'locked', subjectId: `l${i}`, runAt: new Date(now.getTime() - (5 - i) * 1000) });
        const oldest = await db.kysely.selectFrom('jobs').select('id').where('kind', '=', 'locked').orderBy('run_at').limit(2).execute();
        const other = new pg.Client({ connectionString: backend.url });
        await other.connect();
        try {
          await other.query('begin');
          await other.query('select id from jobs where id = any($1) for update', [oldest.map((r) => r.id)]);
          const started = Date.now();
          const claimed = await Promise.race([
            q.claim('A', 60_000, 10),
            new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('the claim waited for the locked rows')), 3_000)),
          ]);
          assert.ok(Date.now() - started < 3_000);
          assert.equal(claimed.length, 3, 'the three unlocked jobs');
          assert.ok(claimed.every((j) => !oldest.some((o) => o.id === j.id)), 'the locked ones are skipped');
          assert.deepEqual(claimed.map((j) => j.run_at), [...claimed.map((j) => j.run_at)].sort(), 'oldest first');
          await other.query('rollback');
          const rest = await q.claim('B', 60_000, 10);
          assert.deepEqual(rest.map((j) => j.id).sort(), oldest.map((o) => o.id).sort(), 'free again once the other transaction ends');
        } finally {
          await other.end();
        }
      });
    }
  });
}
