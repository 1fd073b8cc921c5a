/**
 * The optional daily digest of a notification channel: once a day, at the channel's hour (UTC),
 * one summary message — certificates expiring within the largest expiry threshold, auto
 * certificates that are FAILED, and what was issued, failed and revoked in the last 24 hours.
 *
 * Scheduling (several instances, downtime): `notification_channels.digest_day` holds the last UTC
 * day whose digest was queued (or skipped, when the digest was switched on after that day's hour).
 * {@link queueDigests} computes the day of the latest slot at or before now and advances
 * `digest_day` to it with a compare-and-set — a conditional UPDATE that matches only while the
 * stored day is still older — and, in the same transaction, inserts one delivery for that day. Only
 * the instance whose UPDATE changed the row queues it; a second instance's UPDATE matches nothing
 * (on PostgreSQL it waits for the winner's row lock and re-checks the condition). The delivery's
 * `event_id` is minus the day number, so the unique (channel, event) index of deliveries refuses a
 * second digest of the same day as well. After downtime only the latest slot is queued: at most
 * one digest, never one per missed day.
 *
 * Sending goes through the dispatcher like any delivery (lease, retries, backoff, the channel's
 * notifier); the content is collected when the delivery is sent.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '../lifecycle/context.js';
import type { EventType } from '../lifecycle/event-types.js';
import { DomainError, type FieldError } from '../domain-error.js';
import { iso } from '../store/time.js';
import { daysLeft, expiryMessage } from './expiry-scanner.js';
import { DIGEST_TYPE, type Notification, type Severity } from './notification.js';
import type { ChannelRow, DeliveryRow } from './notification-store.js';

const DAY_MS = 86_400_000;
/** Expiring certificates listed by name (the count covers all). */
export const DIGEST_EXPIRING_LISTED = 5;
/** Failing auto certificates listed by name (the count covers all). */
export const DIGEST_FAILING_LISTED = 10;
/** The hour of a digest enabled without one. */
export const DEFAULT_DIGEST_HOUR = 8;

/** The `digest` property as the API takes it. */
export interface DigestInput {
  enabled: boolean;
  /** 0–23, UTC; default {@link DEFAULT_DIGEST_HOUR}. */
  hour?: number;
}

/** The `digest` property as the API shows it. */
export type DigestView = { enabled: false } | { enabled: true; hour: number };

/**
 * Checks a `digest` property and returns the hour to store (null: no digest). Throws
 * `validation_failed` naming each bad field.
 */
export function checkDigest(input: DigestInput, field = 'properties.digest'): number | null {
  const errors: FieldError[] = [];
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    errors.push({ field, message: 'expected an object such as { "enabled": true, "hour": 8 }' });
  } else {
    for (const k of Object.keys(input)) if (k !== 'enabled' && k !== 'hour') errors.push({ field: `${field}.${k}`, message: 'unknown field: the digest takes enabled and hour' });
    if (typeof input.enabled !== 'boolean') errors.push({ field: `${field}.enabled`, message: 'required: true or false' });
    if (input.hour !== undefined && (!Number.isInteger(input.hour) || input.hour < 0 || input.hour > 23)) {
      errors.push({ field: `${field}.hour`, value: String(input.hour), message: 'expected a whole hour 0–23 (UTC)' });
    }
  }
  if (errors.length) throw new DomainError('validation_failed', `${field} is not valid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
  return input.enabled ? input.hour ?? DEFAULT_DIGEST_HOUR : null;
}

/** The `digest` property of a channel row. */
export function digestView(row: Pick<ChannelRow, 'digest_hour'>): DigestView {
  return row.digest_hour === null ? { enabled: false } : { enabled: true, hour: Number(row.digest_hour) };
}

/** The UTC day (YYYY-MM-DD) of the latest digest slot (`hour`:00 UTC) at or before `now`. */
export function dueDigestDay(now: Date, hour: number): string {
  const slot = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hour);
  return iso(new Date(now.getTime() >= slot ? slot : slot - DAY_MS)).slice(0, 10);
}

/**
 * The `digest_day` to store when a digest is switched on, moved to another hour or its channel
 * re-enabled at `now`: the slot that already passed is skipped (no digest right away), and a day
 * already sent stays sent (moving the hour never gives two digests in one day).
 */
export function startDigestDay(now: Date, hour: number, previous: string | null): string {
  const due = dueDigestDay(now, hour);
  return previous !== null && previous > due ? previous : due;
}

/** The delivery `event_id` of the digest of `day`: minus its day number, so never an audit-log id. */
export function digestEventId(day: string): number {
  return -Math.round(Date.parse(`${day}T00:00:00.000Z`) / DAY_MS);
}

/** The day of a digest delivery's `event_id`. */
export function digestDayOf(eventId: number): string {
  return iso(new Date(-eventId * DAY_MS)).slice(0, 10);
}

/**
 * Queues the digest of every enabled channel whose latest slot has not been queued yet; returns
 * how many this instance queued. MAY run concurrently on several instances (see the module comment).
 */
export async function queueDigests(ctx: Context): Promise<number> {
  const now = ctx.clock();
  const db = ctx.db.kysely;
  const channels = await db.selectFrom('notification_channels').select(['id', 'tenant_id', 'digest_hour', 'digest_day'])
    .where('enabled', '=', 1).where('digest_hour', 'is not', null).execute();
  let queued = 0;
  for (const c of channels) {
    const hour = Number(c.digest_hour);
    const due = dueDigestDay(now, hour);
    if (c.digest_day !== null && c.digest_day >= due) continue;
    const at = iso(now);
    const won = await db.transaction().execute(async (tx) => {
      // The compare-and-set: only the instance whose UPDATE moves the day forward sends.
      const res = await tx.updateTable('notification_channels').set({ digest_day: due })
        .where('id', '=', c.id).where('enabled', '=', 1).where('digest_hour', '=', hour)
        .where((eb) => eb.or([eb('digest_day', 'is', null), eb('digest_day', '<', due)]))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      const delivery: DeliveryRow = {
        id: randomUUID(), tenant_id: c.tenant_id, channel_id: c.id, event_id: digestEventId(due), event_type: DIGEST_TYPE,
        state: 'pending', attempts: 0, next_attempt_at: at, lease_owner: null, lease_expires_at: null,
        last_error: null, last_status: null, created_at: at, updated_at: at, delivered_at: null,
      };
      await tx.insertInto('notification_deliveries').values(delivery)
        .onConflict((oc) => oc.columns(['channel_id', 'event_id']).doNothing()).execute();
      return true;
    });
    if (won) queued++;
  }
  if (queued) ctx.logger.info({ component: 'notify', queued }, 'daily digests queued');
  return queued;
}

/** One expiring certificate version in a digest. */
export interface DigestExpiring {
  id: string;
  name: string;
  commonName: string | null;
  notAfter: string;
  daysLeft: number;
  source: string;
  autoCertificate: string | null;
}

/** One failing auto certificate in a digest. */
export interface DigestFailing {
  id: string;
  name: string;
  failureCount: number;
  message: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
}

/** What a digest reports (the `data` of its webhook body). */
export interface DigestData {
  /** The UTC day the digest is for. */
  day: string;
  hour: number;
  expiring: { horizonDays: number; count: number; soonest: DigestExpiring[] };
  failing: { count: number; items: DigestFailing[] };
  last24h: { since: string; issued: number; renewalFailed: number; revoked: number };
}

const COUNTED: EventType[] = ['certificate.issued', 'certificate.renewal_failed', 'certificate.revoked'];

/** Collects the digest of `tenantId` at `now`. */
export async function collectDigest(ctx: Context, tenantId: string, day: string, hour: number, now: Date): Promise<DigestData> {
  const db = ctx.db.kysely;
  const nowIso = iso(now);
  const horizonDays = Math.max(...ctx.config.expiryAlertDays);
  const horizon = iso(new Date(now.getTime() + horizonDays * DAY_MS));
  const expiringQ = db.selectFrom('certificates').where('tenant_id', '=', tenantId).where('state', '=', 'AVAILABLE')
    .where('not_after', '>', nowIso).where('not_after', '<=', horizon);
  const expiringCount = await expiringQ.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  const expiring = await expiringQ.select(['id', 'name', 'common_name', 'not_after', 'source', 'auto_certificate_id'])
    .orderBy('not_after').orderBy('id').limit(DIGEST_EXPIRING_LISTED).execute();
  const failingQ = db.selectFrom('auto_certificates').where('tenant_id', '=', tenantId).where('state', '=', 'FAILED');
  const failingCount = await failingQ.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  const failing = await failingQ.select(['id', 'name', 'failure_count', 'message', 'last_attempt_at', 'next_attempt_at'])
    .orderBy('name').orderBy('id').limit(DIGEST_FAILING_LISTED).execute();
  const since = iso(new Date(now.getTime() - DAY_MS));
  // events_tenant_type_created index (migration 0006).
  const counts = await db.selectFrom('events').select(['type', (eb) => eb.fn.countAll().as('n')])
    .where('tenant_id', '=', tenantId).where('type', 'in', COUNTED).where('created_at', '>', since).where('created_at', '<=', nowIso)
    .groupBy('type').execute();
  const count = (t: EventType) => Number(counts.find((c) => c.type === t)?.n ?? 0);
  return {
    day,
    hour,
    expiring: {
      horizonDays,
      count: Number(expiringCount?.n ?? 0),
      soonest: expiring.map((c) => ({
        id: c.id, name: c.name, commonName: c.common_name, notAfter: c.not_after, daysLeft: daysLeft(new Date(c.not_after), now),
        source: c.source, autoCertificate: c.auto_certificate_id,
      })),
    },
    failing: {
      count: Number(failingCount?.n ?? 0),
      items: failing.map((a) => ({
        id: a.id, name: a.name, failureCount: Number(a.failure_count), message: a.message, lastAttemptAt: a.last_attempt_at, nextAttemptAt: a.next_attempt_at,
      })),
    },
    last24h: { since, issued: count('certificate.issued'), renewalFailed: count('certificate.renewal_failed'), revoked: count('certificate.revoked') },
  };
}

const oneLine = (s: string, max = 200) => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The notification of a digest: an event-like body of type `digest.daily` about the channel,
 * with a plain-text summary. A warning when something fails or expires within 7 days, else info;
 * never critical (the loud messages are the events themselves).
 */
export function renderDigest(data: DigestData, channelId: string, deliveryId: string, now: Date): Notification {
  const title = `certkeeper daily digest: ${data.expiring.count} expiring, ${data.failing.count} failing`;
  const l = data.last24h;
  const last24h = `Last 24 hours: ${plural(l.issued, 'certificate')} issued, ${plural(l.renewalFailed, 'renewal failure')}, ${l.revoked} revoked.`;
  const lines = [`Daily digest of ${data.day} (UTC), as of ${iso(now)}.`, ''];
  if (data.expiring.count === 0) {
    lines.push(`Nothing expires within ${data.expiring.horizonDays} days.`);
  } else {
    lines.push(`Expiring within ${data.expiring.horizonDays} days: ${data.expiring.count}`);
    for (const c of data.expiring.soonest) {
      const origin = c.source === 'imported' ? 'imported' : 'renewed by its auto certificate';
      lines.push(`- ${expiryMessage(c.commonName ?? c.name, c.daysLeft)} (${c.notAfter}); version ${c.name}, ${origin}`);
    }
    if (data.expiring.count > data.expiring.soonest.length) lines.push(`- …and ${data.expiring.count - data.expiring.soonest.length} more`);
  }
  lines.push('');
  if (data.failing.count === 0) {
    lines.push('No auto certificate is failing.');
  } else {
    lines.push(`Auto certificates failing: ${data.failing.count}`);
    for (const a of data.failing.items) {
      lines.push(`- ${a.name}: ${plural(a.failureCount, 'consecutive failure')}; next attempt ${a.nextAttemptAt ?? 'not planned (renew it by hand)'}`);
      if (a.message) lines.push(`  ${oneLine(a.message)}`);
    }
    if (data.failing.count > data.failing.items.length) lines.push(`- …and ${data.failing.count - data.failing.items.length} more`);
  }
  lines.push('', last24h);
  const severity: Severity = data.failing.count > 0 || data.expiring.soonest.some((c) => c.daysLeft <= 7) ? 'warning' : 'info';
  const message = `${title}; ${last24h.charAt(0).toLowerCase()}${last24h.slice(1)}`;
  return {
    deliveryId,
    severity,
    title,
    text: lines.join('\n'),
    event: {
      id: `digest-${data.day}`,
      type: DIGEST_TYPE,
      createdAt: iso(now),
      subject: { type: 'notification-channel', id: channelId },
      message,
      data: data as unknown as Record<string, unknown>,
    },
  };
}

/** The notification of digest delivery `d` to `channel`, collected at `now`. */
export async function digestNotification(ctx: Context, channel: ChannelRow, d: DeliveryRow, now: Date): Promise<Notification> {
  const day = digestDayOf(Number(d.event_id));
  const data = await collectDigest(ctx, channel.tenant_id, day, Number(channel.digest_hour ?? DEFAULT_DIGEST_HOUR), now);
  return renderDigest(data, channel.id, d.id, now);
}
