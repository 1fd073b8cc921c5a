/**
 * Rows of notification channels and deliveries, scoped by tenant in the query itself. Deliveries
 * are claimed with a conditional UPDATE and a short lease, as jobs are (src/store/jobs.ts), so
 * instances sharing one database never send the same delivery at the same time.
 */
import type { Db } from '../store/database.js';
import type { NotificationChannelsTable, NotificationDeliveriesTable } from '../store/schema.js';
import { page, type Page } from '../store/pagination.js';
import { iso, isoPlus } from '../store/time.js';

/** A channel row. */
export type ChannelRow = NotificationChannelsTable;
/** A delivery row. */
export type DeliveryRow = NotificationDeliveriesTable;

/** Delivery states. */
export type DeliveryState = 'pending' | 'sending' | 'delivered' | 'failed' | 'cancelled';

/** Channels of a tenant. */
export class ChannelStore {
  constructor(private readonly db: Db) {}
  get(tenantId: string, id: string): Promise<ChannelRow | undefined> {
    return this.db.kysely.selectFrom('notification_channels').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }
  /** By id or by (unique) name. */
  async find(tenantId: string, idOrName: string): Promise<ChannelRow | undefined> {
    return (await this.get(tenantId, idOrName)) ??
      this.db.kysely.selectFrom('notification_channels').selectAll().where('tenant_id', '=', tenantId).where('name', '=', idOrName).executeTakeFirst();
  }
  list(tenantId: string, filter: { name?: string; type?: string; state?: string }, offset: number, limit: number): Promise<Page<ChannelRow>> {
    let q = this.db.kysely.selectFrom('notification_channels').selectAll().where('tenant_id', '=', tenantId);
    if (filter.name) q = q.where('name', '=', filter.name);
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.state) q = q.where('state', '=', filter.state);
    return page(q.orderBy('created_at').orderBy('id'), offset, limit);
  }
  /** Every enabled channel of every tenant (the fan-out matches events against these). */
  enabled(): Promise<ChannelRow[]> {
    return this.db.kysely.selectFrom('notification_channels').selectAll().where('enabled', '=', 1).execute();
  }
  async insert(row: ChannelRow): Promise<void> {
    await this.db.kysely.insertInto('notification_channels').values(row).execute();
  }
  async update(tenantId: string, id: string, set: Partial<ChannelRow>): Promise<void> {
    await this.db.kysely.updateTable('notification_channels').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  /** Deletes a channel and its delivery records. */
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.kysely.transaction().execute(async (tx) => {
      await tx.deleteFrom('notification_deliveries').where('tenant_id', '=', tenantId).where('channel_id', '=', id).execute();
      await tx.deleteFrom('notification_channels').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
    });
  }
}

/** Deliveries: one per (channel, event). */
export class DeliveryStore {
  constructor(private readonly db: Db) {}

  get(tenantId: string, channelId: string, id: string): Promise<DeliveryRow | undefined> {
    return this.db.kysely.selectFrom('notification_deliveries').selectAll()
      .where('tenant_id', '=', tenantId).where('channel_id', '=', channelId).where('id', '=', id).executeTakeFirst();
  }

  /** The deliveries of a channel, newest first. */
  list(tenantId: string, channelId: string, filter: { state?: string; eventType?: string }, offset: number, limit: number): Promise<Page<DeliveryRow>> {
    let q = this.db.kysely.selectFrom('notification_deliveries').selectAll().where('tenant_id', '=', tenantId).where('channel_id', '=', channelId);
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.eventType) q = q.where('event_type', '=', filter.eventType);
    return page(q.orderBy('created_at', 'desc').orderBy('event_id', 'desc'), offset, limit);
  }

  /** Inserts deliveries; a (channel, event) pair that already has one is left alone. */
  async insertMissing(rows: DeliveryRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 100) {
      await this.db.kysely.insertInto('notification_deliveries').values(rows.slice(i, i + 100))
        .onConflict((oc) => oc.columns(['channel_id', 'event_id']).doNothing())
        .execute();
    }
  }

  /** Claims up to `limit` due deliveries for `owner` with a lease of `leaseMs`. */
  async claim(owner: string, now: Date, leaseMs: number, limit: number): Promise<DeliveryRow[]> {
    const at = iso(now);
    const due = (eb: any) => eb.or([
      eb.and([eb('state', '=', 'pending'), eb('next_attempt_at', '<=', at)]),
      eb.and([eb('state', '=', 'sending'), eb('lease_expires_at', '<', at)]),
    ]);
    const candidates = await this.db.kysely.selectFrom('notification_deliveries').select('id').where(due)
      .orderBy('next_attempt_at').limit(limit * 2).execute();
    const claimed: DeliveryRow[] = [];
    for (const { id } of candidates) {
      if (claimed.length >= limit) break;
      const res = await this.db.kysely.updateTable('notification_deliveries')
        .set((eb) => ({ state: 'sending', lease_owner: owner, lease_expires_at: isoPlus(now, leaseMs), attempts: eb('attempts', '+', 1), updated_at: at }))
        .where('id', '=', id).where(due)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) {
        claimed.push(await this.db.kysely.selectFrom('notification_deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
      }
    }
    return claimed;
  }

  /** Records the outcome of an attempt this owner holds the lease for. */
  async finish(id: string, owner: string, set: Pick<Partial<DeliveryRow>, 'state' | 'next_attempt_at' | 'last_error' | 'last_status' | 'delivered_at' | 'updated_at'>): Promise<void> {
    await this.db.kysely.updateTable('notification_deliveries')
      .set({ ...set, lease_owner: null, lease_expires_at: null })
      .where('id', '=', id).where('lease_owner', '=', owner)
      .execute();
  }

  /** Cancels the deliveries of a channel still waiting (it was disabled). */
  async cancelPending(channelId: string, reason: string, now: Date): Promise<void> {
    await this.db.kysely.updateTable('notification_deliveries')
      .set({ state: 'cancelled', last_error: reason, updated_at: iso(now) })
      .where('channel_id', '=', channelId).where('state', '=', 'pending')
      .execute();
  }
}
