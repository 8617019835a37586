/**
 * `npm run bench [-- suite …]`: runs the named benchmark suites (default: all of them, in the
 * order of `SUITES`), writes each one's results to `bench/results/<suite>.json` and prints a
 * table. See bench/README.md.
 *
 * A suite is a module exporting `name`, `notes` and `run()` (the `Suite` interface); adding one
 * is one file plus one line in `SUITES`. Modules load lazily, so a suite that needs something
 * heavy (a browser, a server) costs nothing when it is not asked for.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { arch, cpus, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchConfig, meetsHygiene, MIN_ROUNDS, MIN_SAMPLE_MS, takeShortestSampleMs } from './support/measure.js';
import type { Figures, Suite } from './support/suite.js';

interface SuiteEntry {
  readonly name: string;
  readonly load: () => Promise<Suite>;
}

/** Every suite, in the order they run by default (later issues add app, server and sync). */
const SUITES: readonly SuiteEntry[] = [
  { name: 'core', load: () => import('./core.js') },
  { name: 'worker', load: () => import('./worker.js') },
  { name: 'app', load: () => import('./app.js') },
  { name: 'server', load: () => import('./server.js') },
];

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

function usage(): string {
  return `usage: npm run bench [-- [--list] [suite …]]\nsuites: ${SUITES.map((s) => s.name).join(', ')}\n` +
    'environment: BENCH_ROUNDS (default 9, ≥ 5), BENCH_SAMPLE_MS (default 250, ≥ 200), BENCH_WARMUP_MS (default 300)';
}

// ── Presentation ────────────────────────────────────────────────────────────────────────────────

const SPREAD_SUFFIXES = ['_min', '_max'] as const;

function baseOf(key: string, figures: Figures): string | undefined {
  for (const suffix of SPREAD_SUFFIXES) {
    if (key.endsWith(suffix)) {
      const base = key.slice(0, -suffix.length);
      if (base in figures) return base;
    }
  }
  return undefined;
}

/** Notes for every figure: the suite's own, plus generated ones for the spread companions. */
function completeNotes(figures: Figures, notes: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(figures)) {
    const base = baseOf(key, figures);
    if (base === undefined) {
      out[key] = notes[key] ?? '(no note)';
    } else {
      const which = key.endsWith('_min') ? 'lowest' : 'highest';
      out[key] = `Spread of ${base}: the ${which} value over the samples (runs for handshakes, rounds otherwise).`;
    }
  }
  return out;
}

function unitOf(key: string): string {
  const tokens = key.split('_');
  if (key.includes('_per_s')) return '/s';
  if (tokens.includes('ratio')) return '×';
  if (tokens.includes('ms')) return 'ms';
  if (tokens.includes('us')) return 'µs';
  if (tokens.includes('bytes')) return 'B';
  return '';
}

function formatValue(value: number | string | undefined, unit: string): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const isCount = unit === '' || unit === 'B';
  if ((isCount && Number.isInteger(value)) || abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 10) return value.toFixed(2);
  return value.toFixed(3);
}

function table(figures: Figures): string {
  const rows: string[][] = [['metric', 'median', 'min', 'max', 'unit']];
  for (const [key, value] of Object.entries(figures)) {
    if (baseOf(key, figures) !== undefined) continue;
    const unit = unitOf(key);
    rows.push([key, formatValue(value, unit), formatValue(figures[`${key}_min`], unit), formatValue(figures[`${key}_max`], unit), unit]);
  }
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
  const line = (r: string[]): string =>
    r.map((cell, c) => (c === 0 || c === 4 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ').trimEnd();
  const header = line(rows[0] as string[]);
  return [header, '-'.repeat(header.length), ...rows.slice(1).map(line)].join('\n');
}

// ── Running ─────────────────────────────────────────────────────────────────────────────────────

async function runSuite(entry: SuiteEntry): Promise<void> {
  const suite = await entry.load();
  if (suite.name !== entry.name) throw new Error(`suite module for "${entry.name}" calls itself "${suite.name}"`);
  const config = benchConfig();
  const started = performance.now();
  const date = new Date().toISOString();
  takeShortestSampleMs();
  const figures = await suite.run();
  const shortest = takeShortestSampleMs();
  if (shortest < config.sampleMs) {
    console.error(`warning: ${suite.name}: a sample lasted only ${shortest.toFixed(1)} ms (workload cap reached)`);
  }
  const cpuList = cpus();
  const result = {
    suite: suite.name,
    date,
    node: process.version,
    cpus: cpuList.length,
    cpu_model: cpuList[0]?.model.trim() ?? 'unknown',
    platform: `${platform()} ${arch()}`,
    config: {
      rounds: config.rounds,
      sample_ms: config.sampleMs,
      warmup_ms: config.warmupMs,
      shortest_sample_ms: Number.isFinite(shortest) ? Math.round(shortest * 10) / 10 : null,
      hygiene: meetsHygiene(config) ? 'full' : 'reduced (smoke run: do not compare these figures)',
    },
    duration_s: Math.round((performance.now() - started) / 100) / 10,
    figures,
    notes: completeNotes(figures, suite.notes),
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${suite.name}.json`);
  const tmp = join(RESULTS_DIR, `${suite.name}.tmp.json`);
  await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`);
  await rename(tmp, file);

  console.log(`\n== ${suite.name} — node ${result.node}, ${result.cpus} × ${result.cpu_model}, ${result.duration_s} s ==`);
  console.log(table(figures));
  console.log(`-> ${file}`);
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return 0;
  }
  if (argv.includes('--list')) {
    for (const s of SUITES) console.log(s.name);
    return 0;
  }
  const flags = argv.filter((a) => a.startsWith('-'));
  if (flags.length > 0) {
    console.error(`unknown option ${flags.join(' ')}\n${usage()}`);
    return 2;
  }
  const names = argv.length === 0 ? SUITES.map((s) => s.name) : [...new Set(argv)];
  const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length > 0) {
    console.error(`unknown suite ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  const config = benchConfig();
  if (!meetsHygiene(config)) {
    console.error(
      `warning: BENCH_ROUNDS=${config.rounds} / BENCH_SAMPLE_MS=${config.sampleMs} are below ${MIN_ROUNDS} rounds / ${MIN_SAMPLE_MS} ms: smoke run, results marked reduced`,
    );
  }
  let failed = 0;
  for (const name of names) {
    const entry = SUITES.find((s) => s.name === name) as SuiteEntry;
    console.error(`running ${name} …`);
    try {
      await runSuite(entry);
    } catch (err) {
      failed++;
      console.error(`suite ${name} failed:`, err);
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
