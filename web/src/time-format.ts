/** Dates as operators read them: relative ("in 29 days") beside absolute UTC ("2026-12-25 13:00 UTC"). */

const DAY = 86_400_000;
const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "in 3 days", "2 hours ago", "now". */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const diff = Date.parse(iso) - now;
  const abs = Math.abs(diff);
  if (abs < 45_000) return 'now';
  if (abs < 3_600_000) return rtf.format(Math.round(diff / 60_000), 'minute');
  if (abs < DAY) return rtf.format(Math.round(diff / 3_600_000), 'hour');
  if (abs < 60 * DAY) return rtf.format(Math.round(diff / DAY), 'day');
  if (abs < 730 * DAY) return rtf.format(Math.round(diff / (30 * DAY)), 'month');
  return rtf.format(Math.round(diff / (365 * DAY)), 'year');
}

/** "2026-12-25 13:00 UTC". */
export function absolute(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "2026-12-25". */
export function day(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

/** Whole days from now until `iso` (negative when past). */
export function daysUntil(iso: string, now = Date.now()): number {
  return Math.floor((Date.parse(iso) - now) / DAY);
}

/** How urgent an expiry is: drives colour, never alone (the text says it too). */
export function urgency(iso: string, now = Date.now()): 'expired' | 'critical' | 'warning' | 'ok' {
  const d = (Date.parse(iso) - now) / DAY;
  if (d <= 0) return 'expired';
  if (d < 7) return 'critical';
  if (d < 30) return 'warning';
  return 'ok';
}
