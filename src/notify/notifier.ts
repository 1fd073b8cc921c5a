/**
 * The plug-in contract of a notification channel kind (e-mail, webhook). Small on purpose:
 * which events go where, retries, backoff and records live once, in the dispatcher.
 */
import type { Notification } from './notification.js';

/** What the receiver answered. `detail` is safe to show (no secrets). */
export interface DeliveryReceipt {
  /** HTTP status or SMTP reply code. */
  status?: number;
  detail: string;
}

/** Sends notifications over one channel. */
export interface Notifier {
  /**
   * Sends `n` once. MUST resolve only when the receiver accepted it, MUST throw a
   * {@link import('./delivery-error.js').DeliveryError} otherwise (saying whether a retry can help),
   * MUST stop when `signal` aborts, and MUST NOT put a credential in an error or a log line.
   * `now` is the injected clock's time (signature timestamps, Retry-After).
   */
  send(n: Notification, signal: AbortSignal, now: Date): Promise<DeliveryReceipt>;
}

/** Time limit of one delivery attempt. */
export const SEND_TIMEOUT_MS = 10_000;
