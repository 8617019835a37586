/**
 * A discrete-event clock for deterministic end-to-end tests: link delays, commit latency and
 * timers are events on one virtual timeline, so a 100 000-reading run with faults takes
 * seconds of real time and fails the same way every time.
 */
export class Sim {
  private time: number;
  private seq = 0;
  private readonly queue: { at: number; seq: number; run: () => void }[] = [];

  constructor(startMs = Date.UTC(2026, 10, 28, 8, 0, 0)) {
    this.time = startMs;
  }

  now = (): number => this.time;

  /** Runs `run` after `delayMs` of virtual time (0 = after everything already due now). */
  after(delayMs: number, run: () => void): void {
    const item = { at: this.time + Math.max(0, Math.ceil(delayMs)), seq: this.seq++, run };
    // Binary insertion keeps the queue ordered by (at, seq): equal times run in scheduling order.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.queue[mid] as { at: number; seq: number };
      if (m.at < item.at || (m.at === item.at && m.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  /** Runs `run` every `periodMs` until it returns false. */
  every(periodMs: number, run: () => boolean | void): void {
    const tick = (): void => {
      if (run() !== false) this.after(periodMs, tick);
    };
    this.after(periodMs, tick);
  }

  /** Processes events up to `untilMs`, or until `done()` holds; returns whether `done()` held. */
  run(untilMs: number, done: () => boolean = () => false): boolean {
    while (this.queue.length > 0) {
      if (done()) return true;
      const next = this.queue[0] as { at: number; run: () => void };
      if (next.at > untilMs) break;
      this.queue.shift();
      this.time = next.at;
      next.run();
    }
    if (this.time < untilMs && !done()) this.time = untilMs;
    return done();
  }

  /** Advances the clock with nothing scheduled (e.g. a lockout elapsing). */
  advance(ms: number): void {
    this.run(this.time + ms);
  }

  get pending(): number {
    return this.queue.length;
  }
}

/** mulberry32: a small seeded PRNG for fault injection (not for keys). */
export function seededUnit(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The vault's `Scheduler` on the virtual clock: timers are `Sim` events that can be cancelled. */
export function simScheduler(sim: Sim): { now: () => number; after(ms: number, fn: () => void): () => void } {
  return {
    now: sim.now,
    after(ms, fn) {
      let cancelled = false;
      sim.after(ms, () => {
        if (!cancelled) fn();
      });
      return () => {
        cancelled = true;
      };
    },
  };
}

/**
 * Runs the virtual clock in steps of `stepMs` for up to `forMs`, letting promise callbacks
 * (storage commits) run between steps; resolves with whether `done()` held.
 */
export async function driveAsync(sim: Sim, forMs: number, done: () => boolean, stepMs = 1): Promise<boolean> {
  const until = sim.now() + forMs;
  while (!done() && sim.now() < until) {
    sim.run(sim.now() + stepMs);
    await new Promise((r) => setImmediate(r));
  }
  return done();
}
