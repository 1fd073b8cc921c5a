/**
 * What a channel sends for one event: the event itself (as the generic webhook carries it) and a
 * human rendering of it (title, text, severity) that e-mail and the chat presets format.
 */
import type { EventRow } from '../store/events.js';

/**
 * The type of the daily digest (src/notify/digest.ts). Deliberately NOT in the event vocabulary
 * (src/lifecycle/event-types.ts): the digest is a summary a channel asks for with its `digest`
 * property, never an entry of the audit log, so a channel's `events` filter does not apply to it
 * and `GET /events` never shows it.
 */
export const DIGEST_TYPE = 'digest.daily';

/** How loud a notification is. `critical` is the "louder" one: URGENT in subjects, ntfy priority 5. */
export type Severity = 'info' | 'warning' | 'critical';

/** The event as notifications carry it (the generic webhook's JSON body, minus presentation). */
export interface NotificationEvent {
  /** The event's id in the audit log (`GET /events`), as a string. */
  id: string;
  type: string;
  createdAt: string;
  subject: { type: string; id: string | null };
  message: string;
  data: Record<string, unknown>;
}

/** One message to one channel. */
export interface Notification {
  /** Unique per (channel, event); the receiver can de-duplicate retries with it. */
  deliveryId: string;
  event: NotificationEvent;
  severity: Severity;
  /** One line: an e-mail subject (without prefix), a chat message's headline. */
  title: string;
  /** Plain text body: what happened and what to do. */
  text: string;
}

/** The event of a stored row. */
export function notificationEvent(row: EventRow): NotificationEvent {
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(row.data_json) as Record<string, unknown>;
  } catch { /* an unreadable payload is sent as {} */ }
  return { id: String(row.id), type: row.type, createdAt: row.created_at, subject: { type: row.subject_type, id: row.subject_id }, message: row.message, data };
}

/** True when the event asks to be sent loudly: `data.critical === true` or `data.severity === "critical"`. */
export function isCritical(event: NotificationEvent): boolean {
  return event.data.critical === true || event.data.severity === 'critical';
}

/** The severity of an event. Expiry alerts are critical from 3 days left. */
export function severityOf(event: NotificationEvent): Severity {
  if (isCritical(event)) return 'critical';
  switch (event.type) {
    case 'certificate.expiring':
      return typeof event.data.daysLeft === 'number' && event.data.daysLeft <= 3 ? 'critical' : 'warning';
    case 'certificate.expired':
      return 'critical';
    case 'deployment.failed':
      return event.data.willRetry === false ? 'critical' : 'warning';
    case 'certificate.renewal_failed':
    case 'certificate.revoked':
    case 'provider.failed':
    case 'notification_channel.disabled':
      return 'warning';
    default:
      return 'info';
  }
}

const oneLine = (s: string, max = 200) => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/**
 * Renders an event for people. `subjectName` is the name of the certificate or auto certificate
 * the event is about, when it still exists.
 */
export function renderNotification(event: NotificationEvent, deliveryId: string, subjectName: string | null): Notification {
  const severity = severityOf(event);
  const name = subjectName ?? (typeof event.data.name === 'string' ? event.data.name : null) ?? event.subject.id ?? event.subject.type;
  let title: string;
  const lines: string[] = [];
  switch (event.type) {
    case 'certificate.expiring': {
      title = oneLine(event.message);
      lines.push(`${event.message}.`);
      if (typeof event.data.notAfter === 'string') lines.push(`Certificate ${name} is valid until ${event.data.notAfter}.`);
      lines.push(event.data.source === 'imported'
        ? 'It was imported into certkeeper: renew it with its CA and import the new version.'
        : 'certkeeper has not replaced it yet: check its auto certificate (state, message, failures).');
      break;
    }
    case 'certificate.renewal_failed': {
      title = isCritical(event)
        ? `Renewal of ${name} failed, and the active version expires before the next attempt`
        : `Renewal of ${name} failed`;
      lines.push(event.message);
      if (typeof event.data.failureCount === 'number') lines.push(`Consecutive failures: ${event.data.failureCount}.`);
      if (typeof event.data.retryAt === 'string') lines.push(`Next attempt: ${event.data.retryAt}.`);
      const activeNotAfter = event.data.activeNotAfter ?? event.data.notAfter;
      if (typeof activeNotAfter === 'string') lines.push(`The active version expires at ${activeNotAfter}.`);
      if (isCritical(event)) lines.push('Act now: fix the cause and renew by hand, or the certificate lapses.');
      break;
    }
    case 'deployment.failed': {
      const target = typeof event.data.targetName === 'string' ? event.data.targetName : 'its target';
      title = `Deployment to ${target} failed${event.data.willRetry === false ? ', no more attempts' : ''}`;
      lines.push(event.message);
      lines.push(event.data.willRetry === false
        ? 'certkeeper will not try again: fix the cause, then POST /api/v1/deployments/{id}/retry (or redeploy the auto certificate).'
        : 'certkeeper tries again with backoff; the server keeps serving the previous certificate until then.');
      break;
    }
    case 'certificate.expired':
      title = `${name} has expired`;
      lines.push(event.message);
      break;
    case 'notification_channel.test':
      title = 'Test message from certkeeper';
      lines.push(event.message);
      break;
    default:
      title = oneLine(event.message);
      lines.push(event.message);
  }
  return { deliveryId, event, severity, title: oneLine(title), text: lines.join('\n') };
}

/** The plain-text footer every e-mail carries: which event, about what, when. */
export function eventFooter(event: NotificationEvent): string {
  if (event.type === DIGEST_TYPE) {
    return [
      `Daily digest of ${typeof event.data.day === 'string' ? event.data.day : event.createdAt.slice(0, 10)} (UTC); not an event of the audit log`,
      `Channel: ${event.subject.id ?? ''}`,
      `Time: ${event.createdAt}`,
    ].join('\n');
  }
  return [
    `Event: ${event.type} (#${event.id} in the audit log)`,
    `Subject: ${event.subject.type}${event.subject.id ? ` ${event.subject.id}` : ''}`,
    `Time: ${event.createdAt}`,
  ].join('\n');
}
