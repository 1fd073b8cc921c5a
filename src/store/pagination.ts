/** Offset/limit pagination shared by every list query. */
import type { SelectQueryBuilder } from 'kysely';

/** A page of rows and the total number that matched. */
export interface Page<T> {
  items: T[];
  offset: number;
  limit: number;
  total: number;
}

/** Runs `query` for one page (`orderBy` must already be applied) and counts all matches. */
export async function page<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, offset: number, limit: number): Promise<Page<O>> {
  const [items, count] = await Promise.all([
    query.offset(offset).limit(limit).execute(),
    query.clearSelect().clearOrderBy().select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).executeTakeFirst(),
  ]);
  return { items: items as O[], offset, limit, total: Number((count as { n?: unknown } | undefined)?.n ?? 0) };
}
