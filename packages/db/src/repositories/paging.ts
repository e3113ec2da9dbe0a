import { sql, type SelectQueryBuilder } from 'kysely';

/**
 * One page of an ordered, limited query and the size of the whole filtered set,
 * from one statement (`count(*) over ()`), so a page and its total always agree.
 * Past the last page there is no row to carry the total: `countAll` asks for it.
 */
export async function pageWithTotal<R>(
  // Any tables: the helper only adds a column.
  page: SelectQueryBuilder<any, any, R>,
  offset: number,
  countAll: () => Promise<number | string | bigint>,
): Promise<{ rows: R[]; total: number }> {
  const found = await page.select(sql<string>`count(*) over ()`.as('__total')).execute();
  const rows = found.map(({ __total, ...row }) => row as R);
  const total = found[0]?.__total ?? (rows.length === 0 && offset > 0 ? await countAll() : 0);
  return { rows, total: Number(total) };
}
