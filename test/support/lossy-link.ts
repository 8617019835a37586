/**
 * An in-memory BLE link between a hub and a `SensorConnection` that can drop, delay, duplicate
 * and reorder fragments in both directions and cut the connection, driven by the `Sim` clock and
 * a seeded PRNG so every failure reproduces.
 */
import type { SensorConnection } from '../../sensor/device.js';
import { seededUnit, type Sim } from './sim.js';

export interface Faults {
  /** Probability that a fragment is lost. */
  readonly drop?: number;
  /** Probability that a fragment is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a fragment is held back and delivered after later ones. */
  readonly reorder?: number;
  /** Delivery delay range in ms. */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** Sees every fragment a side puts on the air, before the link's faults (an eavesdropper's view). */
export type LinkTap = (direction: 'toSensor' | 'toHub', fragment: Uint8Array) => void;

export interface HubSide {
  receiveFragment(fragment: Uint8Array): void;
  linkClosed(): void;
}

export class LossyLink {
  private open = true;
  private readonly unit: () => number;
  /** Fragments the sensor notified but the "radio" has not yet carried. */
  private pulling = false;
  /** Per direction, when the last fragment arrives: BLE delivers in order, so jitter never reorders. */
  private readonly lastArrival = { toSensor: 0, toHub: 0 };
  readonly stats = { toSensor: 0, toHub: 0, dropped: 0, duplicated: 0, reordered: 0 };
  /** Optional test hook: called with a copy of each fragment sent, in either direction. */
  tap?: LinkTap;

  constructor(
    private readonly sim: Sim,
    private readonly sensor: SensorConnection,
    private readonly hub: HubSide,
    public faults: Faults = {},
    seed = 1,
    /** Virtual time one fragment takes on air (sets throughput: 1 ms ≈ 1 000 fragments/s). */
    private readonly airtimeMs = 1,
  ) {
    this.unit = seededUnit(seed);
    sensor.onFragmentReady(() => this.startPulling());
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Hub → sensor: a write to `control`. */
  write(fragment: Uint8Array): void {
    if (!this.open) return;
    this.stats.toSensor++;
    this.tap?.('toSensor', fragment.slice());
    this.carry(fragment, 'toSensor', (f) => this.sensor.receiveFragment(f));
  }

  /** Cuts the connection: nothing in flight arrives; both ends learn of it. */
  cut(): void {
    if (!this.open) return;
    this.open = false;
    this.sensor.disconnect();
    this.hub.linkClosed();
  }

  private startPulling(): void {
    if (this.pulling || !this.open) return;
    this.pulling = true;
    this.sim.after(this.airtimeMs, () => this.pullOne());
  }

  private pullOne(): void {
    if (!this.open) {
      this.pulling = false;
      return;
    }
    const fragment = this.sensor.takeFragment();
    if (fragment === undefined) {
      this.pulling = false;
      return;
    }
    this.stats.toHub++;
    this.tap?.('toHub', fragment.slice());
    this.carry(fragment, 'toHub', (f) => this.hub.receiveFragment(f));
    this.sim.after(this.airtimeMs, () => this.pullOne());
  }

  private carry(fragment: Uint8Array, direction: 'toSensor' | 'toHub', deliver: (f: Uint8Array) => void): void {
    const f = this.faults;
    if (this.unit() < (f.drop ?? 0)) {
      this.stats.dropped++;
      return;
    }
    const min = f.minDelayMs ?? 1;
    const max = f.maxDelayMs ?? min;
    const now = this.sim.now();
    let at = Math.max(now + min + this.unit() * (max - min), this.lastArrival[direction]);
    if (this.unit() < (f.reorder ?? 0)) {
      // Held back: later fragments overtake this one.
      this.stats.reordered++;
      at += 5 + this.unit() * 20;
    } else {
      this.lastArrival[direction] = at;
    }
    const delay = at - now;
    const copy = fragment.slice();
    const send = (): void => {
      if (this.open) deliver(copy);
    };
    this.sim.after(delay, send);
    if (this.unit() < (f.duplicate ?? 0)) {
      this.stats.duplicated++;
      this.sim.after(delay + this.unit() * 10, send);
    }
  }
}
