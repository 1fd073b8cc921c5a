/**
 * Expiry alerts: appends one `certificate.expiring` event per (certificate version, threshold)
 * when the time left drops to a threshold (`CERTKEEPER_EXPIRY_ALERT_DAYS`, default 30, 14, 7, 3
 * and 1 days). The `expiry_alerts` table's primary key makes each alert happen once, across
 * restarts and instances: the alert row and its event are written in one transaction, and only the
 * instance whose insert created the row writes the event.
 *
 * Which versions: every `AVAILABLE` one, imported or issued. A version of an auto certificate whose
 * renewal is on schedule (not failing, not paused, renewal planned before expiry and not overdue by
 * more than {@link RENEWAL_GRACE_MS}) is skipped without being marked, so routine renewals raise no
 * alerts, and the alert comes at the next scan once the renewal falls behind.
 *
 * When several thresholds are crossed at once (an import with 5 days left), only the most urgent
 * one is sent and the larger ones are marked done.
 */
import type { Context } from '../lifecycle/context.js';
import type { EventType } from '../lifecycle/event-types.js';
import { iso } from '../store/time.js';

const DAY_MS = 86_400_000;
/** How long past its planned time a renewal may still be pending before its version is alerted. */
export const RENEWAL_GRACE_MS = 6 * 3_600_000;
/** Alert records are kept this long after the version's expiry (they are not needed after it). */
const PRUNE_AFTER_MS = 90 * DAY_MS;
const BATCH = 200;
const EXPIRING: EventType = 'certificate.expiring';

/** What a scan did. */
export interface ExpiryScanResult {
  /** Events appended. */
  alerted: number;
  /** Versions skipped because their renewal is on schedule. */
  deferred: number;
}

interface Candidate {
  id: string;
  tenant_id: string;
  name: string;
  common_name: string | null;
  not_after: string;
  source: string;
  auto_certificate_id: string | null;
  ac_state: string | null;
  ac_failure_count: number | null;
  ac_next_renewal_at: string | null;
  ac_last_issued: string | null;
}

/** True when the version's auto certificate will replace it in time: no alert yet. */
function renewalOnSchedule(c: Candidate, now: Date): boolean {
  if (!c.auto_certificate_id || c.ac_state === null || c.ac_last_issued !== c.id) return false;
  if (c.ac_state !== 'AVAILABLE' && c.ac_state !== 'PROVISIONING') return false;
  if (Number(c.ac_failure_count ?? 0) > 0 || !c.ac_next_renewal_at) return false;
  const planned = Date.parse(c.ac_next_renewal_at);
  return planned < Date.parse(c.not_after) && planned + RENEWAL_GRACE_MS > now.getTime();
}

/** Whole days left, rounded up: 6.2 days reads "7 days", as the threshold it just crossed. */
export function daysLeft(notAfter: Date, now: Date): number {
  return Math.max(1, Math.ceil((notAfter.getTime() - now.getTime()) / DAY_MS));
}

/** The message of an expiry alert, e.g. `www.example.com expires in 7 days`. */
export function expiryMessage(label: string, days: number): string {
  return `${label} expires in ${days} day${days === 1 ? '' : 's'}`;
}

/**
 * Scans the repository once at the context's clock. `thresholds` are days (any order); it MAY
 * run concurrently on several instances.
 */
export async function scanExpiringCertificates(ctx: Context, thresholds: readonly number[] = ctx.config.expiryAlertDays): Promise<ExpiryScanResult> {
  const now = ctx.clock();
  const nowIso = iso(now);
  const ascending = [...new Set(thresholds)].sort((a, b) => a - b);
  const result: ExpiryScanResult = { alerted: 0, deferred: 0 };
  const db = ctx.db.kysely;
  const deferred = new Set<string>();
  // Most urgent first, so a version inside several thresholds gets the smallest one, and the
  // larger ones find it handled.
  for (const t of ascending) {
    const horizon = iso(new Date(now.getTime() + t * DAY_MS));
    let after: { notAfter: string; id: string } | null = null;
    for (;;) {
      // certificates_not_after index: the range (now, now + t days] of AVAILABLE versions not yet
      // alerted at t or a more urgent threshold.
      let q = db.selectFrom('certificates as c')
        .leftJoin('auto_certificates as ac', 'ac.id', 'c.auto_certificate_id')
        .select([
          'c.id', 'c.tenant_id', 'c.name', 'c.common_name', 'c.not_after', 'c.source', 'c.auto_certificate_id',
          'ac.state as ac_state', 'ac.failure_count as ac_failure_count', 'ac.next_renewal_at as ac_next_renewal_at', 'ac.last_issued_certificate_id as ac_last_issued',
        ])
        .where('c.state', '=', 'AVAILABLE')
        .where('c.not_after', '>', nowIso)
        .where('c.not_after', '<=', horizon)
        .where(({ not, exists, selectFrom }) => not(exists(
          selectFrom('expiry_alerts as a').select('a.certificate_id').whereRef('a.certificate_id', '=', 'c.id').where('a.threshold_days', '<=', t),
        )));
      if (after) {
        const a = after;
        q = q.where((eb) => eb.or([eb('c.not_after', '>', a.notAfter), eb.and([eb('c.not_after', '=', a.notAfter), eb('c.id', '>', a.id)])]));
      }
      const batch = await q.orderBy('c.not_after').orderBy('c.id').limit(BATCH).execute() as Candidate[];
      for (const c of batch) {
        if (renewalOnSchedule(c, now)) {
          deferred.add(c.id);
          continue;
        }
        if (await alert(ctx, c, t, ascending, now)) result.alerted++;
      }
      if (batch.length < BATCH) break;
      const last = batch[batch.length - 1]!;
      after = { notAfter: last.not_after, id: last.id };
    }
  }
  result.deferred = deferred.size;
  await db.deleteFrom('expiry_alerts').where('not_after', '<', iso(new Date(now.getTime() - PRUNE_AFTER_MS))).execute();
  if (result.alerted) ctx.logger.info(result, 'expiry alerts raised');
  return result;
}

/** Records threshold `t` for `c` and appends its event, unless another scan got there first. */
async function alert(ctx: Context, c: Candidate, t: number, thresholds: number[], now: Date): Promise<boolean> {
  const nowIso = iso(now);
  const notAfter = new Date(c.not_after);
  const days = daysLeft(notAfter, now);
  const label = c.common_name ?? c.name;
  return ctx.db.kysely.transaction().execute(async (tx) => {
    const won = await tx.insertInto('expiry_alerts')
      .values({ certificate_id: c.id, threshold_days: t, tenant_id: c.tenant_id, not_after: c.not_after, sent: 1, created_at: nowIso })
      .onConflict((oc) => oc.columns(['certificate_id', 'threshold_days']).doNothing())
      .returning('certificate_id')
      .executeTakeFirst();
    if (!won) return false;
    const larger = thresholds.filter((x) => x > t);
    if (larger.length) {
      await tx.insertInto('expiry_alerts')
        .values(larger.map((x) => ({ certificate_id: c.id, threshold_days: x, tenant_id: c.tenant_id, not_after: c.not_after, sent: 0, created_at: nowIso })))
        .onConflict((oc) => oc.columns(['certificate_id', 'threshold_days']).doNothing())
        .execute();
    }
    // Written here rather than through EventLog.append so the event commits with its alert row.
    await tx.insertInto('events').values({
      tenant_id: c.tenant_id,
      type: EXPIRING,
      subject_type: 'certificate',
      subject_id: c.id,
      actor: 'system',
      message: expiryMessage(label, days),
      data_json: JSON.stringify({
        name: c.name, commonName: c.common_name, notAfter: c.not_after, daysLeft: days, thresholdDays: t,
        source: c.source, autoCertificate: c.auto_certificate_id,
      }),
      created_at: nowIso,
    }).execute();
    return true;
  });
}
