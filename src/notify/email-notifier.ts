/**
 * Delivers e-mail channels over SMTP with nodemailer: a plain-text and a simple HTML part, subject
 * `<prefix> [URGENT: ]<title>`. SMTP replies 4xx and connection trouble are retried; 5xx replies,
 * refused logins and refused recipients are not.
 */
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { DomainError } from '../domain-error.js';
import { DeliveryError, scrubDeliveryError } from './delivery-error.js';
import { eventFooter, type Notification } from './notification.js';
import { SEND_TIMEOUT_MS, type DeliveryReceipt, type Notifier } from './notifier.js';
import { checkSmtpHost } from './smtp-host-policy.js';

/** How the connection is secured: implicit TLS (`secure`), else STARTTLS required, if offered, or never. */
export type StartTls = 'required' | 'opportunistic' | 'never';

/** Where and how an e-mail channel delivers. Holds the SMTP password: never log it. */
export interface EmailTarget {
  to: string[];
  from: string;
  smtpHost: string;
  smtpPort: number;
  secure: boolean;
  starttls: StartTls;
  subjectPrefix: string;
  smtpUser?: string;
  smtpPassword?: string;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The subject line of `n`. */
export function emailSubject(prefix: string, n: Notification): string {
  return [prefix, n.severity === 'critical' ? `URGENT: ${n.title}` : n.title].filter(Boolean).join(' ');
}

/** The HTML part: the same text, escaped, with the headline emphasised. */
function emailHtml(n: Notification): string {
  const colour = n.severity === 'critical' ? '#b00020' : n.severity === 'warning' ? '#8a5a00' : '#222';
  const paragraphs = n.text.split('\n').map((l) => `<p style="margin:0 0 8px">${escapeHtml(l)}</p>`).join('');
  const footer = eventFooter(n.event).split('\n').map(escapeHtml).join('<br>');
  return `<!doctype html><html><body style="font-family:sans-serif;font-size:14px;color:#222">`
    + `<h2 style="color:${colour};font-size:18px">${escapeHtml(n.severity === 'critical' ? `URGENT: ${n.title}` : n.title)}</h2>`
    + `${paragraphs}<p style="color:#666;font-size:12px;margin-top:16px">${footer}</p></body></html>`;
}

/** The notifier of an e-mail channel. */
export class EmailNotifier implements Notifier {
  readonly #target: EmailTarget;
  readonly #allowPrivate: boolean;

  constructor(target: EmailTarget, opts: { allowPrivateAddresses: boolean }) {
    this.#target = target;
    this.#allowPrivate = opts.allowPrivateAddresses;
  }

  async send(n: Notification, signal: AbortSignal): Promise<DeliveryReceipt> {
    const t = this.#target;
    const where = `SMTP ${t.smtpHost}:${t.smtpPort}`;
    try {
      await checkSmtpHost(t.smtpHost, 'settings.smtpHost', this.#allowPrivate);
    } catch (err) {
      if (err instanceof DomainError) throw new DeliveryError(err.message, { retryable: false });
      throw err;
    }
    const options: SMTPTransport.Options = {
      host: t.smtpHost,
      port: t.smtpPort,
      secure: t.secure,
      requireTLS: !t.secure && t.starttls === 'required',
      ignoreTLS: !t.secure && t.starttls === 'never',
      connectionTimeout: SEND_TIMEOUT_MS,
      greetingTimeout: SEND_TIMEOUT_MS,
      socketTimeout: 2 * SEND_TIMEOUT_MS,
      logger: false,
      debug: false,
      ...(t.smtpUser ? { auth: { user: t.smtpUser, pass: t.smtpPassword ?? '' } } : {}),
    };
    const transport = nodemailer.createTransport(options);
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(signal.reason ?? new Error('aborted'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      const info = await Promise.race([
        transport.sendMail({
          from: t.from,
          to: t.to,
          subject: emailSubject(t.subjectPrefix, n),
          text: `${n.text}\n\n--\n${eventFooter(n.event)}\n`,
          html: emailHtml(n),
          headers: { 'X-Certkeeper-Event': n.event.type, 'X-Certkeeper-Delivery': n.deliveryId },
        }),
        aborted,
      ]);
      if (info.accepted.length === 0) {
        throw new DeliveryError(`${where} refused every recipient: ${info.rejected.map(String).join(', ')}`, { retryable: false });
      }
      const code = Number(/^(\d{3})/.exec(info.response ?? '')?.[1] ?? 250);
      return { status: code, detail: `${where} accepted the message for ${info.accepted.length} recipient(s)` };
    } catch (err) {
      if (signal.aborted) throw err;
      throw scrubDeliveryError(err instanceof DeliveryError ? err : classifySmtpError(err, where), [t.smtpPassword]);
    } finally {
      transport.close();
    }
  }
}

/** SMTP 4xx and network trouble are worth a retry; 5xx, bad logins and bad envelopes are not. */
function classifySmtpError(err: unknown, where: string): DeliveryError {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const message = `${where}: ${(e.message ?? String(err)).replace(/\s+/g, ' ').trim()}`;
  if (typeof e.responseCode === 'number') {
    return new DeliveryError(message, { retryable: e.responseCode < 500 && e.code !== 'EAUTH', status: e.responseCode });
  }
  return new DeliveryError(message, { retryable: !['EAUTH', 'EENVELOPE', 'EMESSAGE'].includes(e.code ?? '') });
}
