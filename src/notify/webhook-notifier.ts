/**
 * Delivers webhook channels over HTTP(S): 2xx is delivered; 410 Gone disables the channel;
 * 408, 429 and 5xx are retried, honouring Retry-After; other answers fail the delivery. Redirects
 * are not followed (a redirect must not lead the server to an address the policy refuses).
 */
import { parseRetryAfter } from '../acme/retry-after.js';
import { DomainError } from '../domain-error.js';
import { checkOutboundUrl } from '../lifecycle/address-policy.js';
import { guardedFetch } from '../lifecycle/guarded-fetch.js';
import { DeliveryError, scrubDeliveryError } from './delivery-error.js';
import type { Notification } from './notification.js';
import { SEND_TIMEOUT_MS, type DeliveryReceipt, type Notifier } from './notifier.js';
import { buildWebhookRequest, type WebhookTarget } from './webhook-presets.js';

/** The `fetch` the notifier uses (injectable for tests). */
export type Fetch = typeof fetch;

/** Options of a webhook notifier. */
export interface WebhookNotifierOptions {
  allowPrivateAddresses: boolean;
  /** Default: {@link guardedFetch}, which applies the private-address rule at every connection. */
  fetch?: Fetch;
  timeoutMs?: number;
}

/** A short, single-line excerpt of a response body for error messages. */
function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line ? `: ${line.length > 200 ? `${line.slice(0, 199)}…` : line}` : '';
}

/** Discord and Telegram also say when to retry in their JSON body. */
function bodyRetryAfter(text: string, now: Date): Date | undefined {
  try {
    const j = JSON.parse(text) as { retry_after?: unknown; parameters?: { retry_after?: unknown } };
    const s = typeof j.retry_after === 'number' ? j.retry_after : typeof j.parameters?.retry_after === 'number' ? j.parameters.retry_after : undefined;
    return s !== undefined && s >= 0 ? new Date(now.getTime() + Math.ceil(s * 1000)) : undefined;
  } catch {
    return undefined;
  }
}

/** The network-level cause of a failed fetch, without the URL. */
function networkCause(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer within the time limit';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** The notifier of a webhook channel. */
export class WebhookNotifier implements Notifier {
  readonly #target: WebhookTarget;
  readonly #opts: WebhookNotifierOptions;

  readonly #fetch: Fetch;

  constructor(target: WebhookTarget, opts: WebhookNotifierOptions) {
    this.#target = target;
    this.#opts = opts;
    this.#fetch = opts.fetch ?? guardedFetch({ allowPrivateAddresses: opts.allowPrivateAddresses });
  }

  async send(n: Notification, signal: AbortSignal, now: Date): Promise<DeliveryReceipt> {
    try {
      return await this.#send(n, signal, now);
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      const t = this.#target;
      let path: string | undefined;
      try {
        const u = new URL(t.url);
        path = u.pathname.length > 1 ? u.pathname : u.search || undefined;
      } catch { /* no path to hide */ }
      throw scrubDeliveryError(err, [t.secret, t.botToken, t.token, path]);
    }
  }

  async #send(n: Notification, signal: AbortSignal, now: Date): Promise<DeliveryReceipt> {
    const req = buildWebhookRequest(this.#target, n, now);
    try {
      // Checked at each send, not only when the channel was saved: DNS may have changed since
      // (and the guarded fetch checks again at connection time, against DNS rebinding).
      await checkOutboundUrl(this.#target.url, 'settings.url', this.#opts.allowPrivateAddresses);
    } catch (err) {
      if (err instanceof DomainError) throw new DeliveryError(err.message, { retryable: false });
      throw err;
    }
    let res: Response;
    try {
      res = await this.#fetch(req.url, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#opts.timeoutMs ?? SEND_TIMEOUT_MS)]),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new DeliveryError(`${req.label}: ${networkCause(err)}`, { retryable: true });
    }
    const text = await res.text().catch(() => '');
    const status = res.status;
    if (status >= 200 && status < 300) return { status, detail: `HTTP ${status} from ${req.label}` };
    const what = `${req.label} answered HTTP ${status}${excerpt(text)}`;
    if (status === 410) {
      throw new DeliveryError(`${what}; the endpoint is gone, so the channel was disabled`, { retryable: false, status, disableChannel: true });
    }
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfter = parseRetryAfter(res.headers.get('retry-after') ?? undefined, now) ?? bodyRetryAfter(text, now);
      throw new DeliveryError(what, { retryable: true, status, retryAfter });
    }
    if (status >= 300 && status < 400) throw new DeliveryError(`${what}; redirects are not followed: configure the final URL`, { retryable: false, status });
    throw new DeliveryError(what, { retryable: false, status });
  }
}
