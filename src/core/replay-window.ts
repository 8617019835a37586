/**
 * Anti-replay sliding window of the transport (docs/protocol.md §7.4): RFC 6479's bitmap of
 * 2048 bits in 32-bit blocks, modelled on wireguard-go's `replay.Filter` (replay/replay.go).
 *
 * The ring holds 64 blocks; the block of the highest counter seen plus the 63 before it are
 * always valid, so WINDOW_SIZE = 63 × 32 = 2016 counters below the highest are tracked (the
 * spare block is what lets the window slide by clearing whole blocks instead of shifting bits).
 *
 * Use it the way §7.4 says: `check` before the AEAD (cheap rejection, no state change), `accept`
 * only after the AEAD verified — otherwise a forged frame could advance the window and make
 * genuine frames look old.
 *
 * Counters are numbers internally: the transport's counters stay below REJECT_AFTER_MESSAGES
 * (≈ 2^20), far inside the 2^53 range where numbers are exact. A bigint is accepted at the
 * boundary; anything that is not a safe non-negative integer is simply rejected.
 */

const BLOCK_BITS = 32;
const RING_BLOCKS = 64;
const BLOCK_MASK = RING_BLOCKS - 1;
const BIT_MASK = BLOCK_BITS - 1;

/** Bits in the ring (§7.4). */
export const WINDOW_BITS = RING_BLOCKS * BLOCK_BITS;
/** Counters up to this far below the highest seen are accepted once (§7.4). */
export const WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;
/** Default limit: every safe integer counter (0..2^53 − 1) may be accepted. */
export const DEFAULT_COUNTER_LIMIT = Number.MAX_SAFE_INTEGER + 1;

/** `counter` as a number, or −1 when it is not a safe non-negative integer. */
function asCounter(counter: bigint | number): number {
  if (typeof counter === 'bigint') {
    return counter >= 0n && counter <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(counter) : -1;
  }
  return Number.isSafeInteger(counter) && counter >= 0 ? counter : -1;
}

export class ReplayWindow {
  /** Highest counter accepted so far (0 before any, like wireguard-go's zero value). */
  private last = 0;
  private readonly ring = new Uint32Array(RING_BLOCKS);

  /** Highest counter accepted so far; 0 when none was (indistinguishable from counter 0). */
  get highest(): number {
    return this.last;
  }

  /**
   * Whether `accept` would take `counter` now; changes nothing. Counters ≥ `limit` are refused.
   */
  check(counter: bigint | number, limit: number = DEFAULT_COUNTER_LIMIT): boolean {
    const c = asCounter(counter);
    if (c < 0 || c >= limit) return false;
    if (c > this.last) return true;
    if (this.last - c > WINDOW_SIZE) return false;
    const block = this.ring[Math.floor(c / BLOCK_BITS) & BLOCK_MASK] as number;
    // `c & BIT_MASK` is exact for every safe integer (ToInt32 reduces mod 2^32).
    return (block & (1 << (c & BIT_MASK))) === 0;
  }

  /**
   * Marks `counter` as seen if it is acceptable; returns whether it was (false: replayed, too old,
   * or ≥ `limit`, and nothing changed). Call only once the frame authenticated.
   */
  accept(counter: bigint | number, limit: number = DEFAULT_COUNTER_LIMIT): boolean {
    const c = asCounter(counter);
    if (c < 0 || c >= limit) return false;
    let blockIndex = Math.floor(c / BLOCK_BITS);
    if (c > this.last) {
      // Slide forward: clear every block between the old head block and the new one (at most
      // the whole ring), so bits of counters a full ring ago cannot pass for recent ones.
      const current = Math.floor(this.last / BLOCK_BITS);
      const diff = Math.min(blockIndex - current, RING_BLOCKS);
      for (let i = 1; i <= diff; i++) this.ring[(current + i) & BLOCK_MASK] = 0;
      this.last = c;
    } else if (this.last - c > WINDOW_SIZE) {
      return false;
    }
    blockIndex &= BLOCK_MASK;
    const bit = 1 << (c & BIT_MASK);
    const old = this.ring[blockIndex] as number;
    if ((old & bit) !== 0) return false;
    this.ring[blockIndex] = old | bit;
    return true;
  }

  /** wireguard-go's `ValidateCounter(counter, limit)`: check and mark in one step. */
  validate(counter: bigint | number, limit: number): boolean {
    return this.accept(counter, limit);
  }

  /** Back to the initial (zero) state. */
  reset(): void {
    this.last = 0;
    this.ring.fill(0);
  }
}
