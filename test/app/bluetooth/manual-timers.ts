/** A clock the unit tests move by hand: `advance(ms)` runs every timer that falls due, in order. */
import type { Timers } from '../../../src/app/bluetooth/timers.js';

export class ManualTimers implements Timers {
  private time = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  now = (): number => this.time;

  after = (ms: number, fn: () => void): (() => void) => {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + ms, fn });
    return () => this.pending.delete(id);
  };

  get scheduled(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }
}
