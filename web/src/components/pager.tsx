/** Offset/limit paging of a collection: "51–100 of 240", previous, next, page size. */

/** Props of {@link Pager}. */
export interface PagerProps {
  offset: number;
  limit: number;
  total: number;
  onChange(offset: number, limit: number): void;
}

/** Page sizes offered. */
export const PAGE_SIZES = [25, 50, 100, 250];

/** The pager. */
export function Pager({ offset, limit, total, onChange }: PagerProps) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <nav class="pager" aria-label="Pages">
      <span class="muted" aria-live="polite">{first}–{last} of {total}</span>
      <button type="button" class="button" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit), limit)}>Previous</button>
      <button type="button" class="button" disabled={offset + limit >= total} onClick={() => onChange(offset + limit, limit)}>Next</button>
      <label class="inline">
        <span>Per page</span>
        <select value={String(limit)} onChange={(e) => onChange(0, Number((e.target as HTMLSelectElement).value))}>
          {PAGE_SIZES.map((n) => <option key={n} value={String(n)}>{n}</option>)}
        </select>
      </label>
    </nav>
  );
}
