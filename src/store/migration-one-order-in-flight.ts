/**
 * Migration 0008: at most one order in flight per auto certificate, enforced by the database and
 * not only by the job table (DESIGN.md, "the life of an auto certificate", step 6). An order is in
 * flight until `finished_at` is set (issued, or closed by a failure that cannot be resumed); a
 * partial unique index, which SQLite and PostgreSQL both support, refuses a second one.
 *
 * Before it existed, two instances could each open an order for the same auto certificate (one
 * whose lease had lapsed still running beside the one that took the job over), and the issuance
 * job always resumed the newest open order. The older duplicates are therefore closed here, as
 * superseded, so the index can be built; the newest, the one the job resumes, is kept. Their
 * challenge rows stay for the record (a DNS record one of them left behind is not reachable from
 * a migration). Append-only like every migration: never edit it once shipped.
 */
import { sql, type Kysely, type Migration } from 'kysely';

/** Name of the partial unique index; a violation of it means "an order is already in flight". */
export const ORDER_IN_FLIGHT_INDEX = 'orders_one_in_flight';

export const m0008OneOrderInFlight: Migration = {
  async up(db: Kysely<any>) {
    const now = new Date().toISOString();
    await db.updateTable('orders')
      .set({ finished_at: now, updated_at: now, error: 'closed by migration 0008: a newer order of this auto certificate was in flight' })
      .where('finished_at', 'is', null)
      .where(({ exists, selectFrom }) => exists(
        selectFrom('orders as newer').select(sql.lit(1).as('one'))
          .whereRef('newer.auto_certificate_id', '=', 'orders.auto_certificate_id')
          .where('newer.finished_at', 'is', null)
          .where((eb) => eb.or([
            eb('newer.created_at', '>', eb.ref('orders.created_at')),
            eb.and([eb('newer.created_at', '=', eb.ref('orders.created_at')), eb('newer.id', '>', eb.ref('orders.id'))]),
          ])),
      ))
      .execute();
    await db.schema.createIndex(ORDER_IN_FLIGHT_INDEX).unique().on('orders').column('auto_certificate_id')
      .where(sql.ref('finished_at'), 'is', null)
      .execute();
  },
};
