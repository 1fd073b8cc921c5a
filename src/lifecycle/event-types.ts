/**
 * The fixed event vocabulary (STYLE.md habit 9). Audit log, notifications, webhooks and metrics
 * all use these names; nothing invents its own event strings.
 */
export const EVENT_TYPES = [
  'provider.created',
  'provider.updated',
  'provider.deleted',
  'provider.available',
  'provider.failed',
  'dns_zone.created',
  'dns_zone.updated',
  'dns_zone.deleted',
  'auto_certificate.created',
  'auto_certificate.updated',
  'auto_certificate.deleted',
  'auto_certificate.paused',
  'auto_certificate.resumed',
  'auto_certificate.awaiting_validation',
  'certificate.renewal_requested',
  'certificate.order_created',
  'certificate.issued',
  'certificate.renewal_failed',
  'certificate.superseded',
  'certificate.imported',
  'certificate.exported',
  'certificate.private_key_exported',
  'certificate.revoked',
  'certificate.deleted',
  'certificate.expiring',
  'certificate.expired',
  'notification_channel.created',
  'notification_channel.updated',
  'notification_channel.deleted',
  'notification_channel.disabled',
  'notification_channel.test',
] as const;

/** One event name of the vocabulary. */
export type EventType = (typeof EVENT_TYPES)[number];
