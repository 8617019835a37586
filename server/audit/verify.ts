/**
 * Verifies the audit chain (issue 5 §6): every entry's hash recomputed, every link to the previous
 * hash, seqs 1, 2, 3 … without a gap, and the MAC'd head equal to the last entry — so an edit, a
 * deletion, a reordering or a cut tail each name the first seq that is wrong.
 */
import { equalBytes } from '../../src/core/bytes.js';
import type { Queryable } from '../db/database.js';
import type { KeyProvider } from '../crypto/key-provider.js';
import { entryHash, GENESIS_HASH } from './audit-event.js';
import { AUDIT_ANCHOR_PURPOSE, ENTRY_COLUMNS, entryFromRow, headMac } from './audit-log.js';

export type ChainProblem = 'hash-mismatch' | 'broken-link' | 'seq-gap' | 'tail-missing' | 'head-mismatch' | 'head-signature';

export type ChainVerdict =
  | { readonly ok: true; readonly entries: number; readonly headSeq: number }
  | { readonly ok: false; readonly firstBadSeq: number; readonly problem: ChainProblem; readonly entries: number };

const PAGE = 5000;

export async function verifyAuditChain(db: Queryable, keys: KeyProvider): Promise<ChainVerdict> {
  let expectedSeq = 1;
  let prev: Uint8Array = GENESIS_HASH;
  let entries = 0;
  for (;;) {
    const page = await db.query<Parameters<typeof entryFromRow>[0]>(`SELECT ${ENTRY_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY audit_log.seq LIMIT $2`, [expectedSeq, PAGE]);
    for (const row of page.rows) {
      const entry = entryFromRow(row);
      if (entry.seq !== expectedSeq) return { ok: false, firstBadSeq: expectedSeq, problem: 'seq-gap', entries };
      if (!equalBytes(entry.prevHash, prev)) return { ok: false, firstBadSeq: entry.seq, problem: 'broken-link', entries };
      if (!equalBytes(entryHash(entry), entry.hash)) return { ok: false, firstBadSeq: entry.seq, problem: 'hash-mismatch', entries };
      prev = entry.hash;
      expectedSeq += 1;
      entries += 1;
    }
    if (page.rows.length < PAGE) break;
  }
  // Rows below seq 1 can only come from tampering (the column checks seq >= 1); rows above a gap
  // were never reached by the loop above.
  const stray = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_log WHERE seq >= $1', [expectedSeq]);
  if (Number(stray.rows[0]?.n ?? 0) > 0) return { ok: false, firstBadSeq: expectedSeq, problem: 'seq-gap', entries };

  const head = (await db.query<{ seq: string; hash: Uint8Array; mac: Uint8Array | null }>('SELECT seq::text AS seq, hash, mac FROM audit_head WHERE id = 1')).rows[0];
  const lastSeq = expectedSeq - 1;
  if (head === undefined) return { ok: false, firstBadSeq: lastSeq + 1, problem: 'head-signature', entries };
  const headSeq = Number(head.seq);
  if (headSeq === 0 && lastSeq === 0) return { ok: true, entries, headSeq };
  const anchorKey = await keys.deriveKey(AUDIT_ANCHOR_PURPOSE);
  if (head.mac === null || !equalBytes(headMac(anchorKey, headSeq, new Uint8Array(head.hash)), new Uint8Array(head.mac))) {
    return { ok: false, firstBadSeq: Math.min(headSeq, lastSeq + 1), problem: 'head-signature', entries };
  }
  if (headSeq > lastSeq) return { ok: false, firstBadSeq: lastSeq + 1, problem: 'tail-missing', entries };
  // Entries past the signed head were appended by someone without the master key.
  if (headSeq < lastSeq) return { ok: false, firstBadSeq: headSeq + 1, problem: 'head-mismatch', entries };
  if (!equalBytes(new Uint8Array(head.hash), prev)) return { ok: false, firstBadSeq: headSeq, problem: 'head-mismatch', entries };
  return { ok: true, entries, headSeq };
}
