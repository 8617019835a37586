/**
 * The cloud's side of the sensors' hash chains (protocol §8.4, §11.4; issue 5 §7): for each
 * device, the chain is recomputed from the records as they arrive, in seq order, and compared
 * with the sensor's signed checkpoints. A checkpoint at seq b decides the span (a, b] since the
 * previous checkpoint a: `verified` when the recomputed head equals the signed one, otherwise
 * `unverified` (`chain-mismatch`: a record of the span was altered, dropped or fabricated). After
 * a mismatch the chain continues from the signed head, so one bad span does not condemn the next.
 *
 * Batches arrive in any order and from several hubs: records beyond a gap wait, stored (encrypted
 * per patient) like any other, until the gap fills; the chain then reads them back from the
 * observation store (`ChainInput.storedAfter`), so nothing but the readings themselves holds a
 * reading value. A checkpoint that arrives before its records waits in `ingest_checkpoints`; one
 * that arrives after the chain passed it is compared with the head kept at every
 * CHECKPOINT_INTERVAL-th seq. All of it runs inside the ingestion
 * transaction, with the device's chain row locked, so concurrent batches of one device serialise.
 */
import { equalBytes } from '../../src/core/bytes.js';
import { chainNext, chainStart, CHECKPOINT_INTERVAL, type Checkpoint } from '../../src/core/checkpoint.js';
import type { BatchRecord } from '../../src/core/sealed-batch.js';
import type { Queryable } from '../db/database.js';

export type SpanStatus = 'verified' | 'unverified';

export interface SpanDecision {
  /** Exclusive. */
  readonly fromSeq: number;
  /** Inclusive: the checkpoint's seq. */
  readonly toSeq: number;
  readonly status: SpanStatus;
  readonly reason?: string;
}

export interface ChainInput {
  readonly deviceId: Uint8Array;
  /** The device id as stored (lower-case hex). */
  readonly device: string;
  /** This batch's records, in seq order. */
  readonly records: readonly BatchRecord[];
  /** This batch's checkpoints whose signature verified under a trusted certificate. */
  readonly checkpoints: readonly Checkpoint[];
  /** The §8.2 encodings of the device's stored readings with seq > `afterSeq` (earlier batches). */
  readonly storedAfter: (afterSeq: number) => Promise<Map<number, Uint8Array>>;
}

interface ChainRow {
  frontier_seq: string;
  frontier_head: Uint8Array;
  anchor_seq: string;
}

/** Advances the device's chain with this batch; returns the spans decided now. */
export async function advanceChain(tx: Queryable, input: ChainInput): Promise<SpanDecision[]> {
  const { device } = input;
  await tx.query('INSERT INTO ingest_chains (device_id, frontier_head) VALUES ($1, $2) ON CONFLICT (device_id) DO NOTHING', [device, chainStart(input.deviceId)]);
  const row = (await tx.query<ChainRow>('SELECT frontier_seq::text, frontier_head, anchor_seq::text FROM ingest_chains WHERE device_id = $1 FOR UPDATE', [device])).rows[0];
  if (row === undefined) throw new Error('chain row missing');
  let frontier = Number(row.frontier_seq);
  let head: Uint8Array = new Uint8Array(row.frontier_head);
  let anchor = Number(row.anchor_seq);
  const decisions: SpanDecision[] = [];

  for (const c of input.checkpoints) {
    await tx.query('INSERT INTO ingest_checkpoints (device_id, seq, head, signature) VALUES ($1, $2, $3, $4) ON CONFLICT (device_id, seq) DO NOTHING', [device, c.seq, c.head, c.signature]);
    if (c.seq <= frontier) {
      const late = await decideLateCheckpoint(tx, device, c);
      if (late !== undefined) decisions.push(late);
    }
  }

  // The chain moves only if this batch brings the next record; then the readings stored beyond
  // it by earlier batches (a filled gap) may carry it further.
  if (!input.records.some((r) => r.record.seq === frontier + 1)) {
    for (const d of decisions) await recordSpan(tx, device, d);
    return decisions;
  }
  const available = await input.storedAfter(frontier);
  for (const r of input.records) if (r.record.seq > frontier) available.set(r.record.seq, r.bytes);
  const waiting = await tx.query<{ seq: string; head: Uint8Array }>('SELECT seq::text, head FROM ingest_checkpoints WHERE device_id = $1 AND seq > $2', [device, frontier]);
  const checkpoints = new Map(waiting.rows.map((c) => [Number(c.seq), new Uint8Array(c.head)]));

  const start = frontier;
  const heads: [number, Uint8Array][] = [];
  for (let next = frontier + 1; available.has(next); next++) {
    head = chainNext(head, available.get(next) as Uint8Array);
    if (next % CHECKPOINT_INTERVAL === 0) heads.push([next, head]);
    const signed = checkpoints.get(next);
    if (signed !== undefined) {
      const matches = equalBytes(head, signed);
      decisions.push(matches ? { fromSeq: anchor, toSeq: next, status: 'verified' } : { fromSeq: anchor, toSeq: next, status: 'unverified', reason: 'chain-mismatch' });
      // The signed head is authentic: the next span is checked from it, whatever this one was.
      head = signed;
      anchor = next;
    }
    frontier = next;
  }

  if (frontier > start) {
    await tx.query('UPDATE ingest_chains SET frontier_seq = $2, frontier_head = $3, anchor_seq = $4 WHERE device_id = $1', [device, frontier, head, anchor]);
    for (const [seq, h] of heads) {
      await tx.query('INSERT INTO ingest_chain_heads (device_id, seq, head) VALUES ($1, $2, $3) ON CONFLICT (device_id, seq) DO NOTHING', [device, seq, h]);
    }
  }
  for (const d of decisions) await recordSpan(tx, device, d);
  return decisions;
}

/** A checkpoint for a seq the chain already passed: decided from the head kept there, if any. */
async function decideLateCheckpoint(tx: Queryable, device: string, c: Checkpoint): Promise<SpanDecision | undefined> {
  const covered = await tx.query('SELECT 1 FROM ingest_provenance_spans WHERE device_id = $1 AND from_seq < $2 AND to_seq >= $2', [device, c.seq]);
  if (covered.rows.length > 0) return undefined;
  const kept = (await tx.query<{ head: Uint8Array }>('SELECT head FROM ingest_chain_heads WHERE device_id = $1 AND seq = $2', [device, c.seq])).rows[0];
  if (kept === undefined) return undefined;
  const previous = (await tx.query<{ to_seq: string | null }>('SELECT max(to_seq)::text AS to_seq FROM ingest_provenance_spans WHERE device_id = $1 AND to_seq < $2', [device, c.seq])).rows[0];
  const fromSeq = Number(previous?.to_seq ?? 0);
  return equalBytes(new Uint8Array(kept.head), c.head)
    ? { fromSeq, toSeq: c.seq, status: 'verified' }
    : { fromSeq, toSeq: c.seq, status: 'unverified', reason: 'chain-mismatch' };
}

async function recordSpan(tx: Queryable, device: string, d: SpanDecision): Promise<void> {
  await tx.query(
    'INSERT INTO ingest_provenance_spans (device_id, from_seq, to_seq, status, reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device_id, to_seq) DO NOTHING',
    [device, d.fromSeq, d.toSeq, d.status, d.reason ?? null],
  );
  if (d.status === 'verified') {
    await tx.query("UPDATE observations SET provenance = 'verified' WHERE device_id = $1 AND seq > $2 AND seq <= $3", [device, d.fromSeq, d.toSeq]);
  }
}

export interface SpanRow {
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly status: SpanStatus;
  readonly reason: string | null;
}

/** The decided spans of a device that overlap seqs [from, to]. */
export async function spansCovering(q: Queryable, device: string, from: number, to: number): Promise<SpanRow[]> {
  const r = await q.query<{ from_seq: string; to_seq: string; status: SpanStatus; reason: string | null }>(
    'SELECT from_seq::text, to_seq::text, status, reason FROM ingest_provenance_spans WHERE device_id = $1 AND to_seq >= $2 AND from_seq < $3 ORDER BY ingest_provenance_spans.to_seq',
    [device, from, to],
  );
  return r.rows.map((s) => ({ fromSeq: Number(s.from_seq), toSeq: Number(s.to_seq), status: s.status, reason: s.reason }));
}
