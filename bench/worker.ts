/**
 * Suite `worker` (bench/README.md): the vault worker (docs/vault.md §3) in real Chromium — how
 * many readings a second go from "frames in" to "stored and acknowledged" with 1 and with 8
 * paired reference sensors, what that costs the page's main thread, whether the worker's heap
 * stays flat over a long realistic stream, and two ceilings measured in the same page (raw
 * IndexedDB puts, raw AEAD opens) to read the pipeline's figures against.
 *
 * Node side: starts Vite's dev server for `bench/pages/` (`bench/vite.config.ts`), launches
 * Chromium headless, opens `worker-bench.html` and drives `window.workerBench`
 * (`pages/worker-bench.ts`) phase by phase. The simulated sensors run in their own dedicated
 * worker (`pages/sensors.worker.ts`); the page only relays fragments, as the app does. The worker's heap is read over CDP: a browser-level
 * session attaches to the worker target (`Target.attachToTarget`) and talks to it with
 * `Target.sendMessageToTarget` — a page session does not reach dedicated workers.
 *
 * Settings (environment, beside BENCH_ROUNDS / BENCH_SAMPLE_MS / BENCH_WARMUP_MS for the raw
 * baselines): BENCH_HEAP_MINUTES (default 10), BENCH_WORKER_WINDOW_S (default 15),
 * BENCH_WORKER_WARMUP_S (default 5), BENCH_WORKER_PROFILE (a directory: CPU profiles of the worker
 * and the page during the 8-sensor window; perturbs that window's figures), CHROMIUM_PATH.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type CDPSession, type Page } from '@playwright/test';
import { createServer, type ViteDevServer } from 'vite';
import type { ChunkStats, Counts, ProbeResult, WorkerBenchApi } from './pages/worker-bench.js';
import { significant } from './support/figures.js';
import { benchConfig, median, spread, type Spread } from './support/measure.js';
import type { Figures } from './support/suite.js';

export const name = 'worker';

// ── settings ────────────────────────────────────────────────────────────────────────────────────

const SENSORS = 8;
const PASSPHRASE = 'correct horse battery staple';
/** Saturating load, per sensor: top up to HIGH held readings when below LOW, SLICE per task. */
const LOW = 8_000;
const HIGH = 10_000;
const SLICE = 500;
/** Backlog mode: fragments per link handed to the worker and not yet answered, at most. */
const BACKLOG_INFLIGHT = 128;
/**
 * Backlog mode: a shorter window (every reading must be recorded beforehand, and held in the
 * page), and readings per sensor for BACKLOG_MARGIN × the need at the larger of
 * BACKLOG_RATE_GUESS and 3 × the saturate rate.
 */
const BACKLOG_WINDOW_S = 6;
const BACKLOG_RATE_GUESS = 150_000;
const BACKLOG_MARGIN = 1.25;
const BACKLOG_MAX_PER_SENSOR = 300_000;
/** The measured window is cut into this many slices (their rates are the spread). */
const WINDOW_SLICES = 5;
/** Realistic stream: settle this long before the first heap sample; sample every minute. */
const HEAP_SETTLE_MS = 20_000;
const HEAP_SAMPLE_EVERY_MS = 60_000;
const MIB = 1024 * 1024;

const DEBIAN_CHROMIUM = '/usr/bin/chromium';
/** The launch flags of docs: testing (copied from test/browser/support/chromium.ts, which bench/ may not import), minus Web Bluetooth. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function envNumber(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${variable} must be a positive number: ${raw}`);
  return value;
}

interface WorkerConfig {
  readonly heapMinutes: number;
  readonly windowS: number;
  readonly warmupS: number;
  readonly profileDir: string | undefined;
}

function workerConfig(): WorkerConfig {
  const dir = process.env.BENCH_WORKER_PROFILE;
  return {
    heapMinutes: envNumber('BENCH_HEAP_MINUTES', 10),
    windowS: envNumber('BENCH_WORKER_WINDOW_S', 15),
    warmupS: envNumber('BENCH_WORKER_WARMUP_S', 5),
    profileDir: dir !== undefined && dir !== '' ? dir : undefined,
  };
}

function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH is set to ${fromEnv}, which does not exist.`);
    return fromEnv;
  }
  if (existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  if (existsSync(chromium.executablePath())) return undefined;
  throw new Error(`No Chromium: looked for $CHROMIUM_PATH, ${DEBIAN_CHROMIUM} and Playwright's own browser (apt-get install -y chromium).`);
}

// ── notes ───────────────────────────────────────────────────────────────────────────────────────

export const notes: Readonly<Record<string, string>> = {
  worker_config:
    'Measured window and warm-up per throughput run, and the length of the heap run (BENCH_WORKER_WINDOW_S, BENCH_WORKER_WARMUP_S, BENCH_HEAP_MINUTES); a heap run shorter than 10 min is a smoke run.',
  vault_create_ms: 'VaultService.create with a passphrase, from the page: real Argon2id calibration (≈ 0.5 s per derivation, vault §1.2) plus the first writes.',
  pairing_ms: 'One sensor paired from the page (setup code → bonded and open), median over the 8 sensors; min/max their extremes.',
  pipeline_readings_per_s_1:
    'Readings a second stored and acknowledged (sum of ACK upTo advances) with 1 sensor saturating: the sensor is topped up whenever it holds < 8,000 unacknowledged readings (single numeric vitals, 26-byte records). The figure is the whole measured window (BENCH_WORKER_WINDOW_S after BENCH_WORKER_WARMUP_S of the same load); min/max are the rates of its 5 equal slices.',
  pipeline_readings_per_s_8:
    'The same with 8 sensors, each its own SensorDevice and link into the one vault worker, all saturating at once. Target (not asserted): ≥ 20,000.',
  pipeline_offered_per_s_8: 'Readings recorded on the 8 sensors per second over the same window (≈ the figure above when the sensors keep up and the backlog is steady).',
  chunk_records_mean_8: 'Records per `readings` row written during the 8-sensor window (from consecutive first seqs of one sensor; 512 is a full chunk).',
  chunk_value_bytes_mean_8: 'Bytes of one `readings` row value (sealed chunk: format byte, 24-byte nonce, ciphertext, tag) during the 8-sensor window.',
  chunk_rows_per_tx_8: 'Rows per storage transaction during the 8-sensor window, estimated as rows ÷ partial (< 512 records) rows: each flush ends with one.',
  sensor_row_value_bytes: 'Bytes of a `sensors` row value (ledger and latest reading of each code), written once per transaction.',
  main_thread_longest_task_ms:
    'During the 8-sensor window: the longest of the three main-thread measures below (long-task entry, setTimeout(0) gap, animation-frame gap). Target (not asserted): ≤ 50.',
  main_thread_longtask_max_ms: "Longest PerformanceObserver 'longtask' entry in the page during the 8-sensor window (0: none ≥ 50 ms).",
  main_thread_longtask_count: "Number of 'longtask' entries (≥ 50 ms each) during the 8-sensor window.",
  main_thread_timer_gap_max_ms: 'Longest gap between two ticks of a setTimeout(0) chain in the page during the 8-sensor window (nominal 4 ms): how long a timer could not run.',
  main_thread_raf_gap_max_ms: 'Longest gap between two requestAnimationFrame callbacks during the 8-sensor window (nominal 16.7 ms; headless Chromium, no GPU).',
  main_thread_sensor_busy_fraction:
    "Share of the 8-sensor window spent running the 8 simulated sensors (recording, hash chain and checkpoint signatures, sealing, fragmenting, handling ACKs), measured in their own sensor worker: work that in the app happens on the devices. It is no longer on the page's main thread; near 1 means the sensor worker, not the vault, bounds the saturating rate.",
  main_thread_sensor_longest_ms: 'Longest single stretch of simulated-sensor work (in the sensor worker) during the 8-sensor window.',
  main_thread_relay_busy_fraction: "Share of the 8-sensor window the page's main thread spent in the app's relay: `VaultClient.receive` for every fragment of each batch from the sensor worker (copy check, queued; one comlink `receiveBatch` per link per task, transferred), and posting the vault worker's writes (transferred) to the sensor worker.",
  main_thread_relay_longest_ms: 'Longest single relay stretch on the page (one batch of fragments into the vault worker, or one write out) during the 8-sensor window.',
  pipeline_readings_per_s_8_backlog:
    "8 sensors streaming a backlog recorded beforehand (untimed, links paused): the page does no recording during the window, only the sensors' sealing and fragmenting, the ACKs and the app's relay, each link with at most 128 fragments unanswered by the worker. Same window; min/max over its 5 slices. Closer to the worker's own capacity, since recording on the simulated sensors is most of the page's work under saturate.",
  backlog_readings_per_sensor: 'Readings each sensor held when the backlog run started (2.5 × what the saturate rate would need for warm-up + window, at most 400,000).',
  backlog_left_min: 'Fewest readings any sensor still held at the end of the backlog window: above 0, no sensor ran dry during it.',
  main_thread_sensor_busy_fraction_backlog:
    'Share of the backlog window spent in simulated-sensor work (sealing, fragmenting, ACKs; no recording), in the sensor worker. No longest-task figure for this window (kept as before; the backlog now sits in the sensor worker\'s heap, not the page\'s).',
  main_thread_relay_busy_fraction_backlog: "Share of the backlog window spent in the app's relay (`VaultClient.receive`).",
  view_batches_per_s_8: 'View batches the worker posted to the page per second during the 8-sensor window (vault §3.1: at most 20).',
  raw_idb_put_per_s:
    'Ceiling 1, in a bench-only worker of the same page: `readings` rows put per second into a database with the vault schema, rows shaped like the vault\'s (clear pseudonym, first seq, buckets, bucket keys) with random values of chunk_value_bytes_mean (measured in the warm-up), chunk_rows_per_tx rows + 1 `sensors` row per readwrite transaction through idb, 8 writers each with one transaction in flight; no reads, no encoding, no crypto. Samples ≥ 4 × BENCH_SAMPLE_MS, half before and half after the pipeline windows.',
  raw_idb_tx_per_s: 'Transactions committed per second in the raw IndexedDB baseline.',
  raw_idb_readings_per_s: 'raw_idb_put_per_s × the records a row held in the warm-up: the readings a second storage alone could take at that row size.',
  raw_idb_rows_per_tx: 'Rows per transaction used by the raw IndexedDB baseline (chunk_rows_per_tx of the warm-up, rounded).',
  raw_idb_value_bytes: 'Value bytes per row used by the raw IndexedDB baseline (chunk_value_bytes_mean of the warm-up, rounded).',
  raw_open_per_s:
    'Ceiling 2, same bench-only worker: xchacha20poly1305(key, nonce, ad).decrypt of one chunk-sized ciphertext (raw_open_plaintext_bytes, AD of a `readings` row) per call from @noble/ciphers, a new instance per call; samples ≥ BENCH_SAMPLE_MS, half before and half after the pipeline windows.',
  raw_open_plaintext_bytes: 'Plaintext bytes of the raw AEAD baseline: the warm-up row value minus format byte, nonce and tag.',
  raw_open_readings_per_s: 'raw_open_per_s × the records a row held in the warm-up: readings a second one XChaCha20-Poly1305 pass over the chunk bytes could take.',
  pipeline_vs_raw_idb_ratio: 'pipeline_readings_per_s_8 ÷ raw_idb_readings_per_s: the share of the storage ceiling the whole pipeline reaches.',
  pipeline_vs_raw_open_ratio: 'pipeline_readings_per_s_8 ÷ raw_open_readings_per_s.',
  realistic_readings_per_s: 'Readings a second stored and acknowledged during the heap run: 8 sensors × (5 vitals at 1 Hz + one 250-sample ECG record a second) = 48 expected.',
  heap_minutes: 'Length of the heap run, minutes (BENCH_HEAP_MINUTES): time between the first and the last heap sample.',
  heap_growth_mb_10min:
    "Growth of the vault worker's used JS heap (Runtime.getHeapUsage.usedSize after HeapProfiler.collectGarbage, on a CDP session attached to the worker target) from the first to the last sample of a 10-minute realistic stream, MiB. Only measured when BENCH_HEAP_MINUTES is 10. Target (not asserted): flat.",
  heap_start_mb: 'Vault worker used heap after forced GC at the first sample (after 20 s of the realistic stream), MiB.',
  heap_end_mb: 'Vault worker used heap after forced GC at the last sample, MiB.',
  heap_slope_mb_per_min: 'Least-squares slope of the worker heap samples, MiB per minute.',
  heap_samples_mb: 'Every worker heap sample, "minute:MiB", one a minute after forced GC.',
  page_heap_growth_mb: "The page's used JS heap (same method, page session) from the first to the last sample, MiB: the relay and comlink on the main thread (the sensors run in their own worker).",
  main_thread_longest_task_ms_realistic:
    'main_thread_longest_task_ms during the heap run (8 sensors at the realistic rate), probed between heap samples only (a forced GC of the page would count otherwise).',
  main_thread_longtask_max_ms_realistic: "Longest 'longtask' entry during the heap run (0: none ≥ 50 ms).",
  main_thread_longtask_count_realistic: "'longtask' entries during the heap run.",
  main_thread_timer_gap_max_ms_realistic: 'Longest setTimeout(0) gap during the heap run.',
  main_thread_raf_gap_max_ms_realistic: 'Longest animation-frame gap during the heap run.',
};

// ── the page ────────────────────────────────────────────────────────────────────────────────────

type Api = WorkerBenchApi;
type Method = { [K in keyof Api]: Api[K] extends (...args: never[]) => unknown ? K : never }[keyof Api];

/** Calls `window.workerBench[name](...args)` in the page. */
async function call<K extends Method>(page: Page, method: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
  return (await page.evaluate(
    ({ method, args }) => (globalThis as unknown as { workerBench: Record<string, (...a: unknown[]) => unknown> }).workerBench[method]!(...args),
    { method: method as string, args: args as unknown[] },
  )) as Awaited<ReturnType<Api[K]>>;
}

/** A CDP session on another target (a dedicated worker), through the browser session. */
class TargetSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly browserSession: CDPSession,
    private readonly sessionId: string,
  ) {
    browserSession.on('Target.receivedMessageFromTarget', (event) => {
      if (event.sessionId !== this.sessionId) return;
      const message = JSON.parse(event.message) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(`CDP: ${message.error.message}`));
      else waiter?.resolve(message.result);
    });
  }

  /** Attaches to the one worker whose URL contains `urlPart` (waiting for one of a closed page to go). */
  static async attach(browserSession: CDPSession, urlPart: string): Promise<TargetSession> {
    const deadline = performance.now() + 10_000;
    let matching: { targetId: string }[];
    for (;;) {
      const { targetInfos } = await browserSession.send('Target.getTargets');
      matching = targetInfos.filter((t) => t.type === 'worker' && t.url.includes(urlPart));
      if (matching.length === 1 || performance.now() > deadline) break;
      await sleep(100);
    }
    const target = matching[0];
    if (matching.length !== 1 || target === undefined) throw new Error(`expected one worker target whose URL contains ${urlPart}, found ${matching.length}`);
    // Not flattened: Playwright's CDPSession cannot address a child session, so messages go
    // through Target.sendMessageToTarget / receivedMessageFromTarget.
    const { sessionId } = await browserSession.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
    return new TargetSession(browserSession, sessionId);
  }

  send<T = unknown>(method: string, params: object = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.browserSession.send('Target.sendMessageToTarget', { sessionId: this.sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
    });
  }

  async detach(): Promise<void> {
    await this.browserSession.send('Target.detachFromTarget', { sessionId: this.sessionId }).catch(() => undefined);
  }
}

interface HeapSession {
  send<T = unknown>(method: string, params?: object): Promise<T>;
}

/** Playwright's own CDP session (the page's) behind the same small interface. */
function asHeapSession(session: CDPSession): HeapSession {
  const send = session.send.bind(session) as unknown as (method: string, params?: object) => Promise<unknown>;
  return { send: <T>(method: string, params?: object) => send(method, params) as Promise<T> };
}

/** Used JS heap after a forced (full) garbage collection, MiB. */
async function heapAfterGc(session: HeapSession): Promise<number> {
  await session.send('HeapProfiler.collectGarbage');
  await session.send('HeapProfiler.collectGarbage');
  const usage = await session.send<{ usedSize: number }>('Runtime.getHeapUsage');
  return usage.usedSize / MIB;
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

function progress(what: string): void {
  process.stderr.write(`  worker: ${what}\n`);
}

function putSpread(figures: Figures, key: string, s: Spread, digits = 4): void {
  figures[key] = significant(s.median, digits);
  figures[`${key}_min`] = significant(s.min, digits);
  figures[`${key}_max`] = significant(s.max, digits);
}

function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = sum(points.map((p) => p.x)) / n;
  const my = sum(points.map((p) => p.y)) / n;
  const num = sum(points.map((p) => (p.x - mx) * (p.y - my)));
  const den = sum(points.map((p) => (p.x - mx) ** 2));
  return den === 0 ? 0 : num / den;
}

interface WindowResult {
  /** Acknowledged readings per second over the whole window. */
  readonly rate: number;
  readonly slices: number[];
  readonly offered: number;
  readonly viewBatchesPerS: number;
  /** Fewest readings a sensor still held at the end (backlog mode: > 0 means none ran dry). */
  readonly heldMinAtEnd: number;
}

/** Measures acknowledged readings over `windowS`, in WINDOW_SLICES slices. */
async function measureWindow(page: Page, windowS: number): Promise<WindowResult> {
  const marks: Counts[] = [await call(page, 'counts')];
  for (let i = 0; i < WINDOW_SLICES; i++) {
    await sleep((windowS * 1000) / WINDOW_SLICES);
    marks.push(await call(page, 'counts'));
  }
  const acked = (c: Counts): number => sum(c.acked);
  const rateBetween = (a: Counts, b: Counts): number => ((acked(b) - acked(a)) * 1000) / (b.t - a.t);
  const first = marks[0] as Counts;
  const last = marks[marks.length - 1] as Counts;
  const seconds = (last.t - first.t) / 1000;
  return {
    rate: rateBetween(first, last),
    slices: marks.slice(1).map((m, i) => rateBetween(marks[i] as Counts, m)),
    offered: (sum(last.recorded) - sum(first.recorded)) / seconds,
    viewBatchesPerS: (last.viewBatches - first.viewBatches) / seconds,
    heldMinAtEnd: Math.min(...last.held),
  };
}

async function saturated(page: Page, active: number, config: WorkerConfig): Promise<void> {
  await call(page, 'startSaturate', active, LOW, HIGH, SLICE);
  await sleep(config.warmupS * 1000);
}

async function startProfiles(sessions: HeapSession[]): Promise<void> {
  for (const s of sessions) {
    await s.send('Profiler.enable');
    await s.send('Profiler.setSamplingInterval', { interval: 500 });
    await s.send('Profiler.start');
  }
}

async function stopProfiles(sessions: { name: string; session: HeapSession }[], dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const { name: file, session } of sessions) {
    const { profile } = await session.send<{ profile: unknown }>('Profiler.stop');
    await writeFile(join(dir, `${file}.cpuprofile`), JSON.stringify(profile));
  }
  progress(`CPU profiles written to ${dir}`);
}

// ── baselines ───────────────────────────────────────────────────────────────────────────────────

interface BaselineSamples {
  idbRowsPerS: number[];
  idbTxPerS: number[];
  opensPerS: number[];
}

async function baselineRounds(page: Page, rounds: number, sampleMs: number, into: BaselineSamples, offset: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first.
    const order = (r + offset) % 2 === 0 ? (['idb', 'open'] as const) : (['open', 'idb'] as const);
    for (const which of order) {
      if (which === 'idb') {
        const s = await call(page, 'idbSample', 4 * sampleMs);
        into.idbRowsPerS.push((s.rows * 1000) / s.elapsedMs);
        into.idbTxPerS.push((s.transactions * 1000) / s.elapsedMs);
      } else {
        const s = await call(page, 'openSample', sampleMs);
        into.opensPerS.push((s.opens * 1000) / s.elapsedMs);
      }
    }
  }
}

// ── the suite ───────────────────────────────────────────────────────────────────────────────────

export async function run(): Promise<Figures> {
  const bench = benchConfig();
  const config = workerConfig();
  const figures: Figures = {};
  figures.worker_config = `window ${config.windowS} s after ${config.warmupS} s warm-up; heap ${config.heapMinutes} min${config.heapMinutes === 10 ? '' : ' (smoke)'}${config.profileDir ? '; PROFILED (8-sensor figures perturbed)' : ''}`;

  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  try {
    progress('Vite dev server, Chromium');
    server = await createServer({ configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)), server: { port: 0 } });
    await server.listen();
    const address = server.httpServer?.address() as AddressInfo | null;
    if (!address) throw new Error('the Vite dev server for the benchmark pages did not start listening');
    const executablePath = chromiumPath();
    browser = await chromium.launch({ headless: true, args: CHROMIUM_ARGS, ...(executablePath !== undefined ? { executablePath } : {}) });
    const openPage = async (): Promise<Page> => {
      const p = await (browser as Browser).newPage();
      p.on('pageerror', (e) => progress(`page error: ${e.message}`));
      await p.goto(`http://localhost:${address.port}/worker-bench.html`);
      await p.waitForFunction(() => (globalThis as unknown as { workerBenchReady?: boolean }).workerBenchReady === true, undefined, { timeout: 60_000 });
      return p;
    };
    let page = await openPage();

    progress(`vault: create, pair ${SENSORS} sensors`);
    const setup = await call(page, 'setup', SENSORS, PASSPHRASE);
    figures.vault_create_ms = significant(setup.createMs);
    putSpread(figures, 'pairing_ms', spread(setup.pairMs));
    await call(page, 'startBaseline');

    const browserSession = await browser.newBrowserCDPSession();
    const workerSession = await TargetSession.attach(browserSession, 'vault.worker');
    const pageSession = asHeapSession(await page.context().newCDPSession(page));

    // Warm-up of the whole path, which also tells the row shape the baselines should use.
    progress(`warm-up: ${SENSORS} sensors, ${config.warmupS} s`);
    await saturated(page, SENSORS, config);
    await call(page, 'stopLoad');
    const warm: ChunkStats = await call(page, 'chunkStats');
    if (warm.rowsCounted === 0) throw new Error('the warm-up stored no complete chunk: nothing to size the baselines with');
    const rowsPerTx = Math.max(1, Math.round(warm.rowsPerTxMean));
    const valueBytes = Math.round(warm.valueBytesMean);
    await call(page, 'prepareIdb', { writers: SENSORS, rowsPerTx, valueBytes, sensorBytes: Math.round(warm.sensorValueBytesMean) });
    const open = await call(page, 'prepareOpen', valueBytes);
    figures.raw_idb_rows_per_tx = rowsPerTx;
    figures.raw_idb_value_bytes = valueBytes;
    figures.raw_open_plaintext_bytes = open.plaintextBytes;

    // Raw baselines, first half (after one untimed sample of each).
    progress('raw baselines (first half)');
    const samples: BaselineSamples = { idbRowsPerS: [], idbTxPerS: [], opensPerS: [] };
    await call(page, 'idbSample', bench.warmupMs);
    await call(page, 'openSample', bench.warmupMs);
    const firstHalf = Math.ceil(bench.rounds / 2);
    await baselineRounds(page, firstHalf, bench.sampleMs, samples, 0);

    // One sensor.
    progress(`1 sensor: ${config.warmupS} s warm-up, ${config.windowS} s measured`);
    await saturated(page, 1, config);
    const one = await measureWindow(page, config.windowS);
    await call(page, 'stopLoad');
    await call(page, 'chunkStats');
    figures.pipeline_readings_per_s_1 = significant(one.rate);
    figures.pipeline_readings_per_s_1_min = significant(Math.min(...one.slices));
    figures.pipeline_readings_per_s_1_max = significant(Math.max(...one.slices));

    // Eight sensors, with the main-thread probe (and the profiler if asked).
    progress(`${SENSORS} sensors: ${config.warmupS} s warm-up, ${config.windowS} s measured`);
    await saturated(page, SENSORS, config);
    if (config.profileDir) await startProfiles([workerSession, pageSession]);
    await call(page, 'startProbe');
    const eight = await measureWindow(page, config.windowS);
    const probe: ProbeResult = await call(page, 'stopProbe');
    progress(`  longest timer gaps [at ms, gap ms]: ${JSON.stringify(probe.timerGapsTop)}`);
    if (config.profileDir) {
      await stopProfiles(
        [
          { name: 'worker-8-sensors', session: workerSession },
          { name: 'page-8-sensors', session: pageSession },
        ],
        config.profileDir,
      );
    }
    await call(page, 'stopLoad');
    const stats8: ChunkStats = await call(page, 'chunkStats');
    figures.pipeline_readings_per_s_8 = significant(eight.rate);
    figures.pipeline_readings_per_s_8_min = significant(Math.min(...eight.slices));
    figures.pipeline_readings_per_s_8_max = significant(Math.max(...eight.slices));
    figures.pipeline_offered_per_s_8 = significant(eight.offered);
    figures.view_batches_per_s_8 = significant(eight.viewBatchesPerS, 3);
    figures.chunk_records_mean_8 = significant(stats8.recordsPerRowMean);
    figures.chunk_value_bytes_mean_8 = significant(stats8.valueBytesMean);
    figures.chunk_rows_per_tx_8 = significant(stats8.rowsPerTxMean, 3);
    figures.sensor_row_value_bytes = significant(stats8.sensorValueBytesMean);
    figures.main_thread_longest_task_ms = significant(Math.max(probe.longtaskMaxMs, probe.timerGapMaxMs, probe.rafGapMaxMs));
    figures.main_thread_longtask_max_ms = significant(probe.longtaskMaxMs);
    figures.main_thread_longtask_count = probe.longtaskCount;
    figures.main_thread_timer_gap_max_ms = significant(probe.timerGapMaxMs);
    figures.main_thread_raf_gap_max_ms = significant(probe.rafGapMaxMs);
    figures.main_thread_sensor_busy_fraction = significant(probe.sensorMs / probe.durationMs, 3);
    figures.main_thread_sensor_longest_ms = significant(probe.sensorLongestMs);
    figures.main_thread_relay_busy_fraction = significant(probe.relayMs / probe.durationMs, 3);
    figures.main_thread_relay_longest_ms = significant(probe.relayLongestMs);

    // Eight sensors streaming a backlog recorded beforehand: no recording on the page meanwhile.
    const backlogWarmupS = Math.min(2, config.warmupS);
    const backlogWindowS = Math.min(BACKLOG_WINDOW_S, config.windowS);
    const expected = Math.max(BACKLOG_RATE_GUESS, 3 * eight.rate);
    const perSensor = Math.min(BACKLOG_MAX_PER_SENSOR, Math.ceil((BACKLOG_MARGIN * expected * (backlogWarmupS + backlogWindowS)) / SENSORS));
    progress(`${SENSORS} sensors with a backlog: recording ${perSensor.toLocaleString('en-US')} readings each (untimed)`);
    const prerecordMs = await call(page, 'prerecord', SENSORS, perSensor);
    progress(`  recorded in ${(prerecordMs / 1000).toFixed(1)} s; ${backlogWarmupS} s warm-up, ${backlogWindowS} s measured`);
    await call(page, 'startBacklog', SENSORS, BACKLOG_INFLIGHT);
    await sleep(backlogWarmupS * 1000);
    if (config.profileDir) await startProfiles([workerSession, pageSession]);
    await call(page, 'startProbe');
    const backlog = await measureWindow(page, backlogWindowS);
    const backlogProbe: ProbeResult = await call(page, 'stopProbe');
    progress(`  longest timer gaps [at ms, gap ms]: ${JSON.stringify(backlogProbe.timerGapsTop)}`);
    if (config.profileDir) {
      await stopProfiles(
        [
          { name: 'worker-8-backlog', session: workerSession },
          { name: 'page-8-backlog', session: pageSession },
        ],
        config.profileDir,
      );
    }
    await call(page, 'stopLoad');
    await call(page, 'chunkStats');
    figures.pipeline_readings_per_s_8_backlog = significant(backlog.rate);
    figures.pipeline_readings_per_s_8_backlog_min = significant(Math.min(...backlog.slices));
    figures.pipeline_readings_per_s_8_backlog_max = significant(Math.max(...backlog.slices));
    figures.backlog_readings_per_sensor = perSensor;
    figures.backlog_left_min = backlog.heldMinAtEnd;
    figures.main_thread_sensor_busy_fraction_backlog = significant(backlogProbe.sensorMs / backlogProbe.durationMs, 3);
    figures.main_thread_relay_busy_fraction_backlog = significant(backlogProbe.relayMs / backlogProbe.durationMs, 3);

    // Raw baselines, second half.
    progress('raw baselines (second half)');
    await baselineRounds(page, bench.rounds - firstHalf, bench.sampleMs, samples, 1);
    await call(page, 'dropIdb');
    const recordsPerRow = warm.recordsPerRowMean;
    putSpread(figures, 'raw_idb_put_per_s', spread(samples.idbRowsPerS));
    putSpread(figures, 'raw_idb_tx_per_s', spread(samples.idbTxPerS));
    putSpread(figures, 'raw_idb_readings_per_s', spread(samples.idbRowsPerS.map((x) => x * recordsPerRow)));
    putSpread(figures, 'raw_open_per_s', spread(samples.opensPerS));
    putSpread(figures, 'raw_open_readings_per_s', spread(samples.opensPerS.map((x) => x * recordsPerRow)));
    figures.pipeline_vs_raw_idb_ratio = significant(eight.rate / (median(samples.idbRowsPerS) * recordsPerRow), 3);
    figures.pipeline_vs_raw_open_ratio = significant(eight.rate / (median(samples.opensPerS) * recordsPerRow), 3);

    // Heap over a long realistic stream, in a fresh page (a new vault worker, a new vault, the
    // same 8-sensor setup): what the saturating runs left in the page heap (and its collections)
    // stays out of it.
    await workerSession.detach();
    await call(page, 'teardown');
    await page.close();
    page = await openPage();
    await call(page, 'setup', SENSORS, PASSPHRASE);
    const heapSession = await TargetSession.attach(browserSession, 'vault.worker');
    const heapPageSession = asHeapSession(await page.context().newCDPSession(page));
    progress(`heap: ${SENSORS} sensors at the realistic rate, ${config.heapMinutes} min after ${HEAP_SETTLE_MS / 1000} s`);
    await call(page, 'startRealistic', SENSORS, 250);
    await sleep(HEAP_SETTLE_MS);
    const workerHeap: { x: number; y: number }[] = [];
    const pageHeap: number[] = [];
    // The main-thread probe runs between heap samples only: a forced GC of the page stops it.
    const realisticProbes: ProbeResult[] = [];
    const c0 = await call(page, 'counts');
    const t0 = performance.now();
    const totalMs = config.heapMinutes * 60_000;
    for (;;) {
      const elapsed = performance.now() - t0;
      workerHeap.push({ x: elapsed / 60_000, y: await heapAfterGc(heapSession) });
      pageHeap.push(await heapAfterGc(heapPageSession));
      progress(`  heap at ${(elapsed / 60_000).toFixed(1)} min: worker ${(workerHeap[workerHeap.length - 1] as { y: number }).y.toFixed(2)} MiB`);
      if (elapsed >= totalMs - 1) break;
      await call(page, 'startProbe');
      await sleep(Math.min(HEAP_SAMPLE_EVERY_MS, totalMs - elapsed));
      const probe = await call(page, 'stopProbe');
      realisticProbes.push(probe);
      progress(`  main thread: longest tasks ≥ 50 ms: ${probe.longtaskCount} (max ${probe.longtaskMaxMs} ms), frame gap max ${probe.rafGapMaxMs} ms, timer gaps > 20 ms [at ms, gap ms]: ${JSON.stringify(probe.timerGapsTop)}`);
    }
    const c1 = await call(page, 'counts');
    await call(page, 'stopLoad');
    const realisticProbe = {
      longtaskMaxMs: Math.max(0, ...realisticProbes.map((p) => p.longtaskMaxMs)),
      longtaskCount: sum(realisticProbes.map((p) => p.longtaskCount)),
      timerGapMaxMs: Math.max(0, ...realisticProbes.map((p) => p.timerGapMaxMs)),
      rafGapMaxMs: Math.max(0, ...realisticProbes.map((p) => p.rafGapMaxMs)),
    };
    const start = workerHeap[0] as { x: number; y: number };
    const end = workerHeap[workerHeap.length - 1] as { x: number; y: number };
    figures.realistic_readings_per_s = significant(((sum(c1.acked) - sum(c0.acked)) * 1000) / (c1.t - c0.t), 3);
    figures.heap_minutes = significant(end.x, 3);
    figures.heap_growth_mb_10min =
      config.heapMinutes === 10 ? significant(end.y - start.y, 3) : `not measured (BENCH_HEAP_MINUTES=${config.heapMinutes}; see heap_samples_mb)`;
    figures.heap_start_mb = significant(start.y, 4);
    figures.heap_end_mb = significant(end.y, 4);
    figures.heap_slope_mb_per_min = significant(slope(workerHeap), 3);
    figures.heap_samples_mb = workerHeap.map((p) => `${p.x.toFixed(1)}:${p.y.toFixed(2)}`).join(' ');
    figures.page_heap_growth_mb = significant((pageHeap[pageHeap.length - 1] as number) - (pageHeap[0] as number), 3);
    figures.main_thread_longest_task_ms_realistic = significant(
      Math.max(realisticProbe.longtaskMaxMs, realisticProbe.timerGapMaxMs, realisticProbe.rafGapMaxMs),
    );
    figures.main_thread_longtask_max_ms_realistic = significant(realisticProbe.longtaskMaxMs);
    figures.main_thread_longtask_count_realistic = realisticProbe.longtaskCount;
    figures.main_thread_timer_gap_max_ms_realistic = significant(realisticProbe.timerGapMaxMs);
    figures.main_thread_raf_gap_max_ms_realistic = significant(realisticProbe.rafGapMaxMs);

    await heapSession.detach();
    await call(page, 'teardown');
  } finally {
    await browser?.close();
    await server?.close();
  }
  return figures;
}
