/// <reference lib="webworker" />
/**
 * The simulated reference sensors of the `worker` benchmark (bench/README.md), in their own
 * dedicated module worker: in the app the sensors are BLE peripherals outside the browser, so the
 * page (`worker-bench.ts`) must only relay fragments, as the app does between Web Bluetooth and
 * the vault worker. This worker hosts all N `SensorDevice`s and their `SensorConnection`s.
 *
 * Control (setup, loads, counts) is exposed with comlink; the fragments go over a MessageChannel
 * port handed over by `init`:
 * - worker → page: `{ link, fragments }`, every fragment a sensor has queued, taken on the next
 *   task, one message per batch, each fragment's ArrayBuffer transferred (a GATT notification);
 * - page → worker: `{ type: 'write', link, fragment }` (a GATT write to `control`, handled on the
 *   next task) and `{ type: 'done', link, n }` (backlog mode: `n` of the fragments handed to the
 *   vault worker were answered — the link's buffers free up).
 */
import * as Comlink from 'comlink';
import { MDC } from '../../src/core/readings.js';
import { SensorDevice, type SensorConnection } from '../../sensor/device.js';
import { createManufacturerCa, manufactureDevice, type DeviceIdentity } from '../../sensor/identity.js';
import type { Measurement } from '../../sensor/record-store.js';
import { VitalsSimulator } from '../../sensor/vitals.js';

const ATT_MTU = 247;
const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const ca = createManufacturerCa('Vitalock Bench Medical', random);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The sensor worker's own work (recording, sealing, fragmenting, ACKs): total and longest stretch. */
const work = { totalMs: 0, longestMs: 0 };

function timed<T>(fn: () => T): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    const ms = performance.now() - t0;
    work.totalMs += ms;
    if (ms > work.longestMs) work.longestMs = ms;
  }
}

interface Load {
  readonly low: number;
  readonly high: number;
  readonly slice: number;
}

interface Sim {
  readonly index: number;
  readonly link: string;
  readonly identity: DeviceIdentity;
  readonly device: SensorDevice;
  connection: SensorConnection | undefined;
  acked: number;
  drainScheduled: boolean;
  refillScheduled: boolean;
  load: Load | undefined;
  vitals: VitalsSimulator | undefined;
  recorded: number;
  paused: boolean;
  /** Fragments handed to the page and not yet answered by the vault worker, and the cap on them. */
  inflight: number;
  maxInflight: number;
}

export interface FragmentBatch {
  readonly link: string;
  readonly fragments: Uint8Array[];
}

export type PageToSensors = { readonly type: 'write'; readonly link: string; readonly fragment: Uint8Array } | { readonly type: 'done'; readonly link: string; readonly n: number };

const sims: Sim[] = [];
let port: MessagePort | undefined;
let realisticTimer: ReturnType<typeof setInterval> | undefined;

function simByLink(link: string): Sim | undefined {
  return sims[Number(link.slice('link-'.length))];
}

/**
 * The next task takes every fragment the sensor has queued and posts them to the page in one
 * message. With a finite `maxInflight` (backlog mode) it stops while that many are unanswered.
 */
function scheduleDrain(sim: Sim, c: SensorConnection): void {
  if (sim.drainScheduled) return;
  sim.drainScheduled = true;
  setTimeout(() => {
    sim.drainScheduled = false;
    if (sim.connection !== c) return;
    const fragments: Uint8Array[] = [];
    timed(() => {
      while (!sim.paused && sim.inflight + fragments.length < sim.maxInflight) {
        const f = c.takeFragment();
        if (f === undefined) break;
        fragments.push(f.byteOffset === 0 && f.byteLength === f.buffer.byteLength ? f : f.slice());
      }
    });
    if (fragments.length === 0) return;
    if (Number.isFinite(sim.maxInflight)) sim.inflight += fragments.length;
    port?.postMessage({ link: sim.link, fragments } satisfies FragmentBatch, fragments.map((f) => f.buffer as ArrayBuffer));
  }, 0);
}

function onPortMessage(event: MessageEvent<PageToSensors>): void {
  const m = event.data;
  const sim = simByLink(m.link);
  if (sim === undefined) return;
  if (m.type === 'write') {
    // The GATT write to `control`, answered on the next task like a real stack.
    setTimeout(() => {
      const c = sim.connection;
      if (c !== undefined) timed(() => c.receiveFragment(m.fragment));
    }, 0);
  } else {
    sim.inflight = Math.max(0, sim.inflight - m.n);
    const c = sim.connection;
    if (c !== undefined && c.queuedFragments > 0) scheduleDrain(sim, c);
  }
}

const NUMERIC: readonly Omit<Measurement, 'timeMs'>[] = [
  { code: MDC.ECG_HEART_RATE, unit: MDC.DIM_BEAT_PER_MIN, flags: 0, value: { kind: 1, value: { mantissa: 72, exponent: 0 } } },
  { code: MDC.PULS_OXIM_SAT_O2, unit: MDC.DIM_PERCENT, flags: 0, value: { kind: 1, value: { mantissa: 98, exponent: 0 } } },
  { code: MDC.RESP_RATE, unit: MDC.DIM_RESP_PER_MIN, flags: 0, value: { kind: 1, value: { mantissa: 16, exponent: 0 } } },
  { code: MDC.TEMP_BODY, unit: MDC.DIM_DEGC, flags: 0, value: { kind: 1, value: { mantissa: 366, exponent: -1 } } },
] as Omit<Measurement, 'timeMs'>[];

function numericReadings(sim: Sim, count: number): Measurement[] {
  const t = Date.now();
  const out = new Array<Measurement>(count);
  for (let i = 0; i < count; i++) {
    const template = NUMERIC[(sim.recorded + i) % NUMERIC.length] as Omit<Measurement, 'timeMs'>;
    out[i] = { ...template, timeMs: t } as Measurement;
  }
  return out;
}

/** Tops the sensor up to `high` held readings, one slice per task. */
function scheduleRefill(sim: Sim): void {
  if (sim.refillScheduled || sim.load === undefined) return;
  sim.refillScheduled = true;
  setTimeout(() => {
    sim.refillScheduled = false;
    const load = sim.load;
    if (load === undefined) return;
    const want = Math.min(load.slice, load.high - sim.device.store.held);
    if (want <= 0) return;
    const readings = numericReadings(sim, want);
    sim.recorded += timed(() => sim.device.record(readings));
    if (sim.device.store.held < load.high) scheduleRefill(sim);
  }, 0);
}

export interface SensorCounts {
  readonly acked: readonly number[];
  readonly held: readonly number[];
  readonly recorded: readonly number[];
}

const api = {
  /** The port the fragments go over (see the top of this file). */
  init(p: MessagePort): void {
    port = p;
    port.onmessage = onPortMessage;
  },

  /** The manufacturer CA the vault must trust. */
  trustRoot(): { name: string; publicKey: Uint8Array } {
    return { name: ca.name, publicKey: ca.publicKey };
  },

  /** Manufactures sensor `i`, opens its pairing window; returns its link id and setup code passcode. */
  addSensor(i: number): { link: string; passcode: DeviceIdentity['passcode'] } {
    const identity = manufactureDevice({ ca, random, nowMs: Date.now(), serial: `BENCH${String(i).padStart(4, '0')}` });
    const device = new SensorDevice({ identity, random, clock: () => Date.now(), storeCapacity: 1_000_000 });
    const sim: Sim = {
      index: i,
      link: `link-${i}`,
      identity,
      device,
      connection: undefined,
      acked: 0,
      drainScheduled: false,
      refillScheduled: false,
      load: undefined,
      vitals: undefined,
      recorded: 0,
      paused: false,
      inflight: 0,
      maxInflight: Number.POSITIVE_INFINITY,
    };
    device.onEvent((e) => {
      if (e.type !== 'acknowledged') return;
      sim.acked = e.upTo;
      if (sim.load !== undefined && device.store.held < sim.load.low) scheduleRefill(sim);
    });
    sims[i] = sim;
    device.policy.openWindow(Date.now());
    return { link: sim.link, passcode: identity.passcode };
  },

  /** Connects sensor `i` (the page then opens the link in the vault worker). */
  connect(i: number): number {
    const sim = sims[i] as Sim;
    sim.connection?.disconnect();
    const c = sim.device.connect(ATT_MTU);
    sim.connection = c;
    c.onFragmentReady(() => scheduleDrain(sim, c));
    return ATT_MTU;
  },

  bonded(i: number): boolean {
    const sim = sims[i] as Sim;
    return sim.device.bonds.size === 1 && sim.connection?.isOpen === true;
  },

  counts(): SensorCounts {
    return { acked: sims.map((s) => s.acked), held: sims.map((s) => s.device.store.held), recorded: sims.map((s) => s.recorded) };
  },

  /** Sensor work since the last call: total and longest stretch, ms. */
  takeWork(): { totalMs: number; longestMs: number } {
    const out = { ...work };
    work.totalMs = 0;
    work.longestMs = 0;
    return out;
  },

  startSaturate(active: number, low: number, high: number, slice: number): void {
    for (const sim of sims.slice(0, active)) {
      sim.load = { low, high, slice };
      scheduleRefill(sim);
    }
  },

  /** Stops every load and unpauses the links (the page then waits for `held` to reach 0). */
  stopLoad(): void {
    for (const sim of sims) {
      sim.load = undefined;
      if (sim.paused) {
        sim.paused = false;
        if (sim.connection !== undefined) scheduleDrain(sim, sim.connection);
      }
    }
    if (realisticTimer !== undefined) clearInterval(realisticTimer);
    realisticTimer = undefined;
    for (const sim of sims) sim.vitals = undefined;
  },

  /** After the drain: back to ungated links. */
  ungate(): void {
    for (const sim of sims) {
      sim.maxInflight = Number.POSITIVE_INFINITY;
      sim.inflight = 0;
    }
  },

  async prerecord(active: number, perSensor: number): Promise<void> {
    const slice = 5_000;
    for (const sim of sims.slice(0, active)) sim.paused = true;
    for (;;) {
      let more = false;
      for (const sim of sims.slice(0, active)) {
        const want = Math.min(slice, perSensor - sim.device.store.held);
        if (want <= 0) continue;
        sim.recorded += sim.device.record(numericReadings(sim, want));
        more = true;
      }
      if (!more) break;
      await sleep(0);
    }
  },

  startBacklog(active: number, maxInflight: number): void {
    for (const sim of sims.slice(0, active)) {
      sim.maxInflight = maxInflight;
      sim.inflight = 0;
      sim.paused = false;
      if (sim.connection !== undefined) scheduleDrain(sim, sim.connection);
    }
  },

  startRealistic(active: number, tickMs: number): void {
    const startMs = Date.now();
    for (const sim of sims.slice(0, active)) {
      sim.vitals = new VitalsSimulator({
        seed: `bench-${sim.index}`,
        startMs,
        rates: { heartRateMs: 1000, spo2Ms: 1000, respiratoryRateMs: 1000, temperatureMs: 1000, bloodPressureMs: 1000, ecgHz: 250, ecgSamplesPerRecord: 250 },
      });
    }
    realisticTimer = setInterval(() => {
      const now = Date.now();
      for (const sim of sims) {
        const vitals = sim.vitals;
        if (vitals === undefined) continue;
        const readings = vitals.advance(now);
        if (readings.length > 0) sim.recorded += timed(() => sim.device.record(readings));
      }
    }, tickMs);
  },

  teardown(): void {
    for (const sim of sims) {
      sim.load = undefined;
      sim.connection?.disconnect();
      sim.connection = undefined;
    }
    if (realisticTimer !== undefined) clearInterval(realisticTimer);
    realisticTimer = undefined;
  },
};

export type SensorsApi = typeof api;

Comlink.expose(api);
