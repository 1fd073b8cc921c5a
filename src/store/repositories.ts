/**
 * Row access for the resources, always scoped by tenant in the query itself, so an object of
 * another tenant reads exactly as a missing one.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Db } from './database.js';
import type { AutoCertificatesTable, CertificatesTable, Database, OrdersTable, ProvidersTable } from './schema.js';
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
  list(tenantId: string, filter: { name?: string; commonName?: string; state?: string; provider?: string }, offset: number, limit: number): Promise<Page<AutoCertificateRow>> {
    let q = this.db.kysely.selectFrom('auto_certificates').selectAll().where('tenant_id', '=', tenantId);
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
  list(tenantId: string, filter: { commonName?: string; name?: string; state?: string; source?: string; autoCertificate?: string }, offset: number, limit: number): Promise<Page<CertificateRow>> {
    let q = this.db.kysely.selectFrom('certificates').selectAll().where('tenant_id', '=', tenantId);
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
