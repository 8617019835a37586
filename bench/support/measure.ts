/**
 * Measurement helpers shared by every suite.
 *
 * Hygiene, applied everywhere: a warm-up before anything is recorded; each sample long enough
 * (≥ `sampleMs`, 250 ms by default) that timer resolution and call overhead vanish; at least five
 * rounds; medians as the figure and min/max as its spread; `performance.now()` only. Comparisons
 * of two workloads are interleaved (alternating order each round) so that machine noise hits
 * both. Nothing here asserts on a timing: the numbers are reported, never judged.
 */

export interface BenchConfig {
  /** Samples per measurement (≥ 5 for a real run). */
  readonly rounds: number;
  /** Minimum duration of one timed sample, ms (≥ 200 for a real run). */
  readonly sampleMs: number;
  /** Untimed warm-up per workload before calibration, ms. */
  readonly warmupMs: number;
}

export const MIN_ROUNDS = 5;
export const MIN_SAMPLE_MS = 200;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number: ${raw}`);
  return value;
}

/**
 * From the environment: BENCH_ROUNDS (default 9), BENCH_SAMPLE_MS (default 250),
 * BENCH_WARMUP_MS (default 300). Values below the hygiene minimums are allowed for smoke runs;
 * `run.ts` then marks the results as reduced.
 */
export function benchConfig(): BenchConfig {
  return {
    rounds: Math.round(envNumber('BENCH_ROUNDS', 9)),
    sampleMs: envNumber('BENCH_SAMPLE_MS', 250),
    warmupMs: envNumber('BENCH_WARMUP_MS', 300),
  };
}

export function meetsHygiene(config: BenchConfig): boolean {
  return config.rounds >= MIN_ROUNDS && config.sampleMs >= MIN_SAMPLE_MS;
}

// ── Bookkeeping of what was actually done (reported next to the figures) ────────────────────────

let shortestSampleMs = Number.POSITIVE_INFINITY;

/** Shortest timed sample since the last reset, ms (a check that samples were long enough). */
export function takeShortestSampleMs(): number {
  const value = shortestSampleMs;
  shortestSampleMs = Number.POSITIVE_INFINITY;
  return value;
}

/**
 * Results flow into this so that no optimiser can prove them unused. Suites XOR a byte of each
 * output into it; its value means nothing.
 */
export const sink = { value: 0 };

// ── Statistics ──────────────────────────────────────────────────────────────────────────────────

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** How many values. */
  readonly n: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** The same spread under a monotonically decreasing map (e.g. ms per op → ops per second). */
export function invert(s: Spread, f: (x: number) => number): Spread {
  return { median: f(s.median), min: f(s.max), max: f(s.min), n: s.n };
}

export function scale(s: Spread, k: number): Spread {
  return { median: s.median * k, min: s.min * k, max: s.max * k, n: s.n };
}

// ── Workloads ───────────────────────────────────────────────────────────────────────────────────

export interface Workload {
  /** Untimed, before every sample: e.g. fresh sessions, or inputs for `iterations` operations. */
  prepare?(iterations: number): void;
  /** Timed: performs exactly `iterations` operations. */
  run(iterations: number): void;
}

export interface WorkloadOptions {
  /**
   * Upper bound on operations per sample, for workloads whose state has a hard limit (e.g. a
   * transport session's counters) or whose `prepare` holds one input per operation.
   */
  readonly maxIterations?: number;
}

/** How many operations a workload's samples run; grows if a sample turns out too short. */
interface Batch {
  iterations: number;
  readonly cap: number;
}

/**
 * One timed sample: ms per operation. A sample shorter than `sampleMs` (the machine was slow while
 * calibrating, or the JIT has since sped the code up) is discarded and retaken with more
 * operations, so every recorded sample lasts ≥ `sampleMs` unless the workload's cap forbids it.
 */
function sample(workload: Workload, batch: Batch, config: BenchConfig): number {
  for (;;) {
    const iterations = batch.iterations;
    workload.prepare?.(iterations);
    const t0 = performance.now();
    workload.run(iterations);
    const elapsed = performance.now() - t0;
    if (elapsed >= config.sampleMs || iterations >= batch.cap) {
      if (elapsed < shortestSampleMs) shortestSampleMs = elapsed;
      return elapsed / iterations;
    }
    batch.iterations = Math.min(batch.cap, Math.ceil((iterations * 1.2 * config.sampleMs) / Math.max(elapsed, 1e-3)));
  }
}

/**
 * Warms the workload up (≥ `warmupMs` of running it, untimed) and returns the number of
 * operations that should make one sample last about 1.2 × `sampleMs` (`sample` corrects it).
 */
function calibrate(workload: Workload, config: BenchConfig, options: WorkloadOptions): Batch {
  const cap = options.maxIterations ?? 50_000_000;
  const deadline = performance.now() + config.warmupMs;
  let iterations = 1;
  let perOp: number;
  for (;;) {
    workload.prepare?.(iterations);
    const t0 = performance.now();
    workload.run(iterations);
    const elapsed = performance.now() - t0;
    perOp = elapsed / iterations;
    const longEnough = elapsed >= config.sampleMs / 10 || iterations >= cap;
    if (longEnough && performance.now() >= deadline) break;
    if (!longEnough) iterations = Math.min(cap, iterations * 2);
  }
  const wanted = Math.ceil((1.2 * config.sampleMs) / Math.max(perOp, 1e-9));
  return { iterations: Math.max(1, Math.min(cap, wanted)), cap };
}

/** ms per operation of one workload: median and min/max over `rounds` samples. */
export function measure(workload: Workload, config: BenchConfig, options: WorkloadOptions = {}): Spread {
  const batch = calibrate(workload, config, options);
  const perOp: number[] = [];
  for (let r = 0; r < config.rounds; r++) perOp.push(sample(workload, batch, config));
  return spread(perOp);
}

export interface Comparison {
  /** ms per operation. */
  readonly baseline: Spread;
  /** ms per operation. */
  readonly subject: Spread;
  /**
   * subject / baseline per round (the two samples taken back to back), then median and min/max
   * over the rounds: pairing the samples cancels drift that a ratio of two medians would keep.
   */
  readonly ratio: Spread;
}

/**
 * Measures `subject` against `baseline` interleaved: each round times one sample of each,
 * alternating which goes first (ABBA…), so drift and noise land on both.
 */
export function compareInterleaved(
  baseline: Workload,
  subject: Workload,
  config: BenchConfig,
  options: { baseline?: WorkloadOptions; subject?: WorkloadOptions } = {},
): Comparison {
  const baselineBatch = calibrate(baseline, config, options.baseline ?? {});
  const subjectBatch = calibrate(subject, config, options.subject ?? {});
  const b: number[] = [];
  const s: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < config.rounds; r++) {
    let tb: number;
    let ts: number;
    if (r % 2 === 0) {
      tb = sample(baseline, baselineBatch, config);
      ts = sample(subject, subjectBatch, config);
    } else {
      ts = sample(subject, subjectBatch, config);
      tb = sample(baseline, baselineBatch, config);
    }
    b.push(tb);
    s.push(ts);
    ratios.push(ts / tb);
  }
  const baselineSpread = spread(b);
  const subjectSpread = spread(s);
  return { baseline: baselineSpread, subject: subjectSpread, ratio: spread(ratios) };
}

/**
 * For operations of a millisecond or more (handshakes): times every run on its own. Warm-up
 * first, then `rounds` rounds, each running the operation until it has lasted ≥ `sampleMs`.
 * Median and min/max are over the individual runs.
 */
export function measureRuns(op: () => void, config: BenchConfig): Spread {
  const warmupEnd = performance.now() + config.warmupMs;
  let warmups = 0;
  while (performance.now() < warmupEnd || warmups < 3) {
    op();
    warmups++;
  }
  const runs: number[] = [];
  for (let r = 0; r < config.rounds; r++) {
    const roundStart = performance.now();
    let elapsed = 0;
    while (elapsed < config.sampleMs) {
      const t0 = performance.now();
      op();
      const t1 = performance.now();
      runs.push(t1 - t0);
      elapsed = t1 - roundStart;
    }
    if (elapsed < shortestSampleMs) shortestSampleMs = elapsed;
  }
  return spread(runs);
}

/**
 * Several workloads measured together: each round takes one sample of every workload, starting at
 * a different one each round, so a noisy stretch of time spreads over all of them instead of
 * landing on whichever happened to run then. For breakdowns whose parts are compared.
 */
export function measureRoundRobin(
  workloads: Readonly<Record<string, { readonly workload: Workload; readonly options?: WorkloadOptions }>>,
  config: BenchConfig,
): Record<string, Spread> {
  const names = Object.keys(workloads);
  const entries = names.map((n) => workloads[n] as { readonly workload: Workload; readonly options?: WorkloadOptions });
  const batches = entries.map((e) => calibrate(e.workload, config, e.options ?? {}));
  const samples: number[][] = names.map(() => []);
  for (let r = 0; r < config.rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const i = (r + k) % names.length;
      (samples[i] as number[]).push(sample((entries[i] as { workload: Workload }).workload, batches[i] as Batch, config));
    }
  }
  const out: Record<string, Spread> = {};
  names.forEach((n, i) => (out[n] = spread(samples[i] as number[])));
  return out;
}
