/**
 * Why a notification was not delivered, as a type (STYLE.md habit 6): whether a retry can help,
 * when the receiver asked us to come back, and whether the receiver said the endpoint is gone.
 * Messages MUST NOT carry credentials (SMTP passwords, bot tokens, webhook URLs with tokens).
 */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  /** True when the same message may succeed later (timeouts, 429, 5xx, SMTP 4xx). */
  readonly retryable: boolean;
  /** The receiver's Retry-After, when it sent one. */
  readonly retryAfter: Date | undefined;
  /** HTTP status or SMTP reply code, when the receiver answered. */
  readonly status: number | undefined;
  /** True when the receiver said the endpoint no longer exists (HTTP 410): the channel is disabled. */
  readonly disableChannel: boolean;

  constructor(message: string, opts: { retryable: boolean; retryAfter?: Date | undefined; status?: number | undefined; disableChannel?: boolean }) {
    super(message);
    this.retryable = opts.retryable;
    this.retryAfter = opts.retryAfter;
    this.status = opts.status;
    this.disableChannel = opts.disableChannel ?? false;
  }
}

/** Any error as a {@link DeliveryError}; unknown errors count as retryable. */
export function asDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as Error;
  if (e?.name === 'TimeoutError') return new DeliveryError('no answer within the time limit', { retryable: true });
  return new DeliveryError(e?.message ?? String(err), { retryable: true });
}

/**
 * `err` with every occurrence of the given secrets replaced (defence in depth: a receiver or a
 * library might echo part of a request in its error).
 */
export function scrubDeliveryError(err: DeliveryError, secrets: Array<string | undefined>): DeliveryError {
  let message = err.message;
  for (const s of secrets) if (s && s.length >= 4) message = message.split(s).join('[redacted]');
  if (message === err.message) return err;
  return new DeliveryError(message, { retryable: err.retryable, retryAfter: err.retryAfter, status: err.status, disableChannel: err.disableChannel });
}
