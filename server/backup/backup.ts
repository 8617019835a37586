/**
 * Backup and restore (issue 5 §5): every table of the schema, streamed page by page in one
 * consistent snapshot into the sealed frames of `archive-format.ts`, parents before children;
 * a final manifest carries the migrations, each table's row count and SHA-256, and the audit
 * head. Restore checks the target is empty, replays the frames in one transaction, and commits
 * only if every count and hash matches the manifest — otherwise nothing is written.
 * Values stay as stored: clinical values remain sealed under their (wrapped) patient keys.
 */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '../../src/core/bytes.js';
import type { Database, Queryable } from '../db/database.js';
import { archiveKey, BackupError, FrameKind, HEADER_LEN, MAX_FRAME, newHeader, openFrame, parseHeader, sealFrame, type KeySource } from './archive-format.js';
import { dependencyOrder, primaryKey, quoteIdent } from './schema-catalog.js';

const PAGE = 2000;

export interface Manifest {
  readonly format: 1;
  readonly createdAt: string;
  readonly migrations: readonly string[];
  readonly tables: Readonly<Record<string, { rows: number; sha256: string }>>;
  readonly auditHead: { seq: number; hash: string };
}

async function migrations(q: Queryable): Promise<string[]> {
  return (await q.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
}

export async function createBackup(db: Database, out: Writable, source: KeySource): Promise<Manifest> {
  const header = newHeader(source.mode);
  const key = await archiveKey(header, source);
  const write = async (bytes: Uint8Array) => {
    if (!out.write(bytes)) await once(out, 'drain');
  };
  await write(header.bytes);
  let index = 0;
  const manifest = await db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const tables: Record<string, { rows: number; sha256: string }> = {};
    for (const table of await dependencyOrder(tx)) {
      const order = (await primaryKey(tx, table)).map(quoteIdent).join(', ') || '1';
      const hash = sha256.create();
      let rows = 0;
      for (let offset = 0; ; offset += PAGE) {
        const page = (await tx.query<{ j: string }>(`SELECT to_jsonb(t)::text AS j FROM ${quoteIdent(table)} t ORDER BY ${order} LIMIT ${PAGE} OFFSET ${offset}`)).rows.map((r) => r.j);
        if (page.length === 0) break;
        for (const row of page) hash.update(utf8(row + '\n'));
        rows += page.length;
        await write(sealFrame(key, header, index++, FrameKind.Rows, JSON.stringify({ table, rows: page })));
        if (page.length < PAGE) break;
      }
      tables[table] = { rows, sha256: toHex(hash.digest()) };
    }
    const head = (await tx.query<{ seq: string; hash: Uint8Array }>('SELECT seq::text AS seq, hash FROM audit_head WHERE id = 1')).rows[0];
    return {
      format: 1 as const,
      createdAt: new Date().toISOString(),
      migrations: await migrations(tx),
      tables,
      auditHead: { seq: Number(head?.seq ?? 0), hash: head === undefined ? '' : toHex(new Uint8Array(head.hash)) },
    };
  });
  await write(sealFrame(key, header, index, FrameKind.Manifest, JSON.stringify(manifest)));
  out.end();
  await once(out, 'finish');
  return manifest;
}

/**
 * Reads the archive: first the fixed-size header, then length-prefixed frames, holding at most
 * one frame in memory.
 */
async function* frames(input: Readable): AsyncGenerator<Uint8Array, void, undefined> {
  let buffer = new Uint8Array(0);
  let headerRead = false;
  for await (const chunk of input as AsyncIterable<Uint8Array>) {
    const next = new Uint8Array(buffer.length + chunk.length);
    next.set(buffer);
    next.set(chunk, buffer.length);
    buffer = next;
    if (!headerRead) {
      if (buffer.length < HEADER_LEN) continue;
      yield buffer.slice(0, HEADER_LEN);
      buffer = buffer.slice(HEADER_LEN);
      headerRead = true;
    }
    for (;;) {
      if (buffer.length < 4) break;
      const len = new DataView(buffer.buffer, buffer.byteOffset).getUint32(0);
      if (len > MAX_FRAME) throw new BackupError('backup frame too large: the archive is damaged');
      if (buffer.length < 4 + len) break;
      yield buffer.slice(4, 4 + len);
      buffer = buffer.slice(4 + len);
    }
  }
  if (!headerRead) throw new BackupError('not a Vitalock backup archive (too short)');
  if (buffer.length > 0) throw new BackupError('backup archive ends in the middle of a frame: it was cut off');
}

async function assertEmpty(q: Queryable, tables: readonly string[]): Promise<void> {
  for (const t of ['patients', 'audit_log', 'observations']) {
    if (!tables.includes(t)) continue;
    const n = (await q.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(t)}`)).rows[0]?.n;
    if (n !== '0') throw new BackupError('restore needs an empty database: this one already holds data');
  }
}

export async function restoreBackup(db: Database, input: Readable, source: KeySource): Promise<Manifest> {
  const stream = frames(input);
  const first = await stream.next();
  if (first.done === true) throw new BackupError('not a Vitalock backup archive (empty)');
  const header = parseHeader(first.value);
  const key = await archiveKey(header, source);
  return db.transaction(async (tx) => {
    const order = await dependencyOrder(tx);
    await assertEmpty(tx, order);
    for (const t of [...order].reverse()) await tx.query(`DELETE FROM ${quoteIdent(t)}`);
    const seen: Record<string, { rows: number; hash: ReturnType<typeof sha256.create> }> = {};
    let index = 0;
    let manifest: Manifest | undefined;
    for await (const sealed of stream) {
      if (manifest !== undefined) throw new BackupError('backup archive has data after its manifest');
      const frame = openFrame(key, header, index++, sealed);
      if (frame.kind === FrameKind.Manifest) {
        manifest = JSON.parse(frame.json) as Manifest;
        continue;
      }
      const { table, rows } = JSON.parse(frame.json) as { table: string; rows: string[] };
      if (!order.includes(table)) throw new BackupError(`backup holds a table this database does not have: ${table}`);
      const acc = (seen[table] ??= { rows: 0, hash: sha256.create() });
      for (const row of rows) acc.hash.update(utf8(row + '\n'));
      acc.rows += rows.length;
      await tx.query(`INSERT INTO ${quoteIdent(table)} OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(null::${quoteIdent(table)}, $1::json)`, ['[' + rows.join(',') + ']']);
    }
    if (manifest === undefined) throw new BackupError('backup archive has no manifest: it was cut off');
    const here = await migrations(tx);
    if (JSON.stringify(here) !== JSON.stringify(manifest.migrations)) throw new BackupError('backup was made at another schema version: restore it with the same Vitalock version');
    for (const [table, expected] of Object.entries(manifest.tables)) {
      const got = seen[table];
      const rows = got?.rows ?? 0;
      const digest = got === undefined ? toHex(sha256(new Uint8Array(0))) : toHex(got.hash.digest());
      if (rows !== expected.rows || (rows > 0 && digest !== expected.sha256)) throw new BackupError(`table ${table} does not match the backup manifest`);
    }
    await resetSequences(tx, order);
    return manifest;
  });
}

async function resetSequences(tx: Queryable, tables: readonly string[]): Promise<void> {
  for (const t of tables) {
    const cols = await tx.query<{ column_name: string; seq: string | null }>(
      `SELECT column_name, pg_get_serial_sequence($1, column_name) AS seq FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $2`,
      [quoteIdent(t), t],
    );
    for (const c of cols.rows) {
      if (c.seq === null) continue;
      await tx.query(`SELECT setval($1, COALESCE((SELECT max(${quoteIdent(c.column_name)}) FROM ${quoteIdent(t)}), 0) + 1, false)`, [c.seq]);
    }
  }
}
