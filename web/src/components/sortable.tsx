/** Client-side sorting of the rows on screen: column headers are buttons, `aria-sort` tells which. */
import { useMemo, useState } from 'preact/hooks';

/** Which column, which way. */
export interface SortState {
  key: string;
  dir: 'asc' | 'desc';
}

type Key<T> = (row: T) => string | number | null | undefined;

/** Sorts `rows` by the chosen column's key; empty values sort last either way. */
export function useSort<T>(rows: T[], keys: Record<string, Key<T>>, initial: SortState) {
  const [sort, setSort] = useState<SortState>(initial);
  const sorted = useMemo(() => {
    const key = keys[sort.key];
    if (!key) return rows;
    const factor = sort.dir === 'asc' ? 1 : -1;
    return [...rows].sort((a, b) => {
      const x = key(a);
      const y = key(b);
      if (x === y) return 0;
      if (x === null || x === undefined || x === '') return 1;
      if (y === null || y === undefined || y === '') return -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), 'en', { numeric: true })) * factor;
    });
    // `keys` is a fresh object each render but always describes the same columns.
  }, [rows, sort.key, sort.dir]);
  const toggle = (key: string) => setSort((s) => (s.key === key ? { key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: 'asc' }));
  return { sorted, sort, toggle };
}

/** A `<th>` whose button sorts by `column`. */
export function SortHeader({ label, column, sort, toggle }: { label: string; column: string; sort: SortState; toggle(key: string): void }) {
  const active = sort.key === column;
  return (
    <th scope="col" aria-sort={active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" class="sort" onClick={() => toggle(column)}>
        {label}
        <span class="sort-mark" aria-hidden="true">{active ? (sort.dir === 'asc' ? '▲' : '▼') : '↕'}</span>
      </button>
    </th>
  );
}
