/**
 * Schema migrations, written once with Kysely's schema builder so they run unchanged on SQLite
 * and PostgreSQL. Migrations are append-only: never edit one that has shipped.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { m0005RegisteredDomainBudget } from './migration-registered-domains.js';
import { m0006NotificationDigest } from './migration-notification-digest.js';
import { m0007Access } from './migration-access.js';
import { m0008OneOrderInFlight } from './migration-one-order-in-flight.js';
import { m0009Deployments } from './migration-deployments.js';

/** The SQL back ends certkeeper runs on. */
export type DialectName = 'sqlite' | 'postgres';

function audited<T extends { addColumn: (...a: any[]) => T }>(t: T): T {
  return t
    .addColumn('tenant_id', 'text', (c: any) => c.notNull())
    .addColumn('created_at', 'text', (c: any) => c.notNull())
    .addColumn('created_by', 'text', (c: any) => c.notNull())
    .addColumn('updated_at', 'text', (c: any) => c.notNull())
    .addColumn('updated_by', 'text', (c: any) => c.notNull());
}

const m0001 = (dialect: DialectName): Migration => ({
  async up(db: Kysely<any>) {
    await audited(
      db.schema.createTable('providers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('server', 'text', (c) => c.notNull())
        .addColumn('eab_key_id', 'text')
        .addColumn('eab_secret_enc', 'text')
        .addColumn('ca_certificates', 'text')
        .addColumn('profile', 'text')
        .addColumn('preferred_chain', 'text')
        .addColumn('account_key_enc', 'text', (c) => c.notNull())
        .addColumn('account_url', 'text')
        .addColumn('terms_of_service', 'text')
        .addColumn('profiles_json', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull()),
    ).execute();
    await db.schema.createIndex('providers_tenant_name').unique().on('providers').columns(['tenant_id', 'name']).execute();

    await audited(
      db.schema.createTable('auto_certificates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('provider_id', 'text', (c) => c.notNull().references('providers.id'))
        .addColumn('fallback_provider_ids', 'text', (c) => c.notNull())
        .addColumn('common_name', 'text', (c) => c.notNull())
        .addColumn('names_json', 'text', (c) => c.notNull())
        .addColumn('key_algorithm', 'text', (c) => c.notNull())
        .addColumn('challenge_type', 'text', (c) => c.notNull())
        .addColumn('key_policy', 'text', (c) => c.notNull())
        .addColumn('renew_before_days', 'integer')
        .addColumn('profile', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('last_issued_certificate_id', 'text')
        .addColumn('next_renewal_at', 'text')
        .addColumn('renewal_reason', 'text')
        .addColumn('last_attempt_at', 'text')
        .addColumn('next_attempt_at', 'text')
        .addColumn('failure_count', 'integer', (c) => c.notNull().defaultTo(0)),
    ).execute();
    await db.schema.createIndex('auto_certificates_tenant_name').unique().on('auto_certificates').columns(['tenant_id', 'name']).execute();
    await db.schema.createIndex('auto_certificates_next_renewal').on('auto_certificates').columns(['next_renewal_at']).execute();

    await audited(
      db.schema.createTable('certificates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('auto_certificate_id', 'text')
        .addColumn('provider_id', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('common_name', 'text')
        .addColumn('sans_json', 'text', (c) => c.notNull())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('serial_number', 'text', (c) => c.notNull())
        .addColumn('not_before', 'text', (c) => c.notNull())
        .addColumn('not_after', 'text', (c) => c.notNull())
        .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
        .addColumn('key_algorithm', 'text')
        .addColumn('certificate_pem', 'text', (c) => c.notNull())
        .addColumn('chain_pem', 'text', (c) => c.notNull())
        .addColumn('private_key_enc', 'text', (c) => c.notNull())
        .addColumn('delete_after', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('revocation_reason', 'text'),
    ).execute();
    await db.schema.createIndex('certificates_tenant_created').on('certificates').columns(['tenant_id', 'created_at']).execute();
    await db.schema.createIndex('certificates_tenant_cn').on('certificates').columns(['tenant_id', 'common_name']).execute();
    await db.schema.createIndex('certificates_auto').on('certificates').columns(['auto_certificate_id']).execute();
    await db.schema.createIndex('certificates_not_after').on('certificates').columns(['not_after']).execute();
    await db.schema.createIndex('certificates_delete_after').on('certificates').columns(['delete_after']).execute();

    await db.schema.createTable('orders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('auto_certificate_id', 'text', (c) => c.notNull())
      .addColumn('provider_id', 'text', (c) => c.notNull())
      .addColumn('names_json', 'text', (c) => c.notNull())
      .addColumn('key_algorithm', 'text', (c) => c.notNull())
      .addColumn('rekey', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('step', 'text', (c) => c.notNull())
      .addColumn('order_url', 'text')
      .addColumn('finalize_url', 'text')
      .addColumn('authorizations_json', 'text', (c) => c.notNull())
      .addColumn('key_enc', 'text')
      .addColumn('certificate_url', 'text')
      .addColumn('certificate_id', 'text')
      .addColumn('error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    await db.schema.createIndex('orders_auto_certificate').on('orders').columns(['auto_certificate_id', 'created_at']).execute();

    await db.schema.createTable('http01_tokens')
      .addColumn('token', 'text', (c) => c.primaryKey())
      .addColumn('key_authorization', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('identifier', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('http01_tokens_order').on('http01_tokens').columns(['order_id']).execute();

    await db.schema.createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('subject_id', 'text', (c) => c.notNull())
      .addColumn('active_key', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('payload_json', 'text', (c) => c.notNull())
      .addColumn('run_at', 'text', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires_at', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    // NULLs never collide in a unique index (both back ends): finished jobs set active_key to NULL.
    await db.schema.createIndex('jobs_active_key').unique().on('jobs').columns(['active_key']).execute();
    await db.schema.createIndex('jobs_due').on('jobs').columns(['state', 'run_at']).execute();

    await db.schema.createTable('events')
      .addColumn('id', 'integer', (c) => (dialect === 'postgres' ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement()))
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('subject_type', 'text', (c) => c.notNull())
      .addColumn('subject_id', 'text')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('data_json', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('events_tenant_id').on('events').columns(['tenant_id', 'id']).execute();

    await db.schema.createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('last_used_at', 'text')
      .execute();
  },
});

const m0002: Migration = {
  async up(db: Kysely<any>) {
    await audited(
      db.schema.createTable('dns_zones')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('zone_name', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('settings_json', 'text', (c) => c.notNull())
        .addColumn('credentials_enc', 'text')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('resolvers_json', 'text', (c) => c.notNull())
        .addColumn('propagation_timeout_seconds', 'integer', (c) => c.notNull())
        .addColumn('extra_delay_seconds', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('last_check_at', 'text'),
    ).execute();
    await db.schema.createIndex('dns_zones_tenant_name').unique().on('dns_zones').columns(['tenant_id', 'zone_name']).execute();

    // Every challenge of an order: what was published where, so the validations view can show it,
    // a resumed order can re-present it, and cleanup removes exactly what was written.
    await db.schema.createTable('challenges')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('identifier', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('manual', 'integer', (c) => c.notNull())
      .addColumn('authorization_url', 'text', (c) => c.notNull())
      .addColumn('challenge_url', 'text', (c) => c.notNull())
      .addColumn('token', 'text', (c) => c.notNull())
      .addColumn('key_authorization', 'text', (c) => c.notNull())
      .addColumn('record_name', 'text')
      .addColumn('target_name', 'text')
      .addColumn('record_value', 'text')
      .addColumn('zone_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('challenges_order').on('challenges').columns(['order_id']).execute();
  },
};

const m0003: Migration = {
  async up(db: Kysely<any>) {
    // Renewal automation: the ARI window of the active version (RFC 9773), the provider an
    // attempt is using (fail-over), and the exact name set of each order for the rate budget.
    for (const [name, type] of [
      ['ari_window_start', 'text'], ['ari_window_end', 'text'], ['ari_next_check_at', 'text'], ['ari_explanation_url', 'text'],
      ['current_provider_id', 'text'],
    ] as const) {
      await db.schema.alterTable('auto_certificates').addColumn(name, type).execute();
    }
    await db.schema.alterTable('orders').addColumn('names_hash', 'text').execute();
    await db.schema.alterTable('orders').addColumn('replaces', 'text').execute();
    await db.schema.createIndex('orders_names_hash').on('orders').columns(['names_hash', 'created_at']).execute();
    await db.schema.createIndex('auto_certificates_next_attempt').on('auto_certificates').columns(['next_attempt_at']).execute();
    await db.schema.createIndex('auto_certificates_ari_next_check').on('auto_certificates').columns(['ari_next_check_at']).execute();
    // Metrics and alert scans aggregate by state and source over expiry: keep them index-only.
    await db.schema.createIndex('certificates_state_source_not_after').on('certificates').columns(['state', 'source', 'not_after']).execute();
    await db.schema.createIndex('auto_certificates_state').on('auto_certificates').columns(['state']).execute();
  },
};

const m0004: Migration = {
  async up(db: Kysely<any>) {
    // Notifications: channels, one delivery per (channel, event) with its retries, the shared
    // read position of the event log, and the expiry thresholds already alerted per version.
    await audited(
      db.schema.createTable('notification_channels')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('events_json', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('settings_json', 'text', (c) => c.notNull())
        .addColumn('credentials_enc', 'text')
        .addColumn('start_event_id', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('last_delivery_at', 'text'),
    ).execute();
    await db.schema.createIndex('notification_channels_tenant_name').unique().on('notification_channels').columns(['tenant_id', 'name']).execute();

    await db.schema.createTable('notification_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('channel_id', 'text', (c) => c.notNull())
      .addColumn('event_id', 'integer', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'text', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires_at', 'text')
      .addColumn('last_error', 'text')
      .addColumn('last_status', 'integer')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('delivered_at', 'text')
      .execute();
    await db.schema.createIndex('notification_deliveries_channel_event').unique().on('notification_deliveries').columns(['channel_id', 'event_id']).execute();
    await db.schema.createIndex('notification_deliveries_due').on('notification_deliveries').columns(['state', 'next_attempt_at']).execute();
    await db.schema.createIndex('notification_deliveries_channel_created').on('notification_deliveries').columns(['channel_id', 'created_at']).execute();

    await db.schema.createTable('notification_cursor')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('last_event_id', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema.createTable('expiry_alerts')
      .addColumn('certificate_id', 'text', (c) => c.notNull())
      .addColumn('threshold_days', 'integer', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('not_after', 'text', (c) => c.notNull())
      .addColumn('sent', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('expiry_alerts_pk', ['certificate_id', 'threshold_days'])
      .execute();
    await db.schema.createIndex('expiry_alerts_not_after').on('expiry_alerts').columns(['not_after']).execute();
    // The dispatcher starts after the events that exist now: no channel can predate this migration.
    await db.insertInto('notification_cursor').columns(['id', 'last_event_id', 'updated_at'])
      .expression(db.selectFrom('events').select((eb) => [
        eb.val('events').as('id'),
        eb.fn.coalesce(eb.fn.max('id'), eb.lit(0)).as('last_event_id'),
        eb.val(new Date().toISOString()).as('updated_at'),
      ]))
      .execute();
  },
};

/** Kysely migration provider: the ordered migrations of the schema for one back end. */
export function migrationProvider(dialect: DialectName): MigrationProvider {
  return {
    getMigrations: async () => ({
      '0001_initial': m0001(dialect),
      '0002_dns_zones_and_challenges': m0002,
      '0003_renewal_automation': m0003,
      '0004_notifications': m0004,
      '0005_registered_domain_budget': m0005RegisteredDomainBudget,
      '0006_notification_digest': m0006NotificationDigest,
      '0007_access': m0007Access,
      '0008_one_order_in_flight': m0008OneOrderInFlight,
      '0009_deployments': m0009Deployments,
    }),
  };
}
