/**
 * The notification watchdog (docs/protocol.md §2.1): "a hub whose notifications stall (no
 * notification for 2 s while it expects data) pulls with reads until a read returns zero length."
 * Some Android stacks stop delivering notifications while the link stays up; reads still work.
 *
 * The adapter moves opaque bytes, so "expects data" is judged without the protocol: after a write
 * (a request the sensor answers) and after each notification (a stream in progress), data may
 * follow. So `expect()` and `notified()` arm the timer; when NOTIFICATION_STALL_MS pass with no
 * notification, `onStall` runs (the link pulls); an empty read means the sensor's queue is empty
 * and `settle()` waits for the next write or notification. At the end of every burst this costs
 * one read that returns nothing — cheap insurance against a silent stall.
 *
 * A stall that begins while the link is idle gives no such cue: the sensor's next readings would
 * wait for a notification that never comes, and the hub writes nothing until it hears from the
 * sensor. So a settled watchdog still polls, every IDLE_POLL_MS: one read per 10 s on a quiet link.
 */
import { NOTIFICATION_STALL_MS } from '../../core/gatt.js';
import type { Timers } from './timers.js';

/** A settled (idle) link is still read this often, in case notifications stalled while idle. */
export const IDLE_POLL_MS = 10_000;

export type PullReason = 'stall' | 'idle-poll';

export class NotificationWatchdog {
  private cancel: (() => void) | undefined;
  private stalls = 0;

  constructor(
    private readonly timers: Timers,
    private readonly onStall: (reason: PullReason) => void,
    private readonly stallMs = NOTIFICATION_STALL_MS,
    /** 0 turns idle polling off. */
    private readonly idlePollMs = IDLE_POLL_MS,
  ) {}

  /** Whether a pull is scheduled (after a stall, or the idle poll). */
  get armed(): boolean {
    return this.cancel !== undefined;
  }

  /** How many times notifications stalled while data was expected (idle polls not counted). */
  get stallCount(): number {
    return this.stalls;
  }

  /** Data may come (a write was made): arm, or restart the wait. */
  expect(): void {
    this.arm();
  }

  /** A notification arrived: more may follow, so wait again from now. */
  notified(): void {
    this.arm();
  }

  /** A pull read came back empty: nothing is queued on the sensor. Only the idle poll remains. */
  settle(): void {
    if (this.idlePollMs > 0) this.arm(this.idlePollMs, 'idle-poll');
    else this.disarm();
  }

  /** The connection is gone. */
  stop(): void {
    this.disarm();
  }

  private arm(ms = this.stallMs, reason: PullReason = 'stall'): void {
    this.cancel?.();
    this.cancel = this.timers.after(ms, () => {
      this.cancel = undefined;
      if (reason === 'stall') this.stalls++;
      this.onStall(reason);
    });
  }

  private disarm(): void {
    this.cancel?.();
    this.cancel = undefined;
  }
}
