/**
 * Migration 0007: who may do what. Tenants (the default tenant of single-tenant installs is a row
 * like any other), users with scrypt password hashes and lockout counters, browser sessions kept in
 * the database (so they work across instances), token scopes for consumers, and the source address
 * of every event. Append-only like every migration: never edit it once shipped.
 */
import type { Kysely, Migration } from 'kysely';

/** The tenant of single-tenant installs, and of `CERTKEEPER_ADMIN_TOKEN`. */
export const DEFAULT_TENANT = 'default';

export const m0007Access: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('tenants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .execute();
    await db.insertInto('tenants').values({ id: DEFAULT_TENANT, name: DEFAULT_TENANT, created_at: new Date().toISOString(), created_by: 'system' }).execute();

    await db.schema.createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text')
      .addColumn('invitation_hash', 'text')
      .addColumn('invitation_expires_at', 'text')
      .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('locked_until', 'text')
      .addColumn('last_login_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    // An address is unique within a tenant only: a tenant must not learn that another one has it.
    await db.schema.createIndex('users_tenant_email').unique().on('users').columns(['tenant_id', 'email']).execute();
    await db.schema.createIndex('users_email').on('users').columns(['email']).execute();
    await db.schema.createIndex('users_tenant').on('users').columns(['tenant_id', 'created_at']).execute();
    await db.schema.createIndex('users_invitation').unique().on('users').columns(['invitation_hash']).execute();

    await db.schema.createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('user_agent', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id']).execute();

    await db.schema.alterTable('api_tokens').addColumn('scope_json', 'text').execute();
    await db.schema.alterTable('api_tokens').addColumn('created_by', 'text', (c) => c.notNull().defaultTo('system')).execute();
    await db.schema.createIndex('api_tokens_tenant').on('api_tokens').columns(['tenant_id', 'created_at']).execute();
    await db.schema.alterTable('events').addColumn('source', 'text').execute();
  },
};
