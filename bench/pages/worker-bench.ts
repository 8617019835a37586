/// <reference lib="dom" />
/// <reference types="vite/client" />
/**
 * The page of the `worker` benchmark (bench/README.md): the real vault worker, started through the
 * app's own client (`src/app/vault-client.ts`), real IndexedDB, and N reference sensors in this
 * page — each its own `SensorDevice`, its own BLE-like link id into the one vault worker, paired
 * with a setup code like a user would. `bench/worker.ts` drives it with `page.evaluate` through
 * `window.workerBench`.
 *
 * The link is the vault test page's (test/browser/pages/vault-page.ts), per sensor: a fragment
 * the sensor queues on `data` is taken on the next task and handed to the worker with
 * `client.receive` (transferred), as the app does with a GATT notification; a fragment the worker
 * writes to `control` reaches the sensor on the next task, like a GATT write.
 *
 * Three kinds of load:
 * - **saturate**: each active sensor's store is topped up whenever what it holds (recorded, not
 *   yet acknowledged) drops below `low`, back up to `high`, in slices of at most `slice` records
 *   per task; so the sensors record as fast as the vault acknowledges, and at most `high` readings
 *   per sensor are in flight. The readings are single numeric vitals (heart rate, SpO2,
 *   respiratory rate, temperature in turn): the smallest record, the most records per byte.
 *   Recording is costly for the reference sensor (a SHA-256 hash-chain step per record, an
 *   Ed25519 checkpoint signature every 100), and here it runs on the page's main thread.
 * - **backlog**: the same readings, all recorded beforehand (untimed, links paused), then streamed:
 *   sensors reconnecting with a backlog. The page then only seals, fragments and relays during
 *   the window; at most `maxInflight` fragments per link wait for the worker.
 * - **realistic**: each sensor runs the reference vitals simulator (`sensor/vitals.ts`) in real
 *   time with heart rate, SpO2, respiratory rate, temperature and blood pressure at 1 Hz and the
 *   ECG at 250 Hz (one 250-sample waveform record a second): 6 records a second per sensor.
 *
 * The page measures its own main thread while asked (`startProbe` / `stopProbe`): long tasks
 * (PerformanceObserver 'longtask', ≥ 50 ms), the longest gap between ticks of a `setTimeout(0)`
 * chain and of a `requestAnimationFrame` chain, and how long the benchmark's own work took (the
 * sensors, which in the app are other devices, and the relay into the worker, which is the app's).
 */
import * as Comlink from 'comlink';
import { toHex } from '../../src/core/bytes.js';
import { MDC } from '../../src/core/readings.js';
import { formatSetupCode } from '../../src/core/setup-code.js';
import { SensorDevice, type SensorConnection } from '../../sensor/device.js';
import { createManufacturerCa, manufactureDevice, type DeviceIdentity } from '../../sensor/identity.js';
import type { Measurement } from '../../sensor/record-store.js';
import { VitalsSimulator } from '../../sensor/vitals.js';
// The benchmark measures the app's own path into the worker, so it uses the app's client.
import { startVault, type VaultClient } from '../../src/app/vault-client.js';
import type { ViewBatch } from '../../workers/vault/pipeline.js';
import type { BaselineApi, IdbParams, IdbSample, OpenSample } from './baseline.worker.js';

const ATT_MTU = 247;
const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const ca = createManufacturerCa('Vitalock Bench Medical', random);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ── bookkeeping of the page's own work ────────────────────────────────────────────────────────

interface WorkClock {
  /** Total ms spent, and the longest single stretch. */
  totalMs: number;
  longestMs: number;
}

const work = {
  /** The sensors: recording, sealing and fragmenting, handling ACKs (in the app: other devices). */
  sensor: { totalMs: 0, longestMs: 0 } as WorkClock,
  /** Handing fragments to the worker (`client.receive`): the app's relay. */
  relay: { totalMs: 0, longestMs: 0 } as WorkClock,
  /** The view callback (here: counting; in the app: rendering). */
  view: { totalMs: 0, longestMs: 0 } as WorkClock,
};

function timed<T>(clock: WorkClock, fn: () => T): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    const ms = performance.now() - t0;
    clock.totalMs += ms;
    if (ms > clock.longestMs) clock.longestMs = ms;
  }
}

function resetWork(): void {
  for (const c of Object.values(work)) {
    c.totalMs = 0;
    c.longestMs = 0;
  }
}

// ── sensors ─────────────────────────────────────────────────────────────────────────────────────

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
  /** Readings recorded by this page on the sensor so far. */
  recorded: number;
  /** While pre-recording a backlog: fragments stay on the sensor (its queue fills, it stops). */
  paused: boolean;
  /** Fragments handed to the worker whose `receive` has not returned yet, and the cap on them. */
  inflight: number;
  maxInflight: number;
}

let client: VaultClient | undefined;
let baseline: Comlink.Remote<BaselineApi> | undefined;
let dbName = '';
const sims: Sim[] = [];
const views = { batches: 0, readings: 0 };
let realisticTimer: ReturnType<typeof setInterval> | undefined;

function simByLink(link: string): Sim | undefined {
  return sims[Number(link.slice('link-'.length))];
}

/**
 * The next task takes every fragment the sensor has queued and hands each to the worker. With a
 * finite `maxInflight` (backlog mode), it stops while that many `receive` calls are unanswered,
 * as a BLE link's buffers would, and goes on as they return; the sensor's own queue (64
 * fragments) then fills and it stops streaming until there is room.
 */
function scheduleDrain(sim: Sim, c: SensorConnection): void {
  if (sim.drainScheduled) return;
  sim.drainScheduled = true;
  setTimeout(() => {
    sim.drainScheduled = false;
    const gated = Number.isFinite(sim.maxInflight);
    while (!sim.paused && sim.inflight < sim.maxInflight) {
      const f = timed(work.sensor, () => c.takeFragment());
      if (f === undefined || sim.connection !== c) break;
      const sent = timed(work.relay, () => client?.receive(sim.link, f));
      if (gated && sent !== undefined) {
        sim.inflight++;
        const done = (): void => {
          sim.inflight--;
          if (c.queuedFragments > 0) scheduleDrain(sim, c);
        };
        sent.then(done, done);
      }
    }
  }, 0);
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
    sim.recorded += timed(work.sensor, () => sim.device.record(readings));
    if (sim.device.store.held < load.high) scheduleRefill(sim);
  }, 0);
}

async function connect(sim: Sim): Promise<void> {
  sim.connection?.disconnect();
  const c = sim.device.connect(ATT_MTU);
  sim.connection = c;
  c.onFragmentReady(() => scheduleDrain(sim, c));
  await client!.vault.openLink(sim.link, ATT_MTU);
}

async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

// ── main-thread probe ───────────────────────────────────────────────────────────────────────────

interface Probe {
  running: boolean;
  observer: PerformanceObserver | undefined;
  longtasks: number[];
  timerLast: number;
  timerGapMax: number;
  /** The longest timer gaps: [start (ms since the probe started), length]. */
  timerGaps: [number, number][];
  timerTicks: number;
  rafLast: number | undefined;
  rafGapMax: number;
  rafTicks: number;
  startedAt: number;
}

export interface ProbeResult {
  readonly durationMs: number;
  /** PerformanceObserver 'longtask' entries (each ≥ 50 ms). */
  readonly longtaskCount: number;
  readonly longtaskMaxMs: number;
  readonly longtaskTotalMs: number;
  /** Longest time between two ticks of a setTimeout(0) chain (nominally 4 ms once nested). */
  readonly timerGapMaxMs: number;
  readonly timerTicks: number;
  /** The (up to 10) longest timer gaps over 20 ms: [start, ms since the probe started; length, ms]. */
  readonly timerGapsTop: readonly [number, number][];
  /** Longest time between two animation frames (nominally 16.7 ms). */
  readonly rafGapMaxMs: number;
  readonly rafTicks: number;
  /** The page's own work while probed. */
  readonly sensorMs: number;
  readonly sensorLongestMs: number;
  readonly relayMs: number;
  readonly relayLongestMs: number;
  readonly viewMs: number;
  readonly viewLongestMs: number;
}

let probe: Probe | undefined;

function startProbe(): void {
  if (probe?.running) throw new Error('probe already running');
  resetWork();
  const now = performance.now();
  const p: Probe = {
    running: true,
    observer: undefined,
    longtasks: [],
    timerLast: now,
    timerGapMax: 0,
    timerGaps: [],
    timerTicks: 0,
    rafLast: undefined,
    rafGapMax: 0,
    rafTicks: 0,
    startedAt: now,
  };
  if (PerformanceObserver.supportedEntryTypes.includes('longtask')) {
    p.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) p.longtasks.push(entry.duration);
    });
    p.observer.observe({ type: 'longtask' });
  }
  const timerTick = (): void => {
    if (!p.running) return;
    const t = performance.now();
    const gap = t - p.timerLast;
    if (gap > 20) {
      p.timerGaps.push([Math.round(p.timerLast - p.startedAt), Math.round(gap)]);
      if (p.timerGaps.length > 50) p.timerGaps = p.timerGaps.sort((a, b) => b[1] - a[1]).slice(0, 10);
    }
    p.timerGapMax = Math.max(p.timerGapMax, gap);
    p.timerLast = t;
    p.timerTicks++;
    setTimeout(timerTick, 0);
  };
  setTimeout(timerTick, 0);
  const rafTick = (t: number): void => {
    if (!p.running) return;
    if (p.rafLast !== undefined) p.rafGapMax = Math.max(p.rafGapMax, t - p.rafLast);
    p.rafLast = t;
    p.rafTicks++;
    requestAnimationFrame(rafTick);
  };
  requestAnimationFrame(rafTick);
  probe = p;
}

async function stopProbe(): Promise<ProbeResult> {
  const p = probe;
  if (p === undefined || !p.running) throw new Error('no probe running');
  // Let the observer deliver the entries of the last tasks.
  await sleep(100);
  p.running = false;
  const pending = p.observer?.takeRecords() ?? [];
  for (const entry of pending) p.longtasks.push(entry.duration);
  p.observer?.disconnect();
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    durationMs: round(performance.now() - p.startedAt),
    longtaskCount: p.longtasks.length,
    longtaskMaxMs: round(Math.max(0, ...p.longtasks)),
    longtaskTotalMs: round(p.longtasks.reduce((a, b) => a + b, 0)),
    timerGapMaxMs: round(p.timerGapMax),
    timerTicks: p.timerTicks,
    timerGapsTop: p.timerGaps.sort((a, b) => b[1] - a[1]).slice(0, 10),
    rafGapMaxMs: round(p.rafGapMax),
    rafTicks: p.rafTicks,
    sensorMs: round(work.sensor.totalMs),
    sensorLongestMs: round(work.sensor.longestMs),
    relayMs: round(work.relay.totalMs),
    relayLongestMs: round(work.relay.longestMs),
    viewMs: round(work.view.totalMs),
    viewLongestMs: round(work.view.longestMs),
  };
}

// ── what the vault wrote (read back from IndexedDB, in clear fields and sizes only) ──────────

export interface ChunkStats {
  /** `readings` rows not seen by the previous call. */
  readonly rows: number;
  /** Rows whose record count is known (the next row of the same sensor exists). */
  readonly rowsCounted: number;
  readonly recordsPerRowMean: number;
  readonly valueBytesMean: number;
  /** Rows holding fewer than 512 records: each batch (= transaction) ends with one. */
  readonly partialRows: number;
  /** Estimated rows per transaction: rows counted ÷ partial rows among them. */
  readonly rowsPerTxMean: number;
  readonly sensorValueBytesMean: number;
}

const seenRows = new Set<string>();

function idbRequest<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function chunkStats(): Promise<ChunkStats> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open(dbName);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  try {
    const tx = db.transaction(['readings', 'sensors'], 'readonly');
    const rows: { pseudonym: string; firstSeq: number; bytes: number; fresh: boolean }[] = [];
    await new Promise<void>((resolve, reject) => {
      const cursorRequest = tx.objectStore('readings').openCursor();
      cursorRequest.onerror = () => reject(cursorRequest.error);
      cursorRequest.onsuccess = () => {
        const cursor = cursorRequest.result;
        if (cursor === null) return resolve();
        const row = cursor.value as { pseudonym: string; firstSeq: number; value: Uint8Array };
        const id = `${row.pseudonym}:${row.firstSeq}`;
        rows.push({ pseudonym: row.pseudonym, firstSeq: row.firstSeq, bytes: row.value.byteLength, fresh: !seenRows.has(id) });
        cursor.continue();
      };
    });
    const sensorRows = (await idbRequest(tx.objectStore('sensors').getAll())) as { value: Uint8Array }[];
    let counted = 0;
    let records = 0;
    let partial = 0;
    let bytes = 0;
    let fresh = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as (typeof rows)[number];
      if (!row.fresh) continue;
      fresh++;
      bytes += row.bytes;
      seenRows.add(`${row.pseudonym}:${row.firstSeq}`);
      const next = rows[i + 1];
      if (next !== undefined && next.pseudonym === row.pseudonym) {
        const n = next.firstSeq - row.firstSeq;
        counted++;
        records += n;
        if (n < 512) partial++;
      }
    }
    const sensorBytes = sensorRows.reduce((a, r) => a + r.value.byteLength, 0);
    return {
      rows: fresh,
      rowsCounted: counted,
      recordsPerRowMean: counted ? records / counted : 0,
      valueBytesMean: fresh ? bytes / fresh : 0,
      partialRows: partial,
      rowsPerTxMean: partial ? counted / partial : 0,
      sensorValueBytesMean: sensorRows.length ? sensorBytes / sensorRows.length : 0,
    };
  } finally {
    db.close();
  }
}

// ── the API bench/worker.ts drives ──────────────────────────────────────────────────────────────

export interface Counts {
  /** performance.now() of the page when read. */
  readonly t: number;
  /** Per sensor: highest seq acknowledged (every seq up to it is stored). */
  readonly acked: readonly number[];
  readonly held: readonly number[];
  readonly recorded: readonly number[];
  readonly viewBatches: number;
  readonly viewReadings: number;
}

function counts(): Counts {
  return {
    t: performance.now(),
    acked: sims.map((s) => s.acked),
    held: sims.map((s) => s.device.store.held),
    recorded: sims.map((s) => s.recorded),
    viewBatches: views.batches,
    viewReadings: views.readings,
  };
}

export const api = {
  /**
   * Starts the vault worker, creates a vault with `passphrase` (real Argon2 calibration), and
   * pairs `sensors` sensors, one link each. Resolves with what it took.
   */
  async setup(sensors: number, passphrase: string): Promise<{ createMs: number; pairMs: number[]; dbName: string }> {
    dbName = `vitalock-bench-${toHex(random(4))}`;
    client = await startVault(
      { trustRoots: [{ name: ca.name, publicKey: toHex(ca.publicKey) }], hubLabel: 'Bench tablet', dbName },
      {
        write: (link, fragment) => {
          // The GATT write to `control`, answered on the next task like a real stack.
          setTimeout(() => {
            const sim = simByLink(link);
            const c = sim?.connection;
            if (c !== undefined) timed(work.sensor, () => c.receiveFragment(fragment));
          }, 0);
        },
        view: (batch: ViewBatch) =>
          timed(work.view, () => {
            views.batches++;
            views.readings += batch.count;
          }),
        vault: () => undefined,
      },
    );
    const t0 = performance.now();
    await client.vault.create(passphrase);
    const createMs = performance.now() - t0;
    const pairMs: number[] = [];
    for (let i = 0; i < sensors; i++) {
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
      sims.push(sim);
      const p0 = performance.now();
      device.policy.openWindow(Date.now());
      await connect(sim);
      const result = await client.vault.pair(sim.link, { setupCode: formatSetupCode(identity.passcode) });
      if (!result.ok) throw new Error(`pairing sensor ${i} refused: ${result.problem}`);
      await until(`pairing of sensor ${i}`, () => device.bonds.size === 1 && sim.connection?.isOpen === true, 20_000);
      pairMs.push(performance.now() - p0);
    }
    return { createMs, pairMs, dbName };
  },

  /** Saturating load on sensors [0, active): see the top of this file. */
  startSaturate(active: number, low: number, high: number, slice: number): void {
    for (const sim of sims.slice(0, active)) {
      sim.load = { low, high, slice };
      scheduleRefill(sim);
    }
  },

  /** Stops topping up and waits until every sensor's readings are all acknowledged. */
  async stopLoad(timeoutMs = 120_000): Promise<number> {
    const t0 = performance.now();
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
    await until('drain', () => sims.every((s) => s.device.store.held === 0), timeoutMs);
    for (const sim of sims) sim.maxInflight = Number.POSITIVE_INFINITY;
    return performance.now() - t0;
  },

  /**
   * Backlog mode, step 1 (untimed): records `perSensor` readings on each of sensors [0, active)
   * while their links are paused, so that during the measured window the page does no recording
   * at all — like sensors that reconnect holding a backlog. In slices, yielding between them.
   */
  async prerecord(active: number, perSensor: number): Promise<number> {
    const t0 = performance.now();
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
    return performance.now() - t0;
  },

  /** Backlog mode, step 2: the paused links stream, at most `maxInflight` fragments unanswered each. */
  startBacklog(active: number, maxInflight: number): void {
    for (const sim of sims.slice(0, active)) {
      sim.maxInflight = maxInflight;
      sim.paused = false;
      if (sim.connection !== undefined) scheduleDrain(sim, sim.connection);
    }
  },

  /** Real-time vitals on sensors [0, active), advanced every `tickMs`. */
  startRealistic(active: number, tickMs = 250): void {
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
        if (readings.length > 0) sim.recorded += timed(work.sensor, () => sim.device.record(readings));
      }
    }, tickMs);
  },

  counts,
  startProbe,
  stopProbe,
  chunkStats,

  // The baselines, in a bench-only worker of this page (baseline.worker.ts).
  async startBaseline(): Promise<void> {
    const w = new Worker(new URL('./baseline.worker.ts', import.meta.url), { type: 'module', name: 'baseline' });
    baseline = Comlink.wrap<BaselineApi>(w);
  },
  prepareIdb: (params: Omit<IdbParams, 'dbName'>): Promise<void> => baseline!.prepareIdb({ ...params, dbName: `${dbName}-raw-idb` }),
  idbSample: (ms: number): Promise<IdbSample> => baseline!.idbSample(ms),
  dropIdb: (): Promise<void> => baseline!.dropIdb(),
  prepareOpen: (valueBytes: number): Promise<{ plaintextBytes: number; adBytes: number }> => baseline!.prepareOpen(valueBytes),
  openSample: (ms: number): Promise<OpenSample> => baseline!.openSample(ms),

  /** Closes every link, stops the worker and deletes the vault's database. */
  async teardown(): Promise<void> {
    for (const sim of sims) {
      sim.load = undefined;
      sim.connection?.disconnect();
      sim.connection = undefined;
    }
    if (realisticTimer !== undefined) clearInterval(realisticTimer);
    client?.terminate();
    client = undefined;
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(dbName);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  },
};

export type WorkerBenchApi = typeof api;

declare global {
  interface Window {
    workerBench: WorkerBenchApi;
    workerBenchReady: boolean;
  }
}

window.workerBench = api;
window.workerBenchReady = true;
