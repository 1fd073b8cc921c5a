/**
 * The PostgreSQL connection pool, made to survive the database going away: every query is
 * bounded in time, a lost connection never crashes the process, and connections that timed out
 * are thrown away instead of being handed out again.
 *
 * Why each setting:
 * - node-postgres emits `error` on the pool when an idle connection dies (server restart, network
 *   cut) and on a client when its socket dies while checked out. An `error` event without a
 *   listener is thrown by Node and kills the process, so both get one here.
 * - `connectionTimeoutMillis` bounds both a new connection and the wait for a free one; without
 *   it a request waits forever while the server is unreachable.
 * - `query_timeout` (client side) bounds a query whose connection went silent (no RST: a cut
 *   network); `statement_timeout` (server side, a little shorter) lets the server cancel first
 *   when it is only slow. A connection whose query hit the client-side timeout is in an unknown
 *   state and is destroyed on release.
 * - TCP keep-alive detects dead idle connections.
 *
 * Any of these can be overridden in the database URL (`?statement_timeout=0`): node-postgres
 * lets URL parameters win over these defaults.
 */
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/** Where pool trouble is reported. */
export interface PoolLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Timeouts of the application pool (milliseconds). */
export const PG_TIMEOUTS = {
  connect: 5_000,
  statement: 25_000,
  query: 30_000,
  idleInTransaction: 60_000,
} as const;

/** A pool with the resilience above; `timeouts: false` for the migration pool (DDL and lock waits may be long). */
export async function createPgPool(url: string, opts: { max: number; timeouts: boolean; logger: PoolLogger; name: string }): Promise<PostgresPool> {
  const mod = await import('pg');
  const Pool = (mod.default?.Pool ?? (mod as unknown as typeof pg).Pool) as typeof pg.Pool;
  const pool = new Pool({
    connectionString: url,
    max: opts.max,
    connectionTimeoutMillis: PG_TIMEOUTS.connect,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'certkeeper',
    ...(opts.timeouts ? {
      statement_timeout: PG_TIMEOUTS.statement,
      query_timeout: PG_TIMEOUTS.query,
      idle_in_transaction_session_timeout: PG_TIMEOUTS.idleInTransaction,
    } : {}),
  });
  const broken = new WeakSet<pg.PoolClient>();
  let lost = false;
  pool.on('error', (err) => {
    // Reported once per outage: every idle connection fails at the same moment.
    if (lost) return;
    lost = true;
    opts.logger.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, `database connection lost (${opts.name} pool); queries fail until it is back`);
  });
  pool.on('connect', (client) => {
    if (lost) {
      lost = false;
      opts.logger.info({}, `database reachable again (${opts.name} pool)`);
    }
    // The query in flight receives the error itself; this listener only keeps the event from
    // being thrown while the client is checked out (the pool listens only while it is idle).
    client.on('error', () => undefined);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const result = query(...args);
      if (result instanceof Promise) {
        result.catch((err: unknown) => {
          if ((err as Error)?.message === 'Query read timeout') broken.add(client);
        });
      }
      return result;
    };
  });
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      const release = client.release.bind(client);
      (client as { release: (destroy?: boolean) => void }).release = (destroy?: boolean) => release(destroy || broken.has(client) ? true : undefined);
      return client as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
