/**
 * The job table with leases: every piece of background work (account registration, issuance)
 * is a row. An instance claims a due row by a conditional UPDATE (on PostgreSQL with
 * `FOR UPDATE SKIP LOCKED`), so two instances sharing one database never run the same job; a
 * lease that is not renewed expires and another instance takes the job over. One active job per
 * `(kind, subject)` is enforced by a unique index.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from './database.js';
import type { JobsTable } from './schema.js';
import { iso, isoPlus, type Clock } from './time.js';

/** A job row. */
export type Job = JobsTable;

/** What to enqueue. */
export interface NewJob {
  tenantId: string;
  kind: string;
  subjectId: string;
  payload?: Record<string, unknown>;
  runAt?: Date;
}

/** The persistent queue. */
export class JobQueue {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  /** Enqueues a job unless one of the same kind and subject is already active; returns the active one. */
  async enqueue(job: NewJob): Promise<{ job: Job; created: boolean }> {
    const now = this.clock();
    const row: Job = {
      id: randomUUID(),
      tenant_id: job.tenantId,
      kind: job.kind,
      subject_id: job.subjectId,
      active_key: `${job.kind}:${job.subjectId}`,
      state: 'queued',
      payload_json: JSON.stringify(job.payload ?? {}),
      run_at: iso(job.runAt ?? now),
      lease_owner: null,
      lease_expires_at: null,
      attempts: 0,
      last_error: null,
      created_at: iso(now),
      updated_at: iso(now),
    };
    const inserted = await this.db.kysely.insertInto('jobs').values(row)
      .onConflict((oc) => oc.column('active_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) return { job: row, created: true };
    const existing = await this.db.kysely.selectFrom('jobs').selectAll().where('active_key', '=', row.active_key).executeTakeFirst();
    if (!existing) return this.enqueue(job); // finished between our insert and select: try again
    return { job: existing, created: false };
  }

  /** The active (queued or running) job for a kind and subject, if any. */
  async active(kind: string, subjectId: string): Promise<Job | undefined> {
    return this.db.kysely.selectFrom('jobs').selectAll().where('active_key', '=', `${kind}:${subjectId}`).executeTakeFirst();
  }

  /**
   * Claims up to `limit` due jobs for `owner` with a lease of `leaseMs`: queued jobs whose time
   * came, and running jobs whose lease expired (their instance died or lost the database).
   *
   * PostgreSQL: one statement, `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)
   * RETURNING *`. Rows another instance is claiming right now are skipped instead of waited for,
   * and under READ COMMITTED a row claimed and committed meanwhile fails the re-checked `due`
   * condition, so two instances never take the same job and never block each other.
   * SQLite serializes writers, so there a conditional UPDATE per candidate is exclusive too.
   */
  async claim(owner: string, leaseMs: number, limit: number): Promise<Job[]> {
    if (limit <= 0) return [];
    const now = iso(this.clock());
    const due = (eb: any) => eb.or([
      eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)]),
      eb.and([eb('state', '=', 'running'), eb('lease_expires_at', '<', now)]),
    ]);
    if (this.db.dialect === 'postgres') {
      const claimed = await this.db.kysely.updateTable('jobs')
        .set((eb) => ({ state: 'running', lease_owner: owner, lease_expires_at: isoPlus(this.clock(), leaseMs), attempts: eb('attempts', '+', 1), updated_at: now }))
        .where('id', 'in', (eb) => eb.selectFrom('jobs').select('id').where(due).orderBy('run_at').limit(limit).forUpdate().skipLocked())
        .returningAll()
        .execute();
      return claimed.sort((a, b) => a.run_at.localeCompare(b.run_at));
    }
    const candidates = await this.db.kysely.selectFrom('jobs').select('id').where(due)
      .orderBy('run_at').limit(limit * 2).execute();
    const claimed: Job[] = [];
    for (const { id } of candidates) {
      if (claimed.length >= limit) break;
      const res = await this.db.kysely.updateTable('jobs')
        .set((eb) => ({ state: 'running', lease_owner: owner, lease_expires_at: isoPlus(this.clock(), leaseMs), attempts: eb('attempts', '+', 1), updated_at: now }))
        .where('id', '=', id).where(due)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) {
        const job = await this.db.kysely.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        claimed.push(job);
      }
    }
    return claimed;
  }

  /** Extends the lease of a job this owner holds; false when the lease was lost. */
  async heartbeat(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const res = await this.db.kysely.updateTable('jobs')
      .set({ lease_expires_at: isoPlus(this.clock(), leaseMs) })
      .where('id', '=', id).where('lease_owner', '=', owner).where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Makes the jobs leased by `owner` claimable at once (a restarted instance takes back its own work). */
  async releaseLeases(owner: string): Promise<number> {
    const res = await this.db.kysely.updateTable('jobs')
      .set({ lease_expires_at: iso(new Date(0)) })
      .where('lease_owner', '=', owner).where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /**
   * Hands one job back at once (its lease expires now), so another instance — or this one after a
   * restart — claims it on its next poll. Only while `owner` still holds it.
   */
  async releaseLease(id: string, owner: string): Promise<boolean> {
    const res = await this.db.kysely.updateTable('jobs')
      .set({ lease_expires_at: iso(new Date(0)), updated_at: iso(this.clock()) })
      .where('id', '=', id).where('lease_owner', '=', owner).where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Marks a job done. */
  async complete(id: string, owner: string): Promise<void> {
    await this.finish(id, owner, 'done', null);
  }

  /** Marks a job failed for good. */
  async fail(id: string, owner: string, error: string): Promise<void> {
    await this.finish(id, owner, 'failed', error);
  }

  /** Puts a job back in the queue to run at `runAt`. */
  async reschedule(id: string, owner: string, runAt: Date, error: string | null): Promise<void> {
    await this.db.kysely.updateTable('jobs')
      .set({ state: 'queued', run_at: iso(runAt), lease_owner: null, lease_expires_at: null, last_error: error, updated_at: iso(this.clock()) })
      .where('id', '=', id).where('lease_owner', '=', owner)
      .execute();
  }

  /** Cancels the active job of a kind and subject that is not running (e.g. a scheduled retry). */
  async cancelQueued(kind: string, subjectId: string): Promise<boolean> {
    const res = await this.db.kysely.updateTable('jobs')
      .set({ state: 'cancelled', active_key: null, updated_at: iso(this.clock()) })
      .where('active_key', '=', `${kind}:${subjectId}`).where('state', '=', 'queued')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** The earliest time a queued job falls due, for the worker's sleep. */
  async nextRunAt(): Promise<Date | null> {
    const row = await this.db.kysely.selectFrom('jobs').select((eb) => eb.fn.min('run_at').as('t')).where('state', '=', 'queued').executeTakeFirst();
    return row?.t ? new Date(row.t as string) : null;
  }

  private async finish(id: string, owner: string, state: string, error: string | null): Promise<void> {
    await this.db.kysely.updateTable('jobs')
      .set({ state, active_key: null, lease_owner: null, lease_expires_at: null, last_error: error, updated_at: iso(this.clock()) })
      .where('id', '=', id).where('lease_owner', '=', owner)
      .execute();
  }
}
