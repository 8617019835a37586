/**
 * The audit chain (issue 5 §6), on both engines: appends link; edits, deletions, reorderings, a
 * cut tail, a forged head and entries appended past the signed head are each detected at the
 * right seq; the table refuses UPDATE, DELETE and TRUNCATE; concurrent appends from several
 * "instances" (separate connections) keep one unbroken order.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AuditLog } from '../../../server/audit/audit-log.js';
import { canonicalJson } from '../../../server/audit/audit-event.js';
import { verifyAuditChain } from '../../../server/audit/verify.js';
import { generateMasterKey, LocalKeyProvider } from '../../../server/crypto/key-provider.js';
import type { Database } from '../../../server/db/database.js';
import { describeEngines } from '../support/engines.js';

const event = (i: number) => ({ actor: `sub-${i % 3}`, action: 'observation.read', resource: `patient/p-${i}`, decision: 'allow' as const, reason: 'care relationship', detail: { requestId: `r-${i}`, n: i } });

/** Tampering needs the trigger out of the way, as an attacker with the database owner's rights would do. */
async function tamper(db: Database, sql: string, params: unknown[] = []): Promise<void> {
  await db.exec('ALTER TABLE audit_log DISABLE TRIGGER USER');
  try {
    await db.query(sql, params as never[]);
  } finally {
    await db.exec('ALTER TABLE audit_log ENABLE TRIGGER USER');
  }
}

/** Empties the log and its head between tests (one database per suite: PGlite takes seconds to start). */
async function resetAudit(db: Database): Promise<void> {
  await tamper(db, 'TRUNCATE audit_log');
  await db.query("UPDATE audit_head SET seq = 0, hash = $1, mac = NULL WHERE id = 1", [new Uint8Array(32)]);
}

describeEngines('audit chain', (engine) => {
  let db: Database;
  let keys: LocalKeyProvider;
  let log: AuditLog;

  beforeAll(async () => {
    db = await engine.fresh();
  });
  beforeEach(async () => {
    await resetAudit(db);
    keys = new LocalKeyProvider(generateMasterKey());
    log = new AuditLog(db, keys);
    for (let i = 1; i <= 10; i++) await log.append(event(i));
  });
  afterAll(async () => {
    await engine.dispose(db);
  });

  it('an intact chain verifies, with the signed head at the last seq', async () => {
    expect(await verifyAuditChain(db, keys)).toEqual({ ok: true, entries: 10, headSeq: 10 });
    const entries = await log.read(0, 100);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toEqual(entries[i - 1]?.hash);
  });

  it('an empty log verifies', async () => {
    await resetAudit(db);
    expect(await verifyAuditChain(db, keys)).toEqual({ ok: true, entries: 0, headSeq: 0 });
  });

  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    await expect(db.query("UPDATE audit_log SET actor = 'x' WHERE seq = 3")).rejects.toThrow(/append-only/);
    await expect(db.query('DELETE FROM audit_log WHERE seq = 10')).rejects.toThrow(/append-only/);
    await expect(db.exec('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect((await verifyAuditChain(db, keys)).ok).toBe(true);
  });

  it('detects an edited field at its seq', async () => {
    await tamper(db, "UPDATE audit_log SET decision = 'deny' WHERE seq = 4");
    expect(await verifyAuditChain(db, keys)).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'hash-mismatch' });
  });

  it('detects an edit that recomputes the hash (the next link breaks)', async () => {
    const { entryHash } = await import('../../../server/audit/audit-event.js');
    const e = (await log.read(5, 1))[0]!;
    const forged = { ...e, actor: 'someone-else' };
    await tamper(db, 'UPDATE audit_log SET actor = $1, hash = $2 WHERE seq = 6', [forged.actor, entryHash(forged)]);
    expect(await verifyAuditChain(db, keys)).toMatchObject({ ok: false, firstBadSeq: 7, problem: 'broken-link' });
  });

  it('detects a deleted entry in the middle', async () => {
    await tamper(db, 'DELETE FROM audit_log WHERE seq = 5');
    expect(await verifyAuditChain(db, keys)).toMatchObject({ ok: false, firstBadSeq: 5, problem: 'seq-gap' });
  });

  it('detects reordering (two entries swapped, seqs kept)', async () => {
    await tamper(
      db,
      `UPDATE audit_log a SET actor = b.actor, action = b.action, resource = b.resource, detail = b.detail, prev_hash = b.prev_hash, hash = b.hash
         FROM audit_log b WHERE (a.seq, b.seq) IN ((3, 4), (4, 3))`,
    );
    expect(await verifyAuditChain(db, keys)).toMatchObject({ ok: false, firstBadSeq: 3 });
  });

  it('detects a cut tail (last entries deleted) through the signed head', async () => {
    await tamper(db, 'DELETE FROM audit_log WHERE seq > 7');
    expect(await verifyAuditChain(db, keys)).toMatchObject({ ok: false, firstBadSeq: 8, problem: 'tail-missing' });
  });

  it('detects a cut tail whose head was rewound without the master key', async () => {
    const e7 = (await log.read(6, 1))[0]!;
    await tamper(db, 'DELETE FROM audit_log WHERE seq > 7');
    await db.query('UPDATE audit_head SET seq = 7, hash = $1 WHERE id = 1', [e7.hash]);
    expect(await verifyAuditChain(db, keys)).toMatchObject({ ok: false, firstBadSeq: 7, problem: 'head-signature' });
  });

  it('detects entries appended past the signed head by someone without the master key', async () => {
    const forger = new AuditLog(db, new LocalKeyProvider(generateMasterKey()));
    await forger.append(event(11));
    expect(await verifyAuditChain(db, keys)).toMatchObject({ ok: false, problem: 'head-signature' });
  });

  it('verifies under the right key only', async () => {
    expect((await verifyAuditChain(db, new LocalKeyProvider(generateMasterKey()))).ok).toBe(false);
  });

  it('keeps one order under concurrent appends from two instances', async () => {
    const other = new AuditLog(db, keys);
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? log : other).append(event(100 + i))));
    expect(await verifyAuditChain(db, keys)).toEqual({ ok: true, entries: 50, headSeq: 50 });
  });

  it('refuses malformed events before writing', async () => {
    await expect(log.append({ ...event(1), action: 'DROP TABLE' })).rejects.toThrow(RangeError);
    await expect(log.append({ ...event(1), actor: '' })).rejects.toThrow(RangeError);
    expect((await verifyAuditChain(db, keys)).entries).toBe(10);
  });
});

describe('canonical JSON', () => {
  it('is independent of key order and round-trips through JSON.parse (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null))), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(JSON.parse(canonicalJson(obj))).toEqual(obj);
      }),
    );
  });
});
