/**
 * Backup and restore (issue 5 §5), on both engines: a backup restored into an empty database
 * holds everything (every table's rows, readable observations, the same audit chain, still
 * verifying); a flipped byte, a cut-off archive, frames out of order, the wrong key, or a target
 * that already holds data are refused and leave the target unchanged.
 */
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../server/backup/backup.js';
import { BackupError, HEADER_LEN, type KeySource } from '../../server/backup/archive-format.js';
import { dependencyOrder, quoteIdent } from '../../server/backup/schema-catalog.js';
import { verifyAuditChain } from '../../server/audit/verify.js';
import { PatientKeyring } from '../../server/crypto/patient-keys.js';
import type { Database } from '../../server/db/database.js';
import { searchObservations } from '../../server/store/observations.js';
import { describeEngines } from './support/engines.js';
import { buildWorld, type World } from './support/world.js';

async function archive(db: Database, source: KeySource): Promise<Uint8Array> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await createBackup(db, out, source);
  return new Uint8Array(Buffer.concat(chunks));
}

const stream = (bytes: Uint8Array, chunk = 1000) => Readable.from((function* () {
  for (let i = 0; i < bytes.length; i += chunk) yield Buffer.from(bytes.subarray(i, i + chunk));
})());

async function snapshot(db: Database): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of await dependencyOrder(db)) {
    out[t] = (await db.query<{ j: string }>(`SELECT to_jsonb(t)::text AS j FROM ${quoteIdent(t)} t`)).rows.map((r) => r.j).sort();
  }
  return out;
}

describeEngines('backup and restore', (engine) => {
  let world: World;
  let master: KeySource;
  let bytes: Uint8Array;
  const targets: Database[] = [];
  const target = async () => {
    const db = await engine.fresh();
    targets.push(db);
    return db;
  };

  beforeAll(async () => {
    world = await buildWorld(await engine.fresh());
    // Some traffic, so the audit log and a break-glass grant are in the backup too.
    await world.as('clinicianCare', { url: `/api/patients/${world.patientId}/observations`, purpose: 'TREAT' });
    await world.as('clinicianOther', { method: 'POST', url: '/api/break-glass', payload: { patientId: world.patientId, reason: 'Backup test: emergency access needed' } });
    await world.as('nurseOffShift', { url: `/api/patients/${world.patientId}`, purpose: 'TREAT' });
    master = { mode: 'master', backupKey: await world.keys.deriveKey('backup') };
    bytes = await archive(world.db, master);
  });
  afterAll(async () => {
    await world.app.close();
    await engine.dispose(world.db);
    for (const t of targets) await engine.dispose(t);
  });

  it('restores into an empty database: every row, readable observations, a verifying audit chain', async () => {
    const db = await target();
    const manifest = await restoreBackup(db, stream(bytes, 777), master);
    expect(manifest.tables.observations?.rows).toBe(30);
    expect(await snapshot(db)).toEqual(await snapshot(world.db));
    const verdict = await verifyAuditChain(db, world.keys);
    expect(verdict).toMatchObject({ ok: true });
    expect(verdict.ok && verdict.headSeq).toBe(manifest.auditHead.seq);
    const page = await searchObservations(db, new PatientKeyring(world.keys), { patientId: world.patientId, offset: 0, limit: 100 });
    expect(page.observations.map((o) => o.record)).toEqual(world.readings);
  });

  it('the archive holds no clinical value, patient key or name in clear', async () => {
    const text = Buffer.from(bytes).toString('latin1');
    for (const needle of [world.patientId, 'VL-1 Patch', 'SN-0001', 'observation.read', 'sub-clinicianCare']) expect(text).not.toContain(needle);
  });

  it('works with a passphrase instead of the master key', async () => {
    const source: KeySource = { mode: 'passphrase', passphrase: 'correct horse battery staple' };
    const withPassphrase = await archive(world.db, source);
    const db = await target();
    await expect(restoreBackup(db, stream(withPassphrase), { mode: 'passphrase', passphrase: 'wrong horse battery staple' })).rejects.toThrow(BackupError);
    await expect(restoreBackup(db, stream(withPassphrase), master)).rejects.toThrow(/passphrase/);
    await restoreBackup(db, stream(withPassphrase), source);
    expect((await snapshot(db)).observations).toHaveLength(30);
  });

  it('refuses damage, truncation, reordering, the wrong key and a non-empty target — and writes nothing', async () => {
    const db = await target();
    const empty = await snapshot(db);
    const flipped = bytes.slice();
    flipped[HEADER_LEN + 4 + 40]! ^= 1;
    const headerFlipped = bytes.slice();
    headerFlipped[12]! ^= 1;
    const firstLen = new DataView(bytes.buffer, bytes.byteOffset + HEADER_LEN).getUint32(0);
    const withoutFirstFrame = new Uint8Array([...bytes.subarray(0, HEADER_LEN), ...bytes.subarray(HEADER_LEN + 4 + firstLen)]);
    const cases: [string, Uint8Array, KeySource][] = [
      ['flipped byte', flipped, master],
      ['flipped header', headerFlipped, master],
      ['cut in a frame', bytes.subarray(0, bytes.length - 10), master],
      ['cut before the manifest', bytes.subarray(0, HEADER_LEN + 4 + firstLen), master],
      ['first frame dropped', withoutFirstFrame, master],
      ['empty', new Uint8Array(0), master],
      ['not an archive', new Uint8Array(200).fill(7), master],
      ['wrong key', bytes, { mode: 'master', backupKey: new Uint8Array(32) }],
    ];
    for (const [name, archiveBytes, source] of cases) {
      await expect(restoreBackup(db, stream(archiveBytes), source), name).rejects.toThrow(BackupError);
      expect(await snapshot(db), name).toEqual(empty);
    }
    await expect(restoreBackup(world.db, stream(bytes), master)).rejects.toThrow(/empty database/);
  });
});
