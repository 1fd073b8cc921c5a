/** http-01 key authorizations of orders in flight, shared through the database by every instance. */
import type { Db } from './database.js';
import { iso, type Clock } from './time.js';

/** Stores and answers http-01 tokens. */
export class Http01Tokens {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  /** Publishes a token for an order until `expiresAt` (idempotent). */
  async put(t: { token: string; keyAuthorization: string; orderId: string; identifier: string; expiresAt: Date; agentId?: string | null }): Promise<void> {
    await this.db.kysely.insertInto('http01_tokens').values({
      token: t.token, key_authorization: t.keyAuthorization, order_id: t.orderId, identifier: t.identifier, expires_at: iso(t.expiresAt), agent_id: t.agentId ?? null,
    }).onConflict((oc) => oc.column('token').doUpdateSet({ key_authorization: t.keyAuthorization, order_id: t.orderId, identifier: t.identifier, expires_at: iso(t.expiresAt), agent_id: t.agentId ?? null }))
      .execute();
  }

  /** The key authorization for `token`, if it is published and not expired. */
  async lookup(token: string): Promise<string | undefined> {
    const row = await this.db.kysely.selectFrom('http01_tokens').select('key_authorization')
      .where('token', '=', token).where('expires_at', '>', iso(this.clock())).executeTakeFirst();
    return row?.key_authorization;
  }

  /** The tokens published for an order. */
  forOrder(orderId: string) {
    return this.db.kysely.selectFrom('http01_tokens').selectAll().where('order_id', '=', orderId).execute();
  }

  /** Removes every token of an order. */
  async deleteForOrder(orderId: string): Promise<void> {
    await this.db.kysely.deleteFrom('http01_tokens').where('order_id', '=', orderId).execute();
  }

  /** Removes expired tokens (left by orders that were abandoned). */
  async sweep(): Promise<number> {
    const r = await this.db.kysely.deleteFrom('http01_tokens').where('expires_at', '<=', iso(this.clock())).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
