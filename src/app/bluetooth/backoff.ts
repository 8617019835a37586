/**
 * When to try reconnecting a bonded sensor that dropped (issue 4 §1): exponential backoff with
 * jitter, so a ward of tablets that lose the same sensors at once do not all retry in step, and a
 * sensor out of range for hours costs one attempt every half minute, not a busy loop.
 *
 * Delay of attempt n (0-based): a cap of `min(maxMs, baseMs × 2ⁿ)`, then "equal jitter": uniform
 * in [cap / 2, cap]. Half the cap is kept so the growth is real; half is random so retries spread.
 */
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_MAX_MS = 30_000;

export interface BackoffOptions {
  readonly baseMs?: number;
  readonly maxMs?: number;
  /** Uniform in [0, 1); defaults to Math.random (jitter needs no cryptographic randomness). */
  readonly random?: () => number;
}

export class ReconnectBackoff {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? RECONNECT_BASE_MS;
    this.maxMs = options.maxMs ?? RECONNECT_MAX_MS;
    this.random = options.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.maxMs >= this.baseMs)) throw new RangeError('backoff needs 0 < baseMs ≤ maxMs');
  }

  /** Attempts made since the last success. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt; counts that attempt. */
  next(): number {
    // 2ⁿ overflows to Infinity long after the cap is reached; min() keeps it finite.
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failures, 52));
    this.failures++;
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.round(cap / 2 + (r * cap) / 2);
  }

  /** The link is up again: the next drop starts from the base delay. */
  reset(): void {
    this.failures = 0;
  }
}
