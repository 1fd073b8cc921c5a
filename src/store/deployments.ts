/**
 * Rows of deployment: agents, deployment targets, the targets of each auto certificate, and
 * deployments. Tenant-scoped in the query itself, like every repository.
 */
import { sql } from 'kysely';
import type { Db } from './database.js';
import type { AgentsTable, DeploymentTargetsTable, DeploymentsTable } from './schema.js';
import { page, type Page } from './pagination.js';
import type { Executor } from './repositories.js';

/** An agent row. */
export type AgentRow = AgentsTable;
/** A deployment target row. */
export type DeploymentTargetRow = DeploymentTargetsTable;
/** A deployment row. */
export type DeploymentRow = DeploymentsTable;

/** Agents of a tenant. */
export class AgentsRepository {
  constructor(private readonly db: Db) {}
  get(tenantId: string, id: string, ex: Executor = this.db.kysely): Promise<AgentRow | undefined> {
    return ex.selectFrom('agents').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }
  /** By id or by (unique) name. */
  async find(tenantId: string, idOrName: string): Promise<AgentRow | undefined> {
    return (await this.get(tenantId, idOrName)) ??
      this.db.kysely.selectFrom('agents').selectAll().where('tenant_id', '=', tenantId).where('name', '=', idOrName).executeTakeFirst();
  }
  byCredential(hash: string): Promise<AgentRow | undefined> {
    return this.db.kysely.selectFrom('agents').selectAll().where('credential_hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
  }
  byEnrolment(hash: string): Promise<AgentRow | undefined> {
    return this.db.kysely.selectFrom('agents').selectAll().where('enrolment_hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
  }
  list(tenantId: string, filter: { name?: string }, offset: number, limit: number): Promise<Page<AgentRow>> {
    let q = this.db.kysely.selectFrom('agents').selectAll().where('tenant_id', '=', tenantId);
    if (filter.name) q = q.where('name', '=', filter.name);
    return page(q.orderBy('name').orderBy('id'), offset, limit);
  }
  /** Every enrolled, unrevoked agent of a tenant that answers http-01 for some names. */
  http01Agents(tenantId: string): Promise<AgentRow[]> {
    return this.db.kysely.selectFrom('agents').selectAll().where('tenant_id', '=', tenantId)
      .where('revoked_at', 'is', null).where('http01_names_json', '!=', '[]').execute();
  }
  async insert(row: AgentRow): Promise<void> {
    await this.db.kysely.insertInto('agents').values(row).execute();
  }
  async update(tenantId: string, id: string, set: Partial<AgentRow>, ex: Executor = this.db.kysely): Promise<number> {
    const r = await ex.updateTable('agents').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.kysely.deleteFrom('agents').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
}

/** Deployment targets of a tenant, and which auto certificates use them. */
export class DeploymentTargetsRepository {
  constructor(private readonly db: Db) {}
  get(tenantId: string, id: string, ex: Executor = this.db.kysely): Promise<DeploymentTargetRow | undefined> {
    return ex.selectFrom('deployment_targets').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }
  /** By id or by (unique) name. */
  async find(tenantId: string, idOrName: string): Promise<DeploymentTargetRow | undefined> {
    return (await this.get(tenantId, idOrName)) ??
      this.db.kysely.selectFrom('deployment_targets').selectAll().where('tenant_id', '=', tenantId).where('name', '=', idOrName).executeTakeFirst();
  }
  list(tenantId: string, filter: { name?: string; type?: string; agent?: string }, offset: number, limit: number): Promise<Page<DeploymentTargetRow>> {
    let q = this.db.kysely.selectFrom('deployment_targets').selectAll().where('tenant_id', '=', tenantId);
    if (filter.name) q = q.where('name', '=', filter.name);
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.agent) q = q.where('agent_id', '=', filter.agent);
    return page(q.orderBy('name').orderBy('id'), offset, limit);
  }
  byAgent(tenantId: string, agentId: string): Promise<DeploymentTargetRow[]> {
    return this.db.kysely.selectFrom('deployment_targets').selectAll().where('tenant_id', '=', tenantId).where('agent_id', '=', agentId).execute();
  }
  async insert(row: DeploymentTargetRow): Promise<void> {
    await this.db.kysely.insertInto('deployment_targets').values(row).execute();
  }
  async update(tenantId: string, id: string, set: Partial<DeploymentTargetRow>): Promise<void> {
    await this.db.kysely.updateTable('deployment_targets').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.kysely.deleteFrom('deployment_targets').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  /** The target ids of an auto certificate, in order. */
  async ofAutoCertificate(autoCertificateId: string, ex: Executor = this.db.kysely): Promise<string[]> {
    const rows = await ex.selectFrom('auto_certificate_targets').select('target_id').where('auto_certificate_id', '=', autoCertificateId).orderBy('position').execute();
    return rows.map((r) => r.target_id);
  }
  /** The target ids of many auto certificates at once (for lists). */
  async ofAutoCertificates(ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (ids.length === 0) return out;
    const rows = await this.db.kysely.selectFrom('auto_certificate_targets').selectAll().where('auto_certificate_id', 'in', ids).orderBy('position').execute();
    for (const r of rows) out.set(r.auto_certificate_id, [...(out.get(r.auto_certificate_id) ?? []), r.target_id]);
    return out;
  }
  /** Replaces the targets of an auto certificate. */
  async setForAutoCertificate(autoCertificateId: string, targetIds: string[], ex: Executor = this.db.kysely): Promise<void> {
    await ex.deleteFrom('auto_certificate_targets').where('auto_certificate_id', '=', autoCertificateId).execute();
    if (targetIds.length > 0) {
      await ex.insertInto('auto_certificate_targets').values(targetIds.map((target_id, position) => ({ auto_certificate_id: autoCertificateId, target_id, position }))).execute();
    }
  }
  /** How many auto certificates use a target. */
  async usage(targetId: string): Promise<number> {
    const r = await this.db.kysely.selectFrom('auto_certificate_targets').select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).where('target_id', '=', targetId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}

/** Filters of the deployment list. */
export interface DeploymentFilter {
  state?: string;
  target?: string;
  certificate?: string;
  autoCertificate?: string;
}

/** Deployments of a tenant. */
export class DeploymentsRepository {
  constructor(private readonly db: Db) {}
  get(tenantId: string, id: string, ex: Executor = this.db.kysely): Promise<DeploymentRow | undefined> {
    return ex.selectFrom('deployments').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }
  list(tenantId: string, filter: DeploymentFilter, offset: number, limit: number): Promise<Page<DeploymentRow>> {
    let q = this.db.kysely.selectFrom('deployments').selectAll().where('tenant_id', '=', tenantId);
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.target) q = q.where('target_id', '=', filter.target);
    if (filter.certificate) q = q.where('certificate_id', '=', filter.certificate);
    if (filter.autoCertificate) q = q.where('auto_certificate_id', '=', filter.autoCertificate);
    return page(q.orderBy('created_at', 'desc').orderBy('id', 'desc'), offset, limit);
  }
  async insert(row: DeploymentRow, ex: Executor = this.db.kysely): Promise<void> {
    await ex.insertInto('deployments').values(row).execute();
  }
  /** Updates a deployment; `where` adds conditions (e.g. the lease still held). Returns rows changed. */
  async update(id: string, set: Partial<DeploymentRow>, where: { leaseOwner?: string } = {}, ex: Executor = this.db.kysely): Promise<number> {
    let q = ex.updateTable('deployments').set(set).where('id', '=', id);
    if (where.leaseOwner !== undefined) q = q.where('lease_owner', '=', where.leaseOwner);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
  /**
   * Deployments of the given targets that are due (PENDING or FAILED with an attempt due) and not
   * leased by anyone else now.
   */
  due(targetIds: string[], now: string, limit: number): Promise<DeploymentRow[]> {
    if (targetIds.length === 0) return Promise.resolve([]);
    return this.db.kysely.selectFrom('deployments').selectAll()
      .where('target_id', 'in', targetIds)
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<=', now)]))
      .orderBy('next_attempt_at').limit(limit).execute();
  }
  /** Takes the lease of a due deployment (compare-and-set); false when another took it first. */
  async claim(id: string, owner: string, now: string, leaseUntil: string): Promise<boolean> {
    const r = await this.db.kysely.updateTable('deployments')
      .set({ lease_owner: owner, lease_expires_at: leaseUntil, updated_at: now, attempts: sql<number>`attempts + 1` })
      .where('id', '=', id).where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<=', now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  /** Closes the unfinished deployments of older versions on a target (a newer version replaces them). */
  async closeOlder(targetId: string, autoCertificateId: string, exceptCertificateId: string, now: string, ex: Executor = this.db.kysely): Promise<void> {
    await ex.updateTable('deployments')
      .set({ next_attempt_at: null, lease_owner: null, lease_expires_at: null, message: 'Replaced by the deployment of a newer version before it succeeded', updated_at: now })
      .where('target_id', '=', targetId).where('auto_certificate_id', '=', autoCertificateId)
      .where('certificate_id', '!=', exceptCertificateId).where('next_attempt_at', 'is not', null)
      .execute();
  }
  /** The latest deployment per target of a certificate. */
  ofCertificate(tenantId: string, certificateId: string): Promise<DeploymentRow[]> {
    return this.db.kysely.selectFrom('deployments').selectAll().where('tenant_id', '=', tenantId).where('certificate_id', '=', certificateId).orderBy('created_at').execute();
  }
}
