/**
 * The database side of a scrape: a few bounded queries that read the state of the repository,
 * the auto certificates and the job queue. Aggregates are one grouped count each; the
 * per-certificate rows are read only up to a limit, so a scrape stays cheap at 100,000
 * certificates. Every query works unchanged on SQLite and PostgreSQL.
 */
import { sql } from 'kysely';
import type { Db } from '../store/database.js';
import { iso } from '../store/time.js';

/** The `within` buckets of `certkeeper_certificates_expiring`, in days, smallest first. */
export const EXPIRING_WITHIN_DAYS = [1, 7, 14, 30] as const;

/** One certificate's per-certificate series. */
export interface CertificateFacts {
  id: string;
  name: string;
  state: string;
  source: string;
  not_after: string;
}

/** One auto certificate's per-auto-certificate series. */
export interface AutoCertificateFacts {
  id: string;
  name: string;
  next_renewal_at: string | null;
  failure_count: number;
}

/** What one scrape read from the database. */
export interface RepositorySnapshot {
  certificatesTotal: number;
  certificatesByStateSource: { state: string; source: string; n: number }[];
  /** Keyed by days: AVAILABLE certificates whose notAfter lies in (now, now + days]. */
  expiring: Map<number, number>;
  /** null when per-certificate series are off or the repository is larger than the limit. */
  certificates: CertificateFacts[] | null;
  autoCertificatesTotal: number;
  autoCertificatesByState: { state: string; n: number }[];
  /** null when per-certificate series are off or there are more auto certificates than the limit. */
  autoCertificates: AutoCertificateFacts[] | null;
  jobs: { kind: string; state: string; n: number }[];
  /** `run_at` of the longest-waiting job that is due and queued, or null. */
  oldestDueRunAt: string | null;
  /** The providers' directory URLs (recognised as the `directory` endpoint). */
  directoryUrls: string[];
}

const DAY_MS = 86_400_000;

/**
 * Reads a snapshot at `now`. `perCertificateLimit` is the largest number of certificates (and,
 * separately, of auto certificates) for which per-certificate rows are read; 0 reads none.
 */
export async function readRepository(db: Db, now: Date, perCertificateLimit: number): Promise<RepositorySnapshot> {
  const k = db.kysely;
  const nowIso = iso(now);

  const byStateSource = (await k.selectFrom('certificates')
    .select(['state', 'source', (eb) => eb.fn.countAll().as('n')])
    .groupBy(['state', 'source'])
    .execute()).map((r) => ({ state: r.state, source: r.source, n: Number(r.n) }));
  const certificatesTotal = byStateSource.reduce((s, r) => s + r.n, 0);

  // One range scan of the not_after index; each bucket is a conditional count.
  const horizon = (days: number) => iso(new Date(now.getTime() + days * DAY_MS));
  const maxDays = Math.max(...EXPIRING_WITHIN_DAYS);
  const buckets = await k.selectFrom('certificates')
    .select(EXPIRING_WITHIN_DAYS.map((d) => sql<number | string | null>`sum(case when not_after <= ${horizon(d)} then 1 else 0 end)`.as(`d${d}`)))
    .where('not_after', '>', nowIso)
    .where('not_after', '<=', horizon(maxDays))
    .where('state', '=', 'AVAILABLE')
    .executeTakeFirst() as Record<string, number | string | null> | undefined;
  const expiring = new Map<number, number>(EXPIRING_WITHIN_DAYS.map((d) => [d, Number(buckets?.[`d${d}`] ?? 0)]));

  const certificates = perCertificateLimit > 0 && certificatesTotal <= perCertificateLimit
    ? await k.selectFrom('certificates').select(['id', 'name', 'state', 'source', 'not_after']).orderBy('id').limit(perCertificateLimit).execute()
    : null;

  const autoByState = (await k.selectFrom('auto_certificates')
    .select(['state', (eb) => eb.fn.countAll().as('n')])
    .groupBy('state')
    .execute()).map((r) => ({ state: r.state, n: Number(r.n) }));
  const autoCertificatesTotal = autoByState.reduce((s, r) => s + r.n, 0);
  const autoCertificates = perCertificateLimit > 0 && autoCertificatesTotal <= perCertificateLimit
    ? (await k.selectFrom('auto_certificates').select(['id', 'name', 'next_renewal_at', 'failure_count']).orderBy('id').limit(perCertificateLimit).execute())
      .map((r) => ({ ...r, failure_count: Number(r.failure_count) }))
    : null;

  // Both use the (state, run_at) index of the jobs table.
  const jobs = (await k.selectFrom('jobs')
    .select(['kind', 'state', (eb) => eb.fn.countAll().as('n')])
    .where('state', 'in', ['queued', 'running'])
    .groupBy(['kind', 'state'])
    .execute()).map((r) => ({ kind: r.kind, state: r.state, n: Number(r.n) }));
  const oldest = await k.selectFrom('jobs')
    .select((eb) => eb.fn.min('run_at').as('t'))
    .where('state', '=', 'queued')
    .where('run_at', '<=', nowIso)
    .executeTakeFirst();

  const directoryUrls = (await k.selectFrom('providers').select('server').distinct().execute()).map((r) => r.server);

  return {
    certificatesTotal,
    certificatesByStateSource: byStateSource,
    expiring,
    certificates,
    autoCertificatesTotal,
    autoCertificatesByState: autoByState,
    autoCertificates,
    jobs,
    oldestDueRunAt: (oldest?.t as string | null | undefined) ?? null,
    directoryUrls,
  };
}
