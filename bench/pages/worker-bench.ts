/// <reference lib="dom" />
/// <reference types="vite/client" />
/**
 * The page of the `worker` benchmark (bench/README.md): the real vault worker, started through the
 * app's own client (`src/app/vault-client.ts`), real IndexedDB, and N reference sensors in a
 * dedicated worker of their own (`sensors.worker.ts`) — each its own `SensorDevice`, its own
 * BLE-like link id into the one vault worker, paired with a setup code like a user would.
 * `bench/worker.ts` drives it with `page.evaluate` through `window.workerBench`.
 *
 * In the app the sensors are BLE peripherals outside the browser and the page only relays
 * fragments between Web Bluetooth and the vault worker; here the page does the same between the
 * sensor worker and the vault worker: a batch of fragments the sensor worker posts (one message,
 * buffers transferred — GATT notifications) is handed fragment by fragment to the vault worker
 * with `client.receive` (transferred), and a fragment the vault worker writes to `control` is
 * posted (transferred) to the sensor worker, which hands it to the sensor on the next task.
 *
 * Three kinds of load (run in the sensor worker, see there):
 * - **saturate**: each active sensor's store is topped up whenever what it holds (recorded, not
 *   yet acknowledged) drops below `low`, back up to `high`, in slices of at most `slice` records
 *   per task; so the sensors record as fast as the vault acknowledges. The readings are single
 *   numeric vitals (heart rate, SpO2, respiratory rate, temperature in turn).
 * - **backlog**: the same readings, all recorded beforehand (untimed, links paused), then streamed:
 *   sensors reconnecting with a backlog; at most `maxInflight` fragments per link wait for the
 *   vault worker (the page reports answered ones back, as a BLE link's buffers free up).
 * - **realistic**: each sensor runs the reference vitals simulator (`sensor/vitals.ts`) in real
 *   time with heart rate, SpO2, respiratory rate, temperature and blood pressure at 1 Hz and the
 *   ECG at 250 Hz (one 250-sample waveform record a second): 6 records a second per sensor.
 *
 * The page measures its own main thread while asked (`startProbe` / `stopProbe`): long tasks
 * (PerformanceObserver 'longtask', ≥ 50 ms), the longest gap between ticks of a `setTimeout(0)`
 * chain and of a `requestAnimationFrame` chain, and how long the page's own work took (the relay
 * into the vault worker, the app's; the sensors' work is reported from the sensor worker).
 */
import * as Comlink from 'comlink';
import { toHex } from '../../src/core/bytes.js';
import { formatSetupCode } from '../../src/core/setup-code.js';
// The benchmark measures the app's own path into the worker, so it uses the app's client.
import { startVault, type VaultClient } from '../../src/app/vault-client.js';
import type { ViewBatch } from '../../workers/vault/pipeline.js';
import type { BaselineApi, IdbParams, IdbSample, OpenSample } from './baseline.worker.js';
import type { FragmentBatch, PageToSensors, SensorsApi } from './sensors.worker.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ── bookkeeping of the page's own work ────────────────────────────────────────────────────────

interface WorkClock {
  /** Total ms spent, and the longest single stretch. */
  totalMs: number;
  longestMs: number;
}

const work = {
  /** Relaying fragments: `client.receive` into the vault worker, and writes out to the sensor worker. */
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

// ── the relay ───────────────────────────────────────────────────────────────────────────────────

let client: VaultClient | undefined;
let baseline: Comlink.Remote<BaselineApi> | undefined;
let sensors: Comlink.Remote<SensorsApi> | undefined;
let sensorsWorker: Worker | undefined;
let sensorPort: MessagePort | undefined;
let dbName = '';
const views = { batches: 0, readings: 0 };
/** Backlog mode: links whose answered fragments are reported back to the sensor worker. */
let gated = false;
/** Answered fragments per link not reported yet, flushed once per task. */
const answered = new Map<string, number>();
let answeredScheduled = false;

function flushAnswered(): void {
  answeredScheduled = false;
  for (const [link, n] of answered) sensorPort?.postMessage({ type: 'done', link, n } satisfies PageToSensors);
  answered.clear();
}

function onAnswered(link: string): void {
  answered.set(link, (answered.get(link) ?? 0) + 1);
  if (!answeredScheduled) {
    answeredScheduled = true;
    setTimeout(flushAnswered, 0);
  }
}

/** A batch of notifications from the sensor worker: each fragment into the vault worker, transferred. */
function onFragments(event: MessageEvent<FragmentBatch>): void {
  const { link, fragments } = event.data;
  const c = client;
  if (c === undefined) return;
  timed(work.relay, () => {
    for (const f of fragments) {
      const sent = c.receive(link, f);
      if (gated) {
        const done = (): void => onAnswered(link);
        sent.then(done, done);
      }
    }
  });
}

async function until(what: string, done: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!(await done())) {
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
  /** The simulated sensors' work while probed, in the sensor worker (not on the page's main thread). */
  readonly sensorMs: number;
  readonly sensorLongestMs: number;
  /** The page's own work while probed. */
  readonly relayMs: number;
  readonly relayLongestMs: number;
  readonly viewMs: number;
  readonly viewLongestMs: number;
}

let probe: Probe | undefined;

async function startProbe(): Promise<void> {
  if (probe?.running) throw new Error('probe already running');
  resetWork();
  await sensors?.takeWork();
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
  const sensorWork = (await sensors?.takeWork()) ?? { totalMs: 0, longestMs: 0 };
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
    sensorMs: round(sensorWork.totalMs),
    sensorLongestMs: round(sensorWork.longestMs),
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
  /** performance.now() of the page when read (after the sensor worker answered). */
  readonly t: number;
  /** Per sensor: highest seq acknowledged (every seq up to it is stored). */
  readonly acked: readonly number[];
  readonly held: readonly number[];
  readonly recorded: readonly number[];
  readonly viewBatches: number;
  readonly viewReadings: number;
}

async function counts(): Promise<Counts> {
  const s = await sensors!.counts();
  return { t: performance.now(), ...s, viewBatches: views.batches, viewReadings: views.readings };
}

export const api = {
  /**
   * Starts the sensor worker and the vault worker, creates a vault with `passphrase` (real Argon2
   * calibration), and pairs `count` sensors, one link each. Resolves with what it took.
   */
  async setup(count: number, passphrase: string): Promise<{ createMs: number; pairMs: number[]; dbName: string }> {
    dbName = `vitalock-bench-${toHex(crypto.getRandomValues(new Uint8Array(4)))}`;
    sensorsWorker = new Worker(new URL('./sensors.worker.ts', import.meta.url), { type: 'module', name: 'sensors' });
    sensors = Comlink.wrap<SensorsApi>(sensorsWorker);
    const channel = new MessageChannel();
    sensorPort = channel.port1;
    sensorPort.onmessage = onFragments;
    await sensors.init(Comlink.transfer(channel.port2, [channel.port2]));
    const ca = await sensors.trustRoot();
    client = await startVault(
      { trustRoots: [{ name: ca.name, publicKey: toHex(ca.publicKey) }], hubLabel: 'Bench tablet', dbName },
      {
        write: (link, fragment) =>
          timed(work.relay, () => {
            // The GATT write to `control`: to the sensor worker, transferred.
            const own = fragment.byteOffset === 0 && fragment.byteLength === fragment.buffer.byteLength ? fragment : fragment.slice();
            sensorPort?.postMessage({ type: 'write', link, fragment: own } satisfies PageToSensors, [own.buffer as ArrayBuffer]);
          }),
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
    for (let i = 0; i < count; i++) {
      const p0 = performance.now();
      const { link, passcode } = await sensors.addSensor(i);
      const mtu = await sensors.connect(i);
      await client.vault.openLink(link, mtu);
      const result = await client.vault.pair(link, { setupCode: formatSetupCode(passcode) });
      if (!result.ok) throw new Error(`pairing sensor ${i} refused: ${result.problem}`);
      await until(`pairing of sensor ${i}`, () => sensors!.bonded(i), 20_000);
      pairMs.push(performance.now() - p0);
    }
    return { createMs, pairMs, dbName };
  },

  /** Saturating load on sensors [0, active): see the top of this file. */
  startSaturate: (active: number, low: number, high: number, slice: number): Promise<void> => sensors!.startSaturate(active, low, high, slice),

  /** Stops topping up and waits until every sensor's readings are all acknowledged. */
  async stopLoad(timeoutMs = 120_000): Promise<number> {
    const t0 = performance.now();
    await sensors!.stopLoad();
    await until('drain', async () => (await sensors!.counts()).held.every((h) => h === 0), timeoutMs);
    gated = false;
    await sensors!.ungate();
    return performance.now() - t0;
  },

  /**
   * Backlog mode, step 1 (untimed): records `perSensor` readings on each of sensors [0, active)
   * while their links are paused, so that during the measured window no sensor records — like
   * sensors that reconnect holding a backlog.
   */
  async prerecord(active: number, perSensor: number): Promise<number> {
    const t0 = performance.now();
    await sensors!.prerecord(active, perSensor);
    return performance.now() - t0;
  },

  /** Backlog mode, step 2: the paused links stream, at most `maxInflight` fragments unanswered each. */
  async startBacklog(active: number, maxInflight: number): Promise<void> {
    gated = true;
    await sensors!.startBacklog(active, maxInflight);
  },

  /** Real-time vitals on sensors [0, active), advanced every `tickMs`. */
  startRealistic: (active: number, tickMs = 250): Promise<void> => sensors!.startRealistic(active, tickMs),

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

  /** Closes every link, stops both workers and deletes the vault's database. */
  async teardown(): Promise<void> {
    await sensors?.teardown();
    sensors?.[Comlink.releaseProxy]();
    sensors = undefined;
    sensorsWorker?.terminate();
    sensorsWorker = undefined;
    sensorPort?.close();
    sensorPort = undefined;
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
