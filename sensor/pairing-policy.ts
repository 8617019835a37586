/**
 * The sensor's pairing policy (docs/protocol.md §4.5): a pairing window opened by the user and a
 * failed-attempt limiter with a growing lockout. Time is passed in, so tests drive it exactly.
 */

export const PAIRING_WINDOW_MS = 120_000;
export const FREE_ATTEMPTS = 5;
export const FIRST_LOCKOUT_MS = 30_000;
export const MAX_LOCKOUT_MS = 3_600_000;

export type PairingRefusal = 'window-closed' | 'locked-out';

export class PairingPolicy {
  private windowOpenedAt: number | undefined;
  private consecutiveFailures = 0;
  private lockedUntil = 0;

  constructor(private readonly windowMs = PAIRING_WINDOW_MS) {}

  /** The user pressed the pairing button (or the sensor powered on without bonds). */
  openWindow(nowMs: number): void {
    this.windowOpenedAt = nowMs;
  }

  closeWindow(): void {
    this.windowOpenedAt = undefined;
  }

  isWindowOpen(nowMs: number): boolean {
    return this.windowOpenedAt !== undefined && nowMs - this.windowOpenedAt <= this.windowMs;
  }

  /** When the current lockout ends, or 0. */
  lockedUntilMs(nowMs: number): number {
    return this.lockedUntil > nowMs ? this.lockedUntil : 0;
  }

  get failures(): number {
    return this.consecutiveFailures;
  }

  /** Why an attempt now would be refused, or undefined if it may proceed. */
  refusal(nowMs: number): PairingRefusal | undefined {
    if (this.lockedUntil > nowMs) return 'locked-out';
    if (!this.isWindowOpen(nowMs)) return 'window-closed';
    return undefined;
  }

  /**
   * After FREE_ATTEMPTS consecutive failures each further failure locks pairing for
   * 30 s × 2^(failures − FREE_ATTEMPTS), capped at one hour.
   */
  recordFailure(nowMs: number): void {
    this.consecutiveFailures++;
    const over = this.consecutiveFailures - FREE_ATTEMPTS;
    if (over >= 0) {
      const lockout = Math.min(MAX_LOCKOUT_MS, FIRST_LOCKOUT_MS * 2 ** Math.min(over, 20));
      this.lockedUntil = nowMs + lockout;
    }
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.lockedUntil = 0;
    this.windowOpenedAt = undefined;
  }
}
