/** The table of a resource list: caption for screen readers, plain column headers, one row an item, a muted row when empty. */
import type { ComponentChildren, VNode } from 'preact';

/** Props of {@link ResourceTable}. */
export interface ResourceTableProps<T> {
  /** The visually hidden caption, if any. */
  caption?: ComponentChildren;
  /** Extra classes of the `<table>` beside `table`. */
  tableClass?: string;
  testId?: string;
  /** `aria-busy` of the wrapper while a newer page loads. */
  busy?: boolean;
  /** The column headers: text for a plain `<th scope="col">`, or the `<th>` itself. */
  columns: (string | VNode)[];
  items: T[];
  /** What the single row says when `items` is empty. */
  empty: ComponentChildren;
  row(item: T): VNode;
}

/** The list's table, in a horizontally scrolling wrapper. */
export function ResourceTable<T>({ caption, tableClass, testId, busy, columns, items, empty, row }: ResourceTableProps<T>) {
  return (
    <div class="table-wrap" aria-busy={busy}>
      <table class={tableClass ? `table ${tableClass}` : 'table'} data-testid={testId}>
        {caption !== undefined ? <caption class="visually-hidden">{caption}</caption> : null}
        <thead><tr>{columns.map((c) => (typeof c === 'string' ? <th key={c} scope="col">{c}</th> : c))}</tr></thead>
        <tbody>
          {items.length === 0 ? <tr><td colSpan={columns.length} class="muted">{empty}</td></tr> : items.map(row)}
        </tbody>
      </table>
    </div>
  );
}
