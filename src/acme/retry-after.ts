/**
 * Parses an HTTP `Retry-After` value (RFC 9110 §10.2.3): either delay-seconds or an HTTP-date.
 * Returns the absolute time, or undefined when absent or unparsable. RFC 8555 §6.6 and §7.4
 * use it on rate-limit errors and while an order or authorization is processing.
 */
export function parseRetryAfter(value: string | undefined, now: Date = new Date()): Date | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+$/.test(v)) return new Date(now.getTime() + Number(v) * 1000);
  // HTTP-date: IMF-fixdate, or the obsolete RFC 850 / asctime forms; all start with a day name.
  if (!/^[A-Za-z]{3,9},? /.test(v)) return undefined;
  // asctime carries no zone but means GMT (RFC 9110 §5.6.7); Date.parse would read it as local.
  const t = Date.parse(/^[A-Za-z]{3} [A-Za-z]{3} +\d{1,2} \d\d:\d\d:\d\d \d{4}$/.test(v) ? `${v} GMT` : v);
  return Number.isNaN(t) ? undefined : new Date(t);
}
