/**
 * Every server suite runs on both engines (issue 5 §2): PGlite always, PostgreSQL when
 * `VITALOCK_TEST_DATABASE_URL` is set. Without it the PostgreSQL variant is reported as skipped,
 * with the reason printed — never passed silently. Each suite gets a fresh, migrated database
 * (PGlite in memory; a new PostgreSQL database created and dropped around the suite).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe } from 'vitest';
import { openDatabase, type Database } from '../../../server/db/database.js';
import { migrate } from '../../../server/db/migrate.js';

export type EngineName = 'pglite' | 'postgres';

/** A database the operator commands (child processes) reach through the environment. */
export interface OperatorTarget {
  readonly env: Record<string, string>;
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

export interface Engine {
  readonly name: EngineName;
  /** An empty database for a server or CLI process, named by environment variables. */
  operatorTarget(masterKey?: string): Promise<OperatorTarget>;
  /** A new, empty, migrated database. */
  fresh(options?: { migrated?: boolean }): Promise<Database>;
  /** Closes it and, on PostgreSQL, drops it. */
  dispose(db: Database): Promise<void>;
}

export const POSTGRES_URL = process.env.VITALOCK_TEST_DATABASE_URL;
export const POSTGRES_SKIP_REASON = 'VITALOCK_TEST_DATABASE_URL is not set (.ci/run starts PostgreSQL on loopback and sets it)';

const pglite: Engine = {
  name: 'pglite',
  async operatorTarget(masterKey) {
    const dir = await mkdtemp(join(tmpdir(), 'vitalock-op-'));
    return {
      env: { VITALOCK_DATA_DIR: dir, ...(masterKey !== undefined ? { VITALOCK_MASTER_KEY: masterKey } : {}) },
      open: () => openDatabase({ engine: 'pglite', dataDir: join(dir, 'pglite') }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
  async fresh(options) {
    const db = await openDatabase({ engine: 'pglite' });
    if (options?.migrated !== false) await migrate(db);
    return db;
  },
  dispose: (db) => db.close().catch(() => undefined),
};

const databaseNames = new WeakMap<Database, string>();

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const postgres: Engine = {
  name: 'postgres',
  async operatorTarget(masterKey) {
    const name = `vitalock_t_${randomBytes(6).toString('hex')}`;
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    const url = withDatabase(POSTGRES_URL ?? '', name);
    const dir = await mkdtemp(join(tmpdir(), 'vitalock-op-'));
    return {
      env: { DATABASE_URL: url, VITALOCK_DATA_DIR: dir, VITALOCK_MASTER_KEY: masterKey ?? randomBytes(32).toString('hex') },
      open: () => openDatabase({ engine: 'postgres', url, maxConnections: 2 }),
      cleanup: async () => {
        await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  async fresh(options) {
    const name = `vitalock_t_${randomBytes(6).toString('hex')}`;
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    const db = await openDatabase({ engine: 'postgres', url: withDatabase(POSTGRES_URL ?? '', name), maxConnections: 8 });
    databaseNames.set(db, name);
    if (options?.migrated !== false) await migrate(db);
    return db;
  },
  async dispose(db) {
    await db.close().catch(() => undefined);
    const name = databaseNames.get(db);
    if (name !== undefined) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  },
};

let reasonPrinted = false;

/** `describe` once per engine; the PostgreSQL one skipped (with the reason) when no server is configured. */
export function describeEngines(title: string, body: (engine: Engine) => void): void {
  describe(`${title} [pglite]`, () => body(pglite));
  if (POSTGRES_URL !== undefined && POSTGRES_URL !== '') {
    describe(`${title} [postgres]`, () => body(postgres));
  } else {
    if (!reasonPrinted) {
      console.warn(`PostgreSQL variants skipped: ${POSTGRES_SKIP_REASON}`);
      reasonPrinted = true;
    }
    describe.skip(`${title} [postgres] — skipped: ${POSTGRES_SKIP_REASON}`, () => body(postgres));
  }
}

export { pglite as pgliteEngine, postgres as postgresEngine };
