/**
 * Signatures of generic webhooks: `X-Certkeeper-Signature: v1=<hex HMAC-SHA256(secret,
 * "<timestamp>.<body>")>` with `X-Certkeeper-Timestamp: <unix seconds>`. The key is the UTF-8
 * bytes of the channel's secret as shown at creation. Signing the timestamp with the body lets a
 * receiver refuse replays of an old, validly signed request.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Header names (lower case, as Node's HTTP server presents them). */
export const SIGNATURE_HEADER = 'x-certkeeper-signature';
export const TIMESTAMP_HEADER = 'x-certkeeper-timestamp';

/** A fresh random webhook secret (32 bytes, base64url). */
export function generateWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The signature header value of `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * Verifies a received webhook: the timestamp is within `toleranceSeconds` of `now` and one of the
 * `v1=` signatures in the header (comma-separated) matches. Compares in constant time.
 */
export function verifyWebhookSignature(opts: { secret: string; body: string; timestamp: string | undefined; signature: string | undefined; toleranceSeconds?: number; now?: Date }): boolean {
  const { secret, body, timestamp, signature } = opts;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - Number(timestamp)) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body), 'utf8');
  return signature.split(',').map((s) => s.trim()).some((candidate) => {
    const got = Buffer.from(candidate, 'utf8');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
