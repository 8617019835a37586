// The database engines the identity suites run on: PGlite always; PostgreSQL when
// VITALOCK_TEST_DATABASE_URL is set (each suite in a schema of its own, dropped afterwards),
// otherwise reported as skipped with the reason.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../../../server/db/database.js';
import { migrate } from '../../../../server/db/migrate.js';

export interface Engine {
  readonly name: 'pglite' | 'postgres';
  /** Why it does not run here, when it does not. */
  readonly skip?: string;
  open(): Promise<Database>;
}

const POSTGRES_URL = process.env.VITALOCK_TEST_DATABASE_URL;

export const ENGINES: readonly Engine[] = [
  {
    name: 'pglite',
    async open() {
      const db = await openDatabase({ engine: 'pglite' });
      await migrate(db);
      return db;
    },
  },
  {
    name: 'postgres',
    ...(POSTGRES_URL === undefined || POSTGRES_URL === '' ? { skip: 'VITALOCK_TEST_DATABASE_URL is not set; the PostgreSQL variant needs a server (.ci/run starts one)' } : {}),
    async open() {
      const url = POSTGRES_URL ?? '';
      const schema = `identity_test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.end();
      const scoped = new URL(url);
      scoped.searchParams.set('options', `-c search_path=${schema}`);
      const db = await openDatabase({ engine: 'postgres', url: scoped.toString(), maxConnections: 4 });
      await migrate(db);
      const close = db.close.bind(db);
      return {
        ...db,
        engine: db.engine,
        query: db.query.bind(db),
        transaction: db.transaction.bind(db),
        exec: db.exec.bind(db),
        async close() {
          await close();
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          await c.query(`DROP SCHEMA ${schema} CASCADE`);
          await c.end();
        },
      };
    },
  },
];

for (const e of ENGINES) if (e.skip !== undefined) console.warn(`[identity tests] ${e.name} skipped: ${e.skip}`);
