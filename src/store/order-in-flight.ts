/**
 * Recognises the database refusing a second order in flight for one auto certificate (the
 * partial unique index of migration 0008), on either back end, so callers treat it as "an order
 * is already in flight" — resume or wait — instead of as a failure.
 */
import { ORDER_IN_FLIGHT_INDEX } from './migration-one-order-in-flight.js';

/** True when `err` is the unique violation of {@link ORDER_IN_FLIGHT_INDEX}. */
export function isOrderInFlightConflict(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  // PostgreSQL: SQLSTATE 23505 unique_violation, naming the index.
  if (e.code === '23505') return e.constraint === ORDER_IN_FLIGHT_INDEX;
  // SQLite names the indexed columns, not the index; orders has no other unique index on that column.
  return e.code === 'SQLITE_CONSTRAINT_UNIQUE' && typeof e.message === 'string' && e.message.includes('orders.auto_certificate_id');
}
