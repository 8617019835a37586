/**
 * The sensor's record store (docs/protocol.md §8.3, §8.4): every record it measures, kept until a
 * hub acknowledges it, with the hash chain and the signed checkpoints over them.
 *
 * Records are numbered from 1 and freed only from the front (ACK is cumulative), so the held
 * records are always a contiguous run of sequence numbers and `from(seq)` is O(1) to find.
 * When full, `append` refuses: an unacknowledged record is never overwritten.
 */
import { CHECKPOINT_INTERVAL, RecordChain, signCheckpoint, type Checkpoint } from '../src/core/checkpoint.js';
import { encodeRecordBytes, type ReadingRecord } from '../src/core/readings.js';

export const DEFAULT_CAPACITY = 500_000;
/** STATUS flag bit 2 (§8): storage nearly full. */
export const NEARLY_FULL_RATIO = 0.9;

export type Measurement = Omit<ReadingRecord, 'seq'>;

export interface StoreCounters {
  readonly lastSeq: number;
  readonly chainHead: Uint8Array;
}

export class RecordStore {
  /** Held records; `records[head]` has sequence number `firstSeq`. */
  private records: ReadingRecord[] = [];
  private head = 0;
  private nextSeq = 1;
  private readonly chain: RecordChain;
  private checkpoints: Checkpoint[] = [];

  /**
   * @param resume the counters a device keeps in flash across a restart: sequence numbers are
   *   never reused (§8.2) and the chain goes on from its last head (§8.4).
   */
  constructor(
    private readonly deviceId: Uint8Array,
    private readonly signingSecretKey: Uint8Array,
    readonly capacity = DEFAULT_CAPACITY,
    resume?: StoreCounters,
  ) {
    this.chain = new RecordChain(deviceId, resume ? { head: resume.chainHead, seq: resume.lastSeq } : undefined);
    if (resume) this.nextSeq = resume.lastSeq + 1;
  }

  /** What must survive a restart. */
  get counters(): StoreCounters {
    return { lastSeq: this.lastSeq, chainHead: this.chain.head };
  }

  get held(): number {
    return this.records.length - this.head;
  }

  /** Sequence number of the oldest held record (= lastSeq + 1 when none is held). */
  get firstSeq(): number {
    return this.nextSeq - this.held;
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  get isFull(): boolean {
    return this.held >= this.capacity;
  }

  get isNearlyFull(): boolean {
    return this.held >= this.capacity * NEARLY_FULL_RATIO;
  }

  /** Stores a measurement; returns the record, or undefined when the store is full. */
  append(measurement: Measurement): ReadingRecord | undefined {
    if (this.isFull) return undefined;
    const record = { ...measurement, seq: this.nextSeq++ } as ReadingRecord;
    this.records.push(record);
    this.chain.append(encodeRecordBytes(record));
    if (record.seq % CHECKPOINT_INTERVAL === 0) {
      const head = this.chain.head;
      this.checkpoints.push({ seq: record.seq, head, signature: signCheckpoint(this.signingSecretKey, this.deviceId, record.seq, head) });
    }
    return record;
  }

  /** Up to `max` held records starting at `seq` (clamped to what is held), oldest first. */
  from(seq: number, max: number): ReadingRecord[] {
    const start = Math.max(seq, this.firstSeq);
    const index = this.head + (start - this.firstSeq);
    return this.records.slice(index, Math.min(index + max, this.records.length));
  }

  /** Checkpoints over records in [fromSeq, toSeq], oldest first. */
  checkpointsBetween(fromSeq: number, toSeq: number): Checkpoint[] {
    return this.checkpoints.filter((c) => c.seq >= fromSeq && c.seq <= toSeq);
  }

  /** Frees every record with seq ≤ upTo (§8.3); returns how many were freed. */
  acknowledge(upTo: number): number {
    const target = Math.min(upTo, this.lastSeq);
    const count = target - this.firstSeq + 1;
    if (count <= 0) return 0;
    this.head += count;
    // Compact once the freed prefix dominates, so memory follows what is held.
    if (this.head > 4096 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
    this.checkpoints = this.checkpoints.filter((c) => c.seq > target);
    return count;
  }
}
