/**
 * The registered domains of each order (table `order_domains`, migration 0005) and the one query
 * the local budget per registered domain needs. Both go through the index
 * (registered_domain, created_at): one domain's week is one index range, then a primary-key look-up
 * per row in `orders`, so the cost follows that week's orders, not the repository's size.
 */
import type { Db } from './database.js';
import type { Executor } from './repositories.js';

/** A registered domain whose weekly budget is spent. */
export interface SpentDomain {
  registeredDomain: string;
  /** Certificates counted in the window. */
  issued: number;
  /** created_at of the counted order whose leaving the window brings the count under the limit. */
  freedBy: string;
}

/** Registered domains of orders. */
export class OrderDomains {
  constructor(private readonly db: Db) {}

  /** Records the registered domains of an order. Idempotent: recording again changes nothing. */
  async record(order: { id: string; created_at: string }, registeredDomains: readonly string[], ex: Executor = this.db.kysely): Promise<void> {
    if (registeredDomains.length === 0) return;
    await ex.insertInto('order_domains')
      .values(registeredDomains.map((registered_domain) => ({ order_id: order.id, registered_domain, created_at: order.created_at })))
      .onConflict((oc) => oc.columns(['order_id', 'registered_domain']).doNothing())
      .execute();
  }

  /**
   * The domains among `registeredDomains` that already have at least `limit` certificates from
   * orders created after `since` (ISO): only orders that ended with a certificate count, of every
   * tenant and provider.
   */
  async spent(registeredDomains: readonly string[], since: string, limit: number): Promise<SpentDomain[]> {
    if (registeredDomains.length === 0) return [];
    const counted = () => this.db.kysely.selectFrom('order_domains as d').innerJoin('orders as o', 'o.id', 'd.order_id')
      .where('d.created_at', '>', since).where('o.certificate_id', 'is not', null);
    const over = await counted()
      .select((eb) => ['d.registered_domain', eb.fn.countAll<number | string | bigint>().as('issued')])
      .where('d.registered_domain', 'in', [...registeredDomains])
      .groupBy('d.registered_domain')
      .having((eb) => eb.fn.countAll(), '>=', limit)
      .execute();
    const out: SpentDomain[] = [];
    for (const row of over) {
      const issued = Number(row.issued);
      // The (issued − limit)-th oldest, counting from 0: once it leaves, limit − 1 remain.
      const freedBy = await counted().select('d.created_at').where('d.registered_domain', '=', row.registered_domain)
        .orderBy('d.created_at').limit(1).offset(issued - limit).executeTakeFirst();
      if (freedBy) out.push({ registeredDomain: row.registered_domain, issued, freedBy: freedBy.created_at });
    }
    return out;
  }
}
