/**
 * Row access for the resources, always scoped by tenant in the query itself, so an object of
 * another tenant reads exactly as a missing one.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Db } from './database.js';
import type { AutoCertificatesTable, CertificatesTable, ChallengesTable, Database, DnsZonesTable, OrdersTable, ProvidersTable } from './schema.js';
import { page, type Page } from './pagination.js';

/** A provider row. */
export type ProviderRow = ProvidersTable;
/** An auto certificate row. */
export type AutoCertificateRow = AutoCertificatesTable;
/** A certificate version row. */
export type CertificateRow = CertificatesTable;
/** An order row. */
export type OrderRow = OrdersTable;

/** Either the database or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** Providers of a tenant. */
export class ProvidersRepository {
  constructor(private readonly db: Db) {}
  get(tenantId: string, id: string, ex: Executor = this.db.kysely): Promise<ProviderRow | undefined> {
    return ex.selectFrom('providers').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }
  /** By id or by (unique) name. */
  async find(tenantId: string, idOrName: string): Promise<ProviderRow | undefined> {
    return (await this.get(tenantId, idOrName)) ??
      this.db.kysely.selectFrom('providers').selectAll().where('tenant_id', '=', tenantId).where('name', '=', idOrName).executeTakeFirst();
  }
  list(tenantId: string, filter: { name?: string; state?: string }, offset: number, limit: number): Promise<Page<ProviderRow>> {
    let q = this.db.kysely.selectFrom('providers').selectAll().where('tenant_id', '=', tenantId);
    if (filter.name) q = q.where('name', '=', filter.name);
    if (filter.state) q = q.where('state', '=', filter.state);
    return page(q.orderBy('created_at').orderBy('id'), offset, limit);
  }
  async insert(row: ProviderRow): Promise<void> {
    await this.db.kysely.insertInto('providers').values(row).execute();
  }
  async update(tenantId: string, id: string, set: Partial<ProviderRow>, ex: Executor = this.db.kysely): Promise<void> {
    await ex.updateTable('providers').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.kysely.deleteFrom('providers').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
}

/** Auto certificates of a tenant. */
export class AutoCertificatesRepository {
  constructor(private readonly db: Db) {}
  get(tenantId: string, id: string, ex: Executor = this.db.kysely): Promise<AutoCertificateRow | undefined> {
    return ex.selectFrom('auto_certificates').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }
  /** `within` limits the list to these ids (a consumer token's scope); an empty list matches nothing. */
  list(tenantId: string, filter: { name?: string; commonName?: string; state?: string; provider?: string }, offset: number, limit: number, within?: string[]): Promise<Page<AutoCertificateRow>> {
    let q = this.db.kysely.selectFrom('auto_certificates').selectAll().where('tenant_id', '=', tenantId);
    if (within) q = within.length ? q.where('id', 'in', within) : q.where(sql<boolean>`1 = 0`);
    if (filter.name) q = q.where('name', '=', filter.name);
    if (filter.commonName) q = q.where('common_name', '=', filter.commonName);
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.provider) q = q.where('provider_id', '=', filter.provider);
    return page(q.orderBy('created_at').orderBy('id'), offset, limit);
  }
  async countByProvider(tenantId: string, providerId: string): Promise<number> {
    const r = await this.db.kysely.selectFrom('auto_certificates').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId).where('provider_id', '=', providerId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
  async insert(row: AutoCertificateRow): Promise<void> {
    await this.db.kysely.insertInto('auto_certificates').values(row).execute();
  }
  async update(tenantId: string, id: string, set: Partial<AutoCertificateRow>, ex: Executor = this.db.kysely): Promise<void> {
    await ex.updateTable('auto_certificates').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.kysely.transaction().execute(async (tx) => {
      await tx.updateTable('certificates').set({ auto_certificate_id: null }).where('tenant_id', '=', tenantId).where('auto_certificate_id', '=', id).execute();
      await tx.deleteFrom('auto_certificates').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
    });
  }
}

/** Certificate versions of a tenant. */
export class CertificatesRepository {
  constructor(private readonly db: Db) {}
  get(tenantId: string, id: string, ex: Executor = this.db.kysely): Promise<CertificateRow | undefined> {
    return ex.selectFrom('certificates').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }
  /** `within` limits the list to versions of these auto certificates; an empty list matches nothing. */
  list(tenantId: string, filter: { commonName?: string; name?: string; state?: string; source?: string; autoCertificate?: string }, offset: number, limit: number, within?: string[]): Promise<Page<CertificateRow>> {
    let q = this.db.kysely.selectFrom('certificates').selectAll().where('tenant_id', '=', tenantId);
    if (within) q = within.length ? q.where('auto_certificate_id', 'in', within) : q.where(sql<boolean>`1 = 0`);
    if (filter.commonName) q = q.where('common_name', '=', filter.commonName);
    if (filter.name) q = q.where('name', '=', filter.name);
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.source) q = q.where('source', '=', filter.source);
    if (filter.autoCertificate) q = q.where('auto_certificate_id', '=', filter.autoCertificate);
    return page(q.orderBy('created_at', 'desc').orderBy('id'), offset, limit);
  }
  async insert(row: CertificateRow, ex: Executor = this.db.kysely): Promise<void> {
    await ex.insertInto('certificates').values(row).execute();
  }
  async update(tenantId: string, id: string, set: Partial<CertificateRow>, ex: Executor = this.db.kysely): Promise<void> {
    await ex.updateTable('certificates').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  async delete(tenantId: string, id: string, ex: Executor = this.db.kysely): Promise<void> {
    await ex.deleteFrom('certificates').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  /** Versions whose retention ended (`delete_after` passed), across tenants, bounded. */
  dueForDeletion(nowIso: string, limit: number): Promise<Pick<CertificateRow, 'id' | 'tenant_id' | 'name'>[]> {
    return this.db.kysely.selectFrom('certificates').select(['id', 'tenant_id', 'name'])
      .where('delete_after', '<=', nowIso).orderBy('delete_after').limit(limit).execute();
  }
}

/** ACME orders of issuances. */
export class OrdersRepository {
  constructor(private readonly db: Db) {}
  get(id: string): Promise<OrderRow | undefined> {
    return this.db.kysely.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
  }
  /** The unfinished order of an auto certificate, if one is in flight. */
  open(autoCertificateId: string): Promise<OrderRow | undefined> {
    return this.db.kysely.selectFrom('orders').selectAll().where('auto_certificate_id', '=', autoCertificateId)
      .where('finished_at', 'is', null).orderBy('created_at', 'desc').executeTakeFirst();
  }
  async insert(row: OrderRow): Promise<void> {
    await this.db.kysely.insertInto('orders').values(row).execute();
  }
  async update(id: string, set: Partial<OrderRow>, ex: Executor = this.db.kysely): Promise<void> {
    await ex.updateTable('orders').set(set).where('id', '=', id).execute();
  }
}

/** A DNS zone row. */
export type DnsZoneRow = DnsZonesTable;
/** A challenge row. */
export type ChallengeRow = ChallengesTable;

/** DNS zones of a tenant. */
export class DnsZonesRepository {
  constructor(private readonly db: Db) {}
  get(tenantId: string, id: string): Promise<DnsZoneRow | undefined> {
    return this.db.kysely.selectFrom('dns_zones').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }
  list(tenantId: string, filter: { zoneName?: string; provider?: string; state?: string }, offset: number, limit: number): Promise<Page<DnsZoneRow>> {
    let q = this.db.kysely.selectFrom('dns_zones').selectAll().where('tenant_id', '=', tenantId);
    if (filter.zoneName) q = q.where('zone_name', '=', filter.zoneName);
    if (filter.provider) q = q.where('provider', '=', filter.provider);
    if (filter.state) q = q.where('state', '=', filter.state);
    return page(q.orderBy('zone_name').orderBy('id'), offset, limit);
  }
  /** Every enabled zone of a tenant (zone lookup is a longest-suffix match over these). */
  enabled(tenantId: string): Promise<DnsZoneRow[]> {
    return this.db.kysely.selectFrom('dns_zones').selectAll().where('tenant_id', '=', tenantId).where('enabled', '=', 1).execute();
  }
  async insert(row: DnsZoneRow): Promise<void> {
    await this.db.kysely.insertInto('dns_zones').values(row).execute();
  }
  async update(tenantId: string, id: string, set: Partial<DnsZoneRow>): Promise<void> {
    await this.db.kysely.updateTable('dns_zones').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.kysely.deleteFrom('dns_zones').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
}

/** Challenges of orders. */
export class ChallengesRepository {
  constructor(private readonly db: Db) {}
  forOrder(orderId: string): Promise<ChallengeRow[]> {
    return this.db.kysely.selectFrom('challenges').selectAll().where('order_id', '=', orderId).orderBy('created_at').orderBy('identifier').execute();
  }
  /** Inserts, or returns the existing row for the same order and challenge URL. */
  async upsert(row: ChallengeRow): Promise<ChallengeRow> {
    const existing = await this.db.kysely.selectFrom('challenges').selectAll().where('order_id', '=', row.order_id).where('challenge_url', '=', row.challenge_url).executeTakeFirst();
    if (existing) return existing;
    await this.db.kysely.insertInto('challenges').values(row).execute();
    return row;
  }
  async update(id: string, set: Partial<ChallengeRow>): Promise<void> {
    await this.db.kysely.updateTable('challenges').set(set).where('id', '=', id).execute();
  }
}
