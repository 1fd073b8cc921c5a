/** A point in time: relative text, the absolute UTC time as a tooltip and for machines. */
import { absolute, relative, urgency } from '../time-format';

/** `<time>` showing "in 29 days" (or the absolute time with `absoluteFirst`). */
export function When({ iso, expiry = false, both = false }: { iso: string | null | undefined; expiry?: boolean; both?: boolean }) {
  if (!iso) return <span class="muted">—</span>;
  const cls = expiry ? `when urgency-${urgency(iso)}` : 'when';
  if (both) {
    return (
      <time dateTime={iso} class={cls}>
        {relative(iso)} <span class="muted">({absolute(iso)})</span>
      </time>
    );
  }
  return <time dateTime={iso} title={absolute(iso)} class={cls}>{relative(iso)}</time>;
}
