/**
 * Migration 0009: deployment. Agents (enrolled with a one-time token, then authenticated by their
 * own credential), deployment targets (an agent's file layout, or an agentless target: ssh, script,
 * webhook, kubernetes-secret), the targets of each auto certificate, one deployment row per
 * (certificate version, target) attempt series, http-01 tokens an agent serves, and the CSRs of
 * keys generated on an agent. Append-only like every migration: never edit it once shipped.
 */
import type { Kysely, Migration } from 'kysely';

export const m0009Deployments: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('agents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      /** SHA-256 of the one-time enrolment token; null once used. */
      .addColumn('enrolment_hash', 'text')
      .addColumn('enrolment_expires_at', 'text')
      /** SHA-256 of the agent's credential; null before enrolment and after revocation. */
      .addColumn('credential_hash', 'text')
      .addColumn('enrolled_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('hostname', 'text')
      .addColumn('version', 'text')
      .addColumn('platform', 'text')
      .addColumn('http01_mode', 'text')
      /** JSON array of names (wildcards allowed) whose http-01 challenges this agent answers. */
      .addColumn('http01_names_json', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('last_seen_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('agents_tenant_name').unique().on('agents').columns(['tenant_id', 'name']).execute();
    await db.schema.createIndex('agents_credential').unique().on('agents').column('credential_hash').execute();
    await db.schema.createIndex('agents_enrolment').unique().on('agents').column('enrolment_hash').execute();

    await db.schema.createTable('deployment_targets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('agent_id', 'text')
      .addColumn('settings_json', 'text', (c) => c.notNull())
      /** Envelope of the JSON object of write-only credentials. */
      .addColumn('credentials_enc', 'text')
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('deployment_targets_tenant_name').unique().on('deployment_targets').columns(['tenant_id', 'name']).execute();
    await db.schema.createIndex('deployment_targets_agent').on('deployment_targets').column('agent_id').execute();

    await db.schema.createTable('auto_certificate_targets')
      .addColumn('auto_certificate_id', 'text', (c) => c.notNull())
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('auto_certificate_targets_pk', ['auto_certificate_id', 'target_id'])
      .execute();
    await db.schema.createIndex('auto_certificate_targets_target').on('auto_certificate_targets').column('target_id').execute();

    await db.schema.createTable('deployments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('certificate_id', 'text', (c) => c.notNull())
      .addColumn('auto_certificate_id', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('output', 'text')
      .addColumn('served_serial', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull())
      /** When the next attempt is due; null when none is (deployed, or out of attempts). */
      .addColumn('next_attempt_at', 'text')
      /** `agent:<id>` or an instance's worker while an attempt runs. */
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires_at', 'text')
      .addColumn('deployed_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('deployments_target_due').on('deployments').columns(['target_id', 'next_attempt_at']).execute();
    await db.schema.createIndex('deployments_certificate').on('deployments').column('certificate_id').execute();
    await db.schema.createIndex('deployments_tenant_created').on('deployments').columns(['tenant_id', 'created_at']).execute();

    await db.schema.alterTable('http01_tokens').addColumn('agent_id', 'text').execute();
    await db.schema.alterTable('http01_tokens').addColumn('agent_ack_at', 'text').execute();
    /** When set, the key of this auto certificate is generated on this agent and never leaves it. */
    await db.schema.alterTable('auto_certificates').addColumn('key_agent_id', 'text').execute();
    /** Set on a version whose key is held by an agent under this id (private_key_enc is then empty). */
    await db.schema.alterTable('certificates').addColumn('agent_key_id', 'text').execute();
    /** The CSR an agent answered for the order (keys generated on an agent). */
    await db.schema.alterTable('orders').addColumn('agent_key_id', 'text').execute();
    await db.schema.alterTable('orders').addColumn('csr_pem', 'text').execute();
  },
};
