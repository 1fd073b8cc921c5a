/**
 * Migration 0005: the registered domains of each order, for the local budget per registered domain
 * (Let's Encrypt's "certificates per registered domain", 50 per 7 days). One row per (order,
 * registered domain), indexed by (registered_domain, created_at), so the budget check reads only one
 * domain's rows of the last week however many certificates the repository holds. Append-only like
 * every migration: never edit it once shipped.
 */
import type { Kysely, Migration } from 'kysely';
import { registeredDomains } from '../pki/registered-domain.js';

export const m0005RegisteredDomainBudget: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('order_domains')
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('registered_domain', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('order_domains_pk', ['order_id', 'registered_domain'])
      .execute();
    await db.schema.createIndex('order_domains_domain_created').on('order_domains').columns(['registered_domain', 'created_at']).execute();
    // Backfill the orders of the last week, so an upgrade mid-week does not reopen the whole
    // budget. Older orders can never count again. (The PSL is the one of the installed tldts: an
    // older or newer list only moves a few rows between domains, harmless for a budget.)
    const since = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const recent = await db.selectFrom('orders').select(['id', 'names_json', 'created_at']).where('created_at', '>', since).execute();
    for (const order of recent as { id: string; names_json: string; created_at: string }[]) {
      const rows = registeredDomains(JSON.parse(order.names_json) as string[])
        .map((registered_domain) => ({ order_id: order.id, registered_domain, created_at: order.created_at }));
      if (rows.length > 0) await db.insertInto('order_domains').values(rows).execute();
    }
  },
};
