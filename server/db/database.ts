/**
 * One SQL dialect (PostgreSQL), two engines: PGlite in a data folder by default (no set-up), or a
 * PostgreSQL server when `DATABASE_URL` is set (a pg pool). The API keeps no state of its own, so
 * any number of instances can share one PostgreSQL database.
 *
 * Every query takes positional parameters ($1, $2 …); no SQL is ever built from input.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export type SqlValue = string | number | bigint | boolean | null | Uint8Array | Date | readonly string[] | readonly number[];

export interface QueryResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

/** What a statement needs: the database itself or an open transaction. */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<QueryResult<Row>>;
}

export interface Database extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export type DatabaseConfig =
  | { readonly engine: 'pglite'; readonly dataDir?: string }
  | { readonly engine: 'postgres'; readonly url: string; readonly maxConnections?: number };

/** `DATABASE_URL` → PostgreSQL; otherwise PGlite in `dataDir` (in memory when absent). */
export function configFromEnv(env: NodeJS.ProcessEnv, dataDir?: string): DatabaseConfig {
  const url = env.DATABASE_URL;
  if (url !== undefined && url !== '') return { engine: 'postgres', url };
  return dataDir !== undefined ? { engine: 'pglite', dataDir } : { engine: 'pglite' };
}

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  return config.engine === 'pglite' ? openPglite(config.dataDir) : openPostgres(config.url, config.maxConnections ?? 10);
}

function rowCount(n: number | null | undefined, rows: readonly unknown[]): number {
  return n ?? rows.length;
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  const db = dataDir !== undefined ? await PGlite.create(dataDir) : await PGlite.create();
  const wrap = (q: Pick<PGlite, 'query'>): Queryable => ({
    async query<Row>(sql: string, params: readonly SqlValue[] = []) {
      const r = await q.query<Row>(sql, params as unknown[]);
      return { rows: r.rows, rowCount: rowCount(r.affectedRows, r.rows) };
    },
  });
  const base = wrap(db);
  return {
    engine: 'pglite',
    query: base.query,
    transaction: (work) => db.transaction((tx) => work(wrap(tx))),
    exec: async (sql) => {
      await db.exec(sql);
    },
    close: () => db.close(),
  };
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max });
  // Fail at start, not at the first request, when the server is unreachable.
  const probe = await pool.connect();
  probe.release();
  const wrap = (q: pg.Pool | pg.PoolClient): Queryable => ({
    async query<Row>(sql: string, params: readonly SqlValue[] = []) {
      const r = await q.query(sql, params as unknown[]);
      return { rows: r.rows as Row[], rowCount: rowCount(r.rowCount, r.rows) };
    },
  });
  const base = wrap(pool);
  return {
    engine: 'postgres',
    query: base.query,
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    exec: async (sql) => {
      await pool.query(sql);
    },
    close: () => pool.end(),
  };
}
