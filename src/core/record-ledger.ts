/**
 * The hub's account of which records of one sensor it holds (docs/protocol.md §8.3): it turns a
 * lossy, duplicating stream into "each record stored exactly once", decides what to acknowledge
 * and when to ask for a backfill.
 *
 * - `accept` says whether a record is new (store it) or a duplicate (drop it).
 * - `committed` is called once the storage transaction holding those records has committed; only
 *   then may they be acknowledged, so the sensor frees nothing the hub could still lose.
 * - The acknowledgement is cumulative: the highest seq below which every record is committed.
 * - A gap (a record above the next expected one arrived first) triggers BACKFILL from the gap,
 *   at most once per BACKFILL_RETRY_MS while the gap lasts.
 */

export const BACKFILL_RETRY_MS = 2_000;

export class RecordLedger {
  /** Every record with seq ≤ contiguous is committed. */
  private contiguousSeq: number;
  /** Accepted (received, maybe not yet committed) records above `contiguousSeq`. */
  private readonly accepted = new Set<number>();
  /** Committed records above `contiguousSeq` (waiting for the gap below them to fill). */
  private readonly committedAbove = new Set<number>();
  private acknowledgedSeq: number;
  private lastBackfillAt = Number.NEGATIVE_INFINITY;
  private lastBackfillFrom = 0;

  /** @param contiguous what storage already holds without a gap (0 for a new sensor). */
  constructor(contiguous = 0) {
    this.contiguousSeq = contiguous;
    this.acknowledgedSeq = contiguous;
  }

  get contiguous(): number {
    return this.contiguousSeq;
  }

  /** Records accepted but not yet committed or not yet contiguous. */
  get outstanding(): number {
    return this.accepted.size;
  }

  /** True when `seq` is new and must be stored; false for a duplicate. */
  accept(seq: number): boolean {
    if (seq <= this.contiguousSeq || this.accepted.has(seq)) return false;
    this.accepted.add(seq);
    return true;
  }

  /** What `contiguous` will be once `seqs` commit (to store it in the same transaction). */
  contiguousAfter(seqs: Iterable<number>): number {
    const pending = new Set(this.committedAbove);
    for (const seq of seqs) pending.add(seq);
    let c = this.contiguousSeq;
    while (pending.has(c + 1)) c++;
    return c;
  }

  /** Marks stored records as durable. */
  committed(seqs: Iterable<number>): void {
    for (const seq of seqs) {
      if (seq > this.contiguousSeq) this.committedAbove.add(seq);
    }
    while (this.committedAbove.delete(this.contiguousSeq + 1)) {
      this.contiguousSeq++;
      this.accepted.delete(this.contiguousSeq);
    }
  }

  /**
   * The sensor no longer holds records up to `seq` (another bonded hub acknowledged them, or the
   * sensor was reset): stop waiting for them. Returns how many were skipped, for the caller to
   * report; the records themselves are wherever that other hub put them.
   */
  skipTo(seq: number): number {
    if (seq <= this.contiguousSeq) return 0;
    let skipped = 0;
    for (let s = this.contiguousSeq + 1; s <= seq; s++) {
      if (!this.committedAbove.delete(s)) skipped++;
      this.accepted.delete(s);
    }
    this.contiguousSeq = seq;
    this.committed([]);
    return skipped;
  }

  /**
   * Forgets records that were accepted but never committed (the storage write failed): they
   * will be accepted again when the sensor resends them.
   */
  rollback(seqs: Iterable<number>): void {
    for (const seq of seqs) if (!this.committedAbove.has(seq)) this.accepted.delete(seq);
  }

  /** The ACK to send now, if the contiguous prefix has grown since the last one. */
  ackDue(): number | undefined {
    if (this.contiguousSeq <= this.acknowledgedSeq) return undefined;
    this.acknowledgedSeq = this.contiguousSeq;
    return this.contiguousSeq;
  }

  /** After a reconnect the sensor has forgotten what was asked: repeat the ACK and the backfill. */
  resetConnection(): void {
    this.acknowledgedSeq = Math.min(this.acknowledgedSeq, this.contiguousSeq - 1);
    this.lastBackfillAt = Number.NEGATIVE_INFINITY;
  }

  /** Whether a record above the next expected one has arrived (something was lost in between). */
  get hasGap(): boolean {
    return this.accepted.size > 0 && !this.accepted.has(this.contiguousSeq + 1);
  }

  /** BACKFILL(from) to send now, or undefined. */
  backfillDue(nowMs: number): number | undefined {
    if (!this.hasGap) return undefined;
    const from = this.contiguousSeq + 1;
    if (from === this.lastBackfillFrom && nowMs - this.lastBackfillAt < BACKFILL_RETRY_MS) return undefined;
    this.lastBackfillAt = nowMs;
    this.lastBackfillFrom = from;
    return from;
  }

  /** Records a BACKFILL sent for another reason (session start, §8.1). */
  backfillSent(from: number, nowMs: number): void {
    this.lastBackfillAt = nowMs;
    this.lastBackfillFrom = from;
  }
}
