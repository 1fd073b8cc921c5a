/**
 * Migration 0006: the optional daily digest of notification channels. `digest_hour` is the hour
 * (0–23, UTC) of a channel's digest, NULL for none; `digest_day` is the last UTC day (YYYY-MM-DD)
 * whose digest was queued or skipped, which the digest scheduler advances with a compare-and-set.
 * The index keeps the digest's "last 24 hours" counts off a scan of the whole audit log.
 * Append-only like every migration: never edit it once shipped.
 */
import type { Kysely, Migration } from 'kysely';

export const m0006NotificationDigest: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('notification_channels').addColumn('digest_hour', 'integer').execute();
    await db.schema.alterTable('notification_channels').addColumn('digest_day', 'text').execute();
    await db.schema.createIndex('events_tenant_type_created').on('events').columns(['tenant_id', 'type', 'created_at']).execute();
  },
};
