/**
 * The sealed outbox of the vault worker (docs/protocol.md §11; issue 6 §1).
 *
 * Right after a chunk of readings is decoded, and before its write transaction opens, the worker
 * seals it — with the sensor's certificate and the signed checkpoints received since the last
 * batch — to the cloud's current ingestion key (`OutboxSealer`). The sealed rows are then written
 * in the SAME IndexedDB transaction as the readings (`VaultStore.putReadings`), so a crash leaves
 * both or neither.
 *
 * A row is the sealed bytes as they will be uploaded, not encrypted again under the vault key:
 * the outbox must drain while the vault is locked, and nothing in it opens with the vault key —
 * only the cloud's ingestion secret key opens it. Clear fields are what the uploader needs: the
 * batch id (hex), the creation time, the size and the number of upload attempts.
 *
 * Order: `createdBucket` of an outbox row is its creation time in ms, made strictly increasing
 * by the sealer (a bucket of one millisecond), so the `by-created-bucket` index lists batches in
 * exactly the order they were sealed and `takeOutbox` reads the oldest without sorting.
 */
import { concatBytes, toHex, utf8 } from '../../src/core/bytes.js';
import type { Checkpoint } from '../../src/core/checkpoint.js';
import {
  currentIngestionKey,
  IngestionKeysError,
  verifyIngestionKeyList,
  type IngestionKey,
  type IngestionKeyList,
} from '../../src/core/ingestion-keys.js';
import { sha256, type Random } from '../../src/core/primitives.js';
import type { ReadingRecord } from '../../src/core/readings.js';
import {
  BATCH_ID_LEN,
  batchRecord,
  HUB_ID_LEN,
  MAX_BATCH_CHECKPOINTS,
  sealBatch,
  splitForBatches,
} from '../../src/core/sealed-batch.js';
import type { OutboxRow, VaultDb } from './db.js';

export const HUB_ID_LABEL: Uint8Array = utf8('VITALOCK-HUB-ID-1');
/** `meta` name of the newest key list version accepted (rollback protection, §11.3). */
export const META_INGESTION_LIST_VERSION = 'ingestion-keys-version';

/** A sealed batch waiting for upload, as `takeOutbox` returns it. */
export interface OutboxEntry {
  /** Hex of the 16-byte batch id (the server acknowledges by it). */
  readonly batchId: string;
  readonly createdAtMs: number;
  readonly size: number;
  readonly attempts: number;
  /** The bytes to POST to `/api/ingest`. */
  readonly sealed: Uint8Array;
}

export interface OutboxStats {
  readonly pending: number;
  /** Creation time of the oldest batch waiting, if any. */
  readonly oldestCreatedAtMs?: number;
}

/** A stored outbox row (clear fields beside the sealed bytes). */
export interface SealedOutboxRow extends OutboxRow {
  readonly createdAtMs: number;
  readonly size: number;
  readonly attempts: number;
}

/** The pseudonymous hub id of §11.2: the first 16 bytes of SHA-256(label ‖ hub static public key). */
export function hubIdFor(hubPublicKey: Uint8Array): Uint8Array {
  return sha256(concatBytes(HUB_ID_LABEL, hubPublicKey)).slice(0, HUB_ID_LEN);
}

/**
 * Verifies the configured key list against the pinned deployment key and the newest version this
 * hub accepted before (kept in `meta`), and records its version. Throws `IngestionKeysError`.
 */
export async function acceptIngestionKeyList(db: VaultDb, keyList: Uint8Array, deploymentPublicKey: Uint8Array): Promise<IngestionKeyList> {
  const held = await db.get('meta', META_INGESTION_LIST_VERSION);
  const minListVersion = typeof held === 'number' ? held : 0;
  const list = verifyIngestionKeyList(keyList, { deploymentPublicKey, minListVersion });
  if (list.listVersion > minListVersion) await db.put('meta', list.listVersion, META_INGESTION_LIST_VERSION);
  return list;
}

export interface OutboxSealerOptions {
  readonly keyList: IngestionKeyList;
  readonly hubId: Uint8Array;
  readonly random: Random;
  readonly now: () => number;
  /** Told once when the list has no key valid now and batches go to the latest-ending key. */
  readonly onStaleKeys?: () => void;
}

/** Seals chunks of readings into outbox rows (pure but for the clock and randomness). */
export class OutboxSealer {
  private lastCreated = 0;
  private staleReported = false;

  constructor(private readonly options: OutboxSealerOptions) {
    if (options.hubId.length !== HUB_ID_LEN) throw new RangeError('a hub id is 16 bytes');
  }

  /**
   * One or more sealed rows for `records` of one sensor (any order, each seq once) and the
   * checkpoints received with them. Call before the write transaction opens.
   */
  seal(deviceId: Uint8Array, certificate: Uint8Array, records: readonly ReadingRecord[], checkpoints: readonly Checkpoint[]): SealedOutboxRow[] {
    const bySeq = new Map<number, ReadingRecord>();
    for (const r of records) if (!bySeq.has(r.seq)) bySeq.set(r.seq, r);
    const sorted = [...bySeq.values()].sort((a, b) => a.seq - b.seq).map((r) => batchRecord(r));
    if (sorted.length === 0) return [];
    const cps = dedupeCheckpoints(checkpoints).slice(-MAX_BATCH_CHECKPOINTS);
    const runs = splitForBatches(sorted, certificate.length, cps.length);
    const key = this.recipientKey();
    const recipient = { keyId: key.keyId, publicKey: key.publicKey };
    return runs.map((run, i) => {
      const createdAtMs = this.nextCreated();
      const batchId = this.options.random(BATCH_ID_LEN);
      const sealed = sealBatch(
        recipient,
        { batchId, hubId: this.options.hubId, createdAtMs, deviceId, certificate, records: run, checkpoints: i === runs.length - 1 ? cps : [] },
        this.options.random,
      );
      return { batchId: toHex(batchId), createdBucket: createdAtMs, createdAtMs, size: sealed.length, attempts: 0, value: sealed };
    });
  }

  private recipientKey(): IngestionKey {
    try {
      return currentIngestionKey(this.options.keyList, this.options.now());
    } catch (error) {
      if (!(error instanceof IngestionKeysError)) throw error;
      // No key valid now (an old list): seal to the key that ended last, which the cloud keeps
      // able to open, and say so — refusing would stop recording at the bedside.
      if (!this.staleReported) this.options.onStaleKeys?.();
      this.staleReported = true;
      return [...this.options.keyList.keys].sort((a, b) => b.notAfter - a.notAfter)[0] as IngestionKey;
    }
  }

  /** Creation times strictly increase, so the index orders batches exactly. */
  private nextCreated(): number {
    this.lastCreated = Math.max(Math.floor(this.options.now()), this.lastCreated + 1);
    return this.lastCreated;
  }
}

function dedupeCheckpoints(checkpoints: readonly Checkpoint[]): Checkpoint[] {
  const bySeq = new Map<number, Checkpoint>();
  for (const c of checkpoints) bySeq.set(c.seq, c);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function isSealedRow(row: OutboxRow): row is SealedOutboxRow {
  const r = row as Partial<SealedOutboxRow>;
  return typeof r.createdAtMs === 'number' && typeof r.size === 'number' && typeof r.attempts === 'number';
}

/** The uploader's side of the outbox: needs no vault key, so it works while locked. */
export class OutboxQueue {
  constructor(private readonly db: VaultDb) {}

  async stats(): Promise<OutboxStats> {
    const tx = this.db.transaction('outbox');
    const pending = await tx.store.count();
    const oldest = await tx.store.index('by-created-bucket').openCursor();
    await tx.done;
    const row = oldest?.value;
    return row !== undefined && isSealedRow(row) ? { pending, oldestCreatedAtMs: row.createdAtMs } : { pending };
  }

  /** Up to `limit` batches, oldest first; they stay in the outbox until `ack`. */
  async take(limit: number): Promise<OutboxEntry[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    const rows = await this.db.getAllFromIndex('outbox', 'by-created-bucket', null, limit);
    return rows.filter(isSealedRow).map((row) => ({
      batchId: row.batchId,
      createdAtMs: row.createdAtMs,
      size: row.size,
      attempts: row.attempts,
      sealed: row.value,
    }));
  }

  /** Removes batches the server acknowledged durably. Unknown ids are ignored (already gone). */
  async ack(batchIds: readonly string[]): Promise<void> {
    if (batchIds.length === 0) return;
    const tx = this.db.transaction('outbox', 'readwrite');
    await Promise.all([...batchIds.map((id) => tx.store.delete(checkBatchId(id))), tx.done]);
  }

  /** Counts one more upload attempt of each batch (for backoff and the sync screen). */
  async recordAttempt(batchIds: readonly string[]): Promise<void> {
    if (batchIds.length === 0) return;
    const tx = this.db.transaction('outbox', 'readwrite');
    const ops = batchIds.map(async (id) => {
      const row = await tx.store.get(checkBatchId(id));
      if (row !== undefined && isSealedRow(row)) await tx.store.put({ ...row, attempts: row.attempts + 1 });
    });
    await Promise.all([...ops, tx.done]);
  }
}

function checkBatchId(id: string): string {
  if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) throw new RangeError('a batch id is 32 hex digits');
  return id;
}
