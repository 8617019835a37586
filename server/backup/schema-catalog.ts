/**
 * What backup needs from the catalog (issue 5 §5): the schema's tables in foreign-key order
 * (parents first), each table's primary key, and identifier quoting. Names come from the catalog,
 * never from input, and are quoted anyway.
 */
import type { Queryable } from '../db/database.js';

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export async function dependencyOrder(q: Queryable): Promise<string[]> {
  const tables = (
    await q.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'schema_migrations' ORDER BY c.relname`,
    )
  ).rows.map((r) => r.name);
  const edges = (
    await q.query<{ child: string; parent: string }>(
      `SELECT cl.relname AS child, pr.relname AS parent FROM pg_constraint co
         JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_class pr ON pr.oid = co.confrelid
         JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE co.contype = 'f' AND n.nspname = current_schema()`,
    )
  ).rows;
  const ordered: string[] = [];
  const placed = new Set<string>();
  const visit = (t: string, path: Set<string>): void => {
    if (placed.has(t) || path.has(t)) return;
    path.add(t);
    for (const e of edges) if (e.child === t && e.parent !== t) visit(e.parent, path);
    placed.add(t);
    ordered.push(t);
  };
  for (const t of tables) visit(t, new Set());
  return ordered;
}

export async function primaryKey(q: Queryable, table: string): Promise<string[]> {
  const r = await q.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [quoteIdent(table)],
  );
  return r.rows.map((x) => x.attname);
}
