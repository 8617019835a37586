/**
 * `npm run sensor` (and `npm start`, which adds `--demo`): the reference sensor simulator.
 *
 * Until the Vitalock app exists, the sensor runs together with an in-process demo hub — the
 * core's `HubSession`, trusting the data folder's trust store — over an in-memory link. In real
 * time: the hub pairs with the device's setup code (docs/protocol.md §4) or, once bonded,
 * reconnects with Noise KK (§5); the device measures plausible vitals (`VitalsSimulator`) and
 * streams them; the hub stores, acknowledges (§8.3) and checks the signed checkpoints (§8.4).
 * Bonds and the hub's identity persist in the data folder, so the next run reconnects.
 *
 * Exit codes: 0 done (including Ctrl-C), 1 failed (e.g. pairing refused), 2 the command line is wrong.
 */
import { deviceIdHex, CertificateError, decodeCertificate, verifyCertificate, type CertificateFailure } from '../src/core/certificate.js';
import { RecordChain, verifyCheckpoint, type Checkpoint } from '../src/core/checkpoint.js';
import { equalBytes } from '../src/core/bytes.js';
import { chunkSizeForMtu } from '../src/core/framing.js';
import type { HubFailure, SensorBond } from '../src/core/hub-channel.js';
import { HubSession, type HubOutput } from '../src/core/hub-session.js';
import { HANDSHAKE_TIMEOUT_MS } from '../src/core/pairing.js';
import type { Random } from '../src/core/primitives.js';
import {
  encodeRecordBytes,
  floatToDecimalString,
  floatToNumber,
  MDC,
  NOMENCLATURE,
  RecordFlags,
  ValueKind,
  type Float11073,
  type ReadingRecord,
} from '../src/core/readings.js';
import { parseQrPayload, passcodeToPrs } from '../src/core/setup-code.js';
import type { TrustStore } from '../src/core/trust-store.js';
import { SensorDevice, type SensorConnection } from './device.js';
import {
  CliError,
  createCa,
  createHub,
  DEFAULT_CA_NAME,
  dataPaths,
  deviceStatus,
  EXIT_FAILURE,
  formatUnixSeconds,
  groupDigits,
  issueDevice,
  listDeviceFiles,
  loadCa,
  loadDevice,
  loadDeviceBonds,
  loadHub,
  loadTrustedRoots,
  loadTrustStore,
  parseArgs,
  parseDeviceId,
  resolveDataDir,
  saveDeviceState,
  loadDeviceCounters,
  saveHub,
  saveTrustStore,
  usageError,
  type DataPaths,
  type HubState,
} from './files.js';
import { deviceLabel, type DeviceIdentity } from './identity.js';
import { PAIRING_WINDOW_MS } from './pairing-policy.js';
import { DEFAULT_RATES, PATIENT_PROFILES, VitalsSimulator, type PatientProfile, type Rates } from './vitals.js';

const random: Random = (n) => crypto.getRandomValues(new Uint8Array(n));

/** How often the vitals advance and both ends' timers run. */
const TICK_MS = 100;
/** `--once` streams this long unless `--duration` says otherwise. */
const ONCE_MS = 10_000;
const ATT_MTU = 247;
const HUB_LABEL = 'Vitalock demo hub';
/** After stopping, how long to wait for the last records to be stored and acknowledged. */
const DRAIN_MS = 2_000;

const HELP = `Usage: npm run sensor -- [options]

Runs the Vitalock reference sensor simulator. The Vitalock app is not built yet, so a demo hub
runs in the same process: it pairs with the sensor using its setup code (or reconnects with
Noise KK once bonded), then receives, stores and acknowledges its vital signs in real time.

Options:
  --device <DEVICEID>   the sensor to run (default: the first valid device issued; with none,
                        a CA and a device are created in the data folder)
  --profile <name>      the patient: ${PATIENT_PROFILES.join(', ')} (default adult-resting)
  --rate <spec>         how often it measures: a multiplier (2 = every vital twice as often), or
                        per vital: hr=500ms,spo2=1s,rr=5s,temp=1m,bp=30s (0 turns one off) and
                        ecg=<Hz> (a divisor of 1 000 000, e.g. 125, 250, 500, 1000). Both mix:
                        --rate 10,bp=30s. The multiplier does not change the ECG sample rate.
  --ecg on|off          stream the ECG waveform (default on, 250 samples/s)
  --duration <time>     stop after this long: seconds, or with a unit (90s, 5m, 1h)
                        (default: run until Ctrl-C)
  --once                pair or reconnect, stream about 10 s (or --duration), print a summary, exit
  --pair                make the demo hub forget its bond and pair again with the setup code
  --demo                what \`npm start\` runs: the default run with a welcome banner
  --dir <folder>        data folder (default .vitalock in the working directory, or $VITALOCK_DIR)
  -h, --help            show this help

Manage devices with \`npm run ca -- --help\`.`;

// ── Options ─────────────────────────────────────────────────────────────────────────────────────

interface SensorOptions {
  readonly dir: string;
  readonly device: string | undefined;
  readonly profile: PatientProfile;
  readonly rates: Rates;
  readonly durationMs: number | undefined;
  readonly once: boolean;
  readonly demo: boolean;
  readonly forcePair: boolean;
}

const HELP_HINT = 'See `npm run sensor -- --help`.';

function parseOptions(argv: readonly string[]): SensorOptions | 'help' {
  const args = parseArgs(
    argv,
    { device: 'string', profile: 'string', rate: 'string', ecg: 'string', duration: 'string', once: 'boolean', demo: 'boolean', pair: 'boolean', dir: 'string' },
    HELP_HINT,
  );
  if (args.flag('help')) return 'help';
  if (args.positionals.length > 0) throw usageError(`Unexpected argument: ${args.positionals.join(' ')}. ${HELP_HINT}`);
  const deviceText = args.string('device');
  const profileText = args.string('profile') ?? 'adult-resting';
  const profile = PATIENT_PROFILES.find((p) => p === profileText);
  if (profile === undefined) throw usageError(`There is no patient profile "${profileText}". Choose one of: ${PATIENT_PROFILES.join(', ')}.`);
  const rates = parseRates(args.string('rate'));
  const ecg = args.string('ecg');
  if (ecg !== undefined && ecg !== 'on' && ecg !== 'off') throw usageError(`--ecg is "on" or "off", not "${ecg}".`);
  const durationText = args.string('duration');
  const durationMs = durationText === undefined ? undefined : parseDuration(durationText);
  const once = args.flag('once');
  return {
    dir: resolveDataDir(args.string('dir')),
    device: deviceText === undefined ? undefined : parseDeviceId(deviceText, 'See `npm run ca -- list` for the ids.'),
    profile,
    rates: ecg === 'off' ? { ...rates, ecgHz: 0 } : rates,
    durationMs: durationMs ?? (once ? ONCE_MS : undefined),
    once,
    demo: args.flag('demo'),
    forcePair: args.flag('pair'),
  };
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/.exec(text.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * (UNIT_MS[match[2] ?? 's'] as number);
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw usageError(`--duration "${text}" is not a length of time: give seconds (30) or a number with a unit (90s, 5m, 1h).`);
  }
  return Math.ceil(ms);
}

type NumericRate = 'heartRateMs' | 'spo2Ms' | 'respiratoryRateMs' | 'temperatureMs' | 'bloodPressureMs';

const RATE_NAMES: Readonly<Record<string, NumericRate>> = {
  hr: 'heartRateMs',
  'heart-rate': 'heartRateMs',
  spo2: 'spo2Ms',
  rr: 'respiratoryRateMs',
  resp: 'respiratoryRateMs',
  temp: 'temperatureMs',
  temperature: 'temperatureMs',
  bp: 'bloodPressureMs',
  nibp: 'bloodPressureMs',
};
const NUMERIC_RATES: readonly NumericRate[] = ['heartRateMs', 'spo2Ms', 'respiratoryRateMs', 'temperatureMs', 'bloodPressureMs'];
const MAX_MULTIPLIER = 1000;

/** `--rate`: a multiplier and/or `name=interval` items, comma-separated. */
function parseRates(text: string | undefined): Rates {
  const rates: { -readonly [K in keyof Rates]: Rates[K] } = { ...DEFAULT_RATES };
  if (text === undefined) return rates;
  const bad = (why: string): CliError => usageError(`--rate "${text}": ${why} ${HELP_HINT}`);
  let multiplier: number | undefined;
  const explicit = new Map<NumericRate, number>();
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const factor = /^x?(\d+(?:\.\d+)?)x?$/i.exec(item);
    if (factor !== null) {
      if (multiplier !== undefined) throw bad('give one multiplier only.');
      multiplier = Number(factor[1]);
      if (!(multiplier > 0) || multiplier > MAX_MULTIPLIER) throw bad(`a multiplier is more than 0 and at most ${MAX_MULTIPLIER} (to turn one vital off, use e.g. bp=0).`);
      continue;
    }
    const pair = /^([a-z0-9-]+)\s*=\s*(.+)$/i.exec(item);
    if (pair === null) throw bad(`"${item}" is neither a multiplier (2) nor a vital=interval item (hr=500ms).`);
    const name = (pair[1] as string).toLowerCase();
    const value = (pair[2] as string).trim();
    if (name === 'ecg') {
      const hz = /^(\d+)\s*(hz)?$/i.exec(value);
      const n = hz === null ? Number.NaN : Number(hz[1]);
      if (!(n === 0 || (Number.isInteger(n) && n >= 1 && n <= 10_000 && 1_000_000 % n === 0))) {
        throw bad(`ecg=${value}: the ECG sample rate is a whole number of Hz from 1 to 10 000 that divides 1 000 000 (e.g. 125, 250, 500, 1000), or 0 for off.`);
      }
      rates.ecgHz = n;
      rates.ecgSamplesPerRecord = Math.min(1000, Math.max(1, n));
      continue;
    }
    const key = RATE_NAMES[name];
    if (key === undefined) throw bad(`there is no vital "${name}"; use hr, spo2, rr, temp, bp or ecg.`);
    const interval = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/.exec(value);
    const ms = interval === null ? Number.NaN : Number(interval[1]) * (UNIT_MS[interval[2] ?? 's'] as number);
    if (!Number.isFinite(ms) || (ms !== 0 && (ms < 1 || !Number.isInteger(ms)))) {
      throw bad(`${name}=${value}: give the time between readings, e.g. ${name}=500ms, ${name}=2s, ${name}=1m, or ${name}=0 for off (whole milliseconds).`);
    }
    explicit.set(key, ms);
  }
  for (const key of NUMERIC_RATES) {
    rates[key] = explicit.get(key) ?? Math.max(1, Math.round(DEFAULT_RATES[key] / (multiplier ?? 1)));
  }
  return rates;
}

function describeInterval(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000 && ms % 100 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

function describeRates(rates: Rates): string {
  const parts: string[] = [];
  const named: [string, number][] = [
    ['HR', rates.heartRateMs],
    ['SpO2', rates.spo2Ms],
    ['RR', rates.respiratoryRateMs],
    ['temperature', rates.temperatureMs],
    ['blood pressure', rates.bloodPressureMs],
  ];
  for (const [name, ms] of named) parts.push(ms === 0 ? `${name} off` : `${name} every ${describeInterval(ms)}`);
  parts.push(rates.ecgHz === 0 ? 'ECG off' : `ECG ${groupDigits(rates.ecgHz)} samples/s`);
  return parts.join(', ');
}

// ── The in-memory link ──────────────────────────────────────────────────────────────────────────

/**
 * One BLE connection in memory: the hub's writes to `control` and the sensor's notifications on
 * `data` (docs/protocol.md §2.1), each direction in order, delivered on the next turn of the
 * event loop (never re-entrantly). No loss, no fault injection.
 */
class MemoryLink {
  private readonly toSensor: Uint8Array[] = [];
  private scheduled = false;
  private open = true;
  readonly stats = { toSensor: 0, toHub: 0 };

  constructor(
    private readonly connection: SensorConnection,
    private readonly deliverToHub: (fragment: Uint8Array) => void,
  ) {
    connection.onFragmentReady(() => this.schedule());
  }

  /** A write to `control`. */
  write(fragment: Uint8Array): void {
    if (!this.open) return;
    this.toSensor.push(fragment.slice());
    this.schedule();
  }

  /** Nothing in flight either way. */
  get idle(): boolean {
    return this.toSensor.length === 0 && this.connection.queuedFragments === 0;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.toSensor.length = 0;
    this.connection.disconnect();
  }

  private schedule(): void {
    if (this.scheduled || !this.open) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    if (!this.open) return;
    for (let f = this.toSensor.shift(); f !== undefined && this.open; f = this.toSensor.shift()) {
      this.stats.toSensor++;
      this.connection.receiveFragment(f);
    }
    // Notifications: a bounded batch per turn, so timers and Ctrl-C are never starved.
    for (let i = 0; i < 64 && this.open; i++) {
      const fragment = this.connection.takeFragment();
      if (fragment === undefined) break;
      this.stats.toHub++;
      this.deliverToHub(fragment);
    }
    if (!this.idle) this.schedule();
  }
}

// ── What the hub shows ──────────────────────────────────────────────────────────────────────────

const SHORT_LABEL: ReadonlyMap<number, string> = new Map([
  [MDC.ECG_HEART_RATE, 'HR'],
  [MDC.PULS_OXIM_SAT_O2, 'SpO2'],
  [MDC.RESP_RATE, 'RR'],
  [MDC.TEMP_BODY, 'Temp'],
  [MDC.PRESS_BLD_NONINV, 'BP'],
  [MDC.ECG_ELEC_POTL_II, 'ECG'],
]);
const DISPLAY_ORDER: readonly number[] = [MDC.ECG_HEART_RATE, MDC.PULS_OXIM_SAT_O2, MDC.RESP_RATE, MDC.TEMP_BODY];

function unitLabel(code: number): string {
  const term = NOMENCLATURE.get(code);
  return term?.type === 'unit' ? term.label : `unit ${code}`;
}

function measurementLabel(code: number): string {
  const term = NOMENCLATURE.get(code);
  return term?.type === 'measurement' ? term.label : `code ${code}`;
}

/** A value as the sensor reported it, exactly (§8.5), with its unit. */
function withUnit(value: Float11073, unit: number): string {
  return `${floatToDecimalString(value)} ${unitLabel(unit)}`;
}

interface NumericSeries {
  readonly unit: number;
  last: Float11073;
  questionable: boolean;
  count: number;
  min: Float11073 | undefined;
  max: Float11073 | undefined;
}

/** The latest value of every vital the hub stored, and a few statistics for the summary. */
class VitalsBoard {
  private readonly numeric = new Map<number, NumericSeries>();
  private bp: { sys: Float11073; dia: Float11073; mean: Float11073 | undefined; unit: number; questionable: boolean; count: number } | undefined;
  private ecg: { records: number; samples: number; intervalUs: number; scale: Float11073; unit: number; questionable: boolean } | undefined;
  questionable = 0;

  add(record: ReadingRecord): void {
    const q = (record.flags & RecordFlags.Questionable) !== 0;
    if (q) this.questionable++;
    const value = record.value;
    switch (value.kind) {
      case ValueKind.Numeric: {
        const s = this.numeric.get(record.code) ?? { unit: record.unit, last: value.value, questionable: q, count: 0, min: undefined, max: undefined };
        s.last = value.value;
        s.questionable = q;
        s.count++;
        const n = floatToNumber(value.value);
        if (!Number.isNaN(n)) {
          if (s.min === undefined || n < floatToNumber(s.min)) s.min = value.value;
          if (s.max === undefined || n > floatToNumber(s.max)) s.max = value.value;
        }
        this.numeric.set(record.code, s);
        break;
      }
      case ValueKind.Compound: {
        const get = (code: number): Float11073 | undefined => value.components.find((c) => c.code === code)?.value;
        const sys = get(MDC.PRESS_BLD_NONINV_SYS);
        const dia = get(MDC.PRESS_BLD_NONINV_DIA);
        if (sys !== undefined && dia !== undefined) {
          this.bp = { sys, dia, mean: get(MDC.PRESS_BLD_NONINV_MEAN), unit: record.unit, questionable: q, count: (this.bp?.count ?? 0) + 1 };
        }
        break;
      }
      case ValueKind.Waveform:
        this.ecg = {
          records: (this.ecg?.records ?? 0) + 1,
          samples: (this.ecg?.samples ?? 0) + value.samples.length,
          intervalUs: value.intervalUs,
          scale: value.scale,
          unit: record.unit,
          questionable: q,
        };
        break;
    }
  }

  get empty(): boolean {
    return this.numeric.size === 0 && this.bp === undefined && this.ecg === undefined;
  }

  /** `HR 72 bpm  SpO2 98 %  RR 14 resp/min  Temp 36.8 °C  BP 118/76 mmHg  ECG 250 samples/s`; `?` marks a questionable value. */
  liveLine(ecgOn: boolean): string {
    const mark = (q: boolean): string => (q ? '?' : '');
    const parts: string[] = [];
    for (const code of DISPLAY_ORDER) {
      const s = this.numeric.get(code);
      const label = SHORT_LABEL.get(code) as string;
      parts.push(s === undefined ? `${label} –` : `${label} ${floatToDecimalString(s.last)}${mark(s.questionable)} ${unitLabel(s.unit)}`);
    }
    for (const [code, s] of this.numeric) {
      if (!DISPLAY_ORDER.includes(code)) parts.push(`${measurementLabel(code)} ${withUnit(s.last, s.unit)}${mark(s.questionable)}`);
    }
    const bp = this.bp;
    parts.push(bp === undefined ? 'BP –' : `BP ${floatToDecimalString(bp.sys)}/${floatToDecimalString(bp.dia)}${mark(bp.questionable)} ${unitLabel(bp.unit)}`);
    if (this.ecg !== undefined) parts.push(`ECG ${groupDigits(1_000_000 / this.ecg.intervalUs)} samples/s${mark(this.ecg.questionable)}`);
    else parts.push(ecgOn ? 'ECG –' : 'ECG off');
    return parts.join('  ');
  }

  summary(): string[] {
    const lines: string[] = [];
    const row = (label: string, text: string): string => `  ${label.padEnd(24)} ${text}`;
    const codes = [...DISPLAY_ORDER.filter((c) => this.numeric.has(c)), ...[...this.numeric.keys()].filter((c) => !DISPLAY_ORDER.includes(c))];
    for (const code of codes) {
      const s = this.numeric.get(code) as NumericSeries;
      const range =
        s.min !== undefined && s.max !== undefined && floatToNumber(s.min) !== floatToNumber(s.max)
          ? `, range ${floatToDecimalString(s.min)}–${withUnit(s.max, s.unit)}` : '';
      lines.push(row(measurementLabel(code), `${groupDigits(s.count)} reading${s.count === 1 ? '' : 's'}, last ${withUnit(s.last, s.unit)}${range}`));
    }
    if (this.bp !== undefined) {
      const bp = this.bp;
      const mean = bp.mean === undefined ? '' : ` (${measurementLabel(MDC.PRESS_BLD_NONINV_MEAN).toLowerCase()} ${withUnit(bp.mean, bp.unit)})`;
      lines.push(
        row(
          measurementLabel(MDC.PRESS_BLD_NONINV),
          `${bp.count} reading${bp.count === 1 ? '' : 's'}, last ${floatToDecimalString(bp.sys)}/${floatToDecimalString(bp.dia)} ${unitLabel(bp.unit)}${mean}`,
        ),
      );
    }
    if (this.ecg !== undefined) {
      const e = this.ecg;
      lines.push(
        row(
          measurementLabel(MDC.ECG_ELEC_POTL_II),
          `${groupDigits(e.records)} waveform record${e.records === 1 ? '' : 's'}, ${groupDigits(e.samples)} samples at ${groupDigits(1_000_000 / e.intervalUs)} samples/s, ${withUnit(e.scale, e.unit)} per step`,
        ),
      );
    }
    if (this.questionable > 0) lines.push(row('Questionable', `${groupDigits(this.questionable)} record(s) flagged (motion artefact), shown with ?`));
    return lines;
  }
}

// ── The demo hub ────────────────────────────────────────────────────────────────────────────────

type Outcome = 'open' | HubFailure | 'stopped';

/**
 * The core's `HubSession` driven the way the vault worker will drive it: fragments in and out,
 * records "committed" to an in-memory store on the next turn of the event loop and only then
 * acknowledged, checkpoints checked against a hash chain recomputed from the stored records.
 */
class DemoHub {
  private session: HubSession | undefined;
  private link: MemoryLink | undefined;
  private waiter: ((outcome: Outcome) => void) | undefined;
  private statusShown = false;
  private mode: 'pairing' | 'kk' = 'pairing';
  readonly board = new VitalsBoard();
  stored = 0;
  /** Recomputed chain over the records stored in order (§8.4); heads kept only where a checkpoint may land. */
  private chain: RecordChain;
  private readonly waiting = new Map<number, Uint8Array>();
  private readonly heads = new Map<number, Uint8Array>();
  private readonly unverified: Checkpoint[] = [];
  private readonly signingKey: Uint8Array;
  checkpoints = 0;
  checkpointsVerified = 0;
  checkpointsFailed = 0;
  readonly security = new Map<string, number>();
  linkStats = { toSensor: 0, toHub: 0 };
  /** A failure after the session opened (e.g. a rekey that failed). */
  lateFailure: HubFailure | undefined;

  constructor(
    readonly state: HubState,
    private readonly trustStore: TrustStore,
    private readonly identity: DeviceIdentity,
    private readonly persist: () => void,
    private readonly say: (line: string) => void,
    private readonly bondCount: () => number,
  ) {
    this.chain = new RecordChain(identity.deviceId);
    this.signingKey = decodeCertificate(identity.certificate).signingKey;
  }

  get isOpen(): boolean {
    return this.session?.isOpen ?? false;
  }

  get idle(): boolean {
    return this.link?.idle ?? true;
  }

  /** Highest seq stored with no gap before it. */
  get contiguous(): number {
    return this.chain.seq;
  }

  pair(connection: SensorConnection, qr: string): Promise<Outcome> {
    const scanned = parseQrPayload(qr);
    const session = this.attach(connection);
    this.mode = 'pairing';
    const done = this.outcome();
    this.apply(session, session.pair(passcodeToPrs(scanned.passcode), Date.now(), scanned.deviceId));
    return done;
  }

  reconnect(connection: SensorConnection, bond: SensorBond): Promise<Outcome> {
    const session = this.attach(connection);
    this.mode = 'kk';
    const done = this.outcome();
    this.apply(session, session.reconnect(bond, Date.now()));
    return done;
  }

  /** Ends a pending `pair`/`reconnect` wait (Ctrl-C). */
  cancel(): void {
    this.resolve('stopped');
  }

  tick(nowMs: number): void {
    const session = this.session;
    if (session !== undefined) this.apply(session, session.tick(nowMs));
  }

  close(): void {
    if (this.link !== undefined) this.countLink(this.link);
    this.link?.close();
    this.session?.close();
    this.link = undefined;
    this.session = undefined;
  }

  private attach(connection: SensorConnection): HubSession {
    this.close();
    const session = new HubSession({
      identity: this.state.identity,
      trustStore: this.trustStore,
      random,
      hubLabel: this.state.label,
      chunkSize: chunkSizeForMtu(ATT_MTU),
      contiguous: this.contiguous,
    });
    this.session = session;
    this.link = new MemoryLink(connection, (fragment) => {
      if (this.session === session) this.apply(session, session.receiveFragment(fragment, Date.now()));
    });
    this.statusShown = false;
    return session;
  }

  private countLink(link: MemoryLink): void {
    this.linkStats = { toSensor: this.linkStats.toSensor + link.stats.toSensor, toHub: this.linkStats.toHub + link.stats.toHub };
  }

  get fragments(): { toSensor: number; toHub: number } {
    const live = this.link?.stats ?? { toSensor: 0, toHub: 0 };
    return { toSensor: this.linkStats.toSensor + live.toSensor, toHub: this.linkStats.toHub + live.toHub };
  }

  private outcome(): Promise<Outcome> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  private resolve(outcome: Outcome): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.(outcome);
  }

  private apply(session: HubSession, outputs: readonly HubOutput[]): void {
    for (const out of outputs) {
      switch (out.type) {
        case 'write':
          this.link?.write(out.fragment);
          break;
        case 'store':
          this.store(session, out.records);
          break;
        case 'checkpoint':
          this.checkpoints++;
          this.unverified.push(out.checkpoint);
          this.verifyCheckpoints();
          break;
        case 'status':
          if (!this.statusShown) {
            this.statusShown = true;
            const s = out.status;
            const flags = [s.flags.clockNotSet ? 'clock not set yet (the hub sets it now)' : 'clock set', ...(s.flags.tamper ? ['TAMPER DETECTED'] : []), ...(s.flags.storageNearlyFull ? ['storage nearly full'] : [])];
            this.say(`Sensor status: battery ${s.battery} %, ${groupDigits(s.held)} record(s) waiting, ${flags.join(', ')}.`);
          }
          break;
        case 'bonded': {
          const c = out.certificate;
          this.say(`Certificate: ${out.bond.manufacturer}, model ${c.model}, serial ${c.serial}, valid until ${formatUnixSeconds(c.notAfter)}`);
          this.state.bonds.set(deviceIdHex(out.bond.deviceId), out.bond);
          this.persist();
          this.say(
            `Bonded: the sensor keeps the demo hub's key (${this.bondCount()} of 4 bonds) and the hub keeps the sensor's certificate; ` +
              'next time they reconnect with Noise KK, without the setup code.',
          );
          break;
        }
        case 'open':
          if (out.rekeyed) this.say('Session rekeyed (a fresh Noise KK handshake, §7.3).');
          else if (this.mode === 'kk') this.say('Connected: encrypted session open (Noise KK, no setup code needed).');
          this.resolve('open');
          break;
        case 'failed':
          if (this.waiter !== undefined) this.resolve(out.failure);
          else this.lateFailure = out.failure;
          break;
        case 'security':
          this.security.set(out.event, (this.security.get(out.event) ?? 0) + 1);
          break;
      }
    }
  }

  /** "Commits" the records on the next turn, then acknowledges them (§8.3: ACK only after commit). */
  private store(session: HubSession, records: readonly ReadingRecord[]): void {
    for (const r of records) {
      this.board.add(r);
      this.stored++;
      this.waiting.set(r.seq, encodeRecordBytes(r));
    }
    while (this.waiting.has(this.chain.seq + 1)) {
      const seq = this.chain.seq + 1;
      this.chain.append(this.waiting.get(seq) as Uint8Array);
      this.waiting.delete(seq);
      if (seq % 100 === 0) this.heads.set(seq, this.chain.head);
    }
    this.verifyCheckpoints();
    const seqs = records.map((r) => r.seq);
    setImmediate(() => {
      if (this.session === session && session.isOpen) this.apply(session, session.committed(seqs, Date.now()));
    });
  }

  /** A checkpoint is good when the device's signature verifies and the head matches the records stored (§8.4). */
  private verifyCheckpoints(): void {
    for (let i = this.unverified.length - 1; i >= 0; i--) {
      const c = this.unverified[i] as Checkpoint;
      const head = c.seq === this.chain.seq ? this.chain.head : this.heads.get(c.seq);
      if (head === undefined && c.seq > this.chain.seq) continue; // records still to come
      this.unverified.splice(i, 1);
      if (head !== undefined && equalBytes(head, c.head) && verifyCheckpoint(this.signingKey, this.identity.deviceId, c)) this.checkpointsVerified++;
      else this.checkpointsFailed++;
      this.heads.delete(c.seq);
    }
  }
}

function failureText(failure: HubFailure): string {
  switch (failure.kind) {
    case 'pairing-failed':
      return 'Pairing failed: the setup code was wrong, or the sensor refused (its pairing window was closed, or it is locked out after failed attempts).';
    case 'certificate':
      return `The demo hub refused the sensor's certificate: ${new CertificateError(failure.reason).message}. ${certificateHint(failure.reason)}`;
    case 'reconnect-failed':
      return 'Reconnecting failed: the sensor does not recognise the demo hub any more.';
    case 'timeout':
      return `The sensor did not complete the handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s.`;
    case 'expired':
      return 'The session reached its limits before a rekey completed (§7.3); run again to reconnect.';
    default:
      return `The connection failed (${(failure as { kind: string }).kind}).`;
  }
}

function certificateHint(reason: CertificateFailure): string {
  switch (reason) {
    case 'revoked':
      return 'The manufacturer revoked it (`npm run ca -- list`); issue a new device with `npm run ca -- issue`.';
    case 'expired':
      return 'Issue a new device with `npm run ca -- issue`.';
    case 'not-yet-valid':
      return 'Check the computer\'s clock.';
    case 'unknown-issuer':
      return 'It was issued by a CA that the trust store does not contain (was the CA replaced with `npm run ca -- init --force`?). Issue a new device with `npm run ca -- issue`.';
    default:
      return 'The device file may be damaged; issue a new device with `npm run ca -- issue`.';
  }
}

// ── Choosing the device ─────────────────────────────────────────────────────────────────────────

function chooseDevice(paths: DataPaths, requested: string | undefined, nowMs: number, say: (line: string) => void): DeviceIdentity {
  if (requested !== undefined) {
    const loaded = loadDevice(paths, requested);
    if (loaded !== undefined) return loaded.identity;
    const present = listDeviceFiles(paths);
    throw new CliError(
      `There is no device ${requested} in ${paths.devices}. ` +
        (present.length > 0 ? `Devices there: ${present.join(', ')} (see \`npm run ca -- list\`).` : 'Run `npm run ca -- issue` to manufacture one.'),
    );
  }
  let ca = loadCa(paths);
  const files = listDeviceFiles(paths);
  if (files.length > 0) {
    // The first device issued that is still valid; without a CA ledger, the first file.
    const candidates = ca === undefined ? files : ca.file.issued.filter((d) => deviceStatus(d, ca?.file.revoked ?? [], nowMs) === 'valid').map((d) => d.deviceId);
    for (const id of candidates) {
      if (!files.includes(id)) continue;
      const loaded = loadDevice(paths, id);
      if (loaded !== undefined) return loaded.identity;
    }
    const why =
      ca === undefined
        ? 'none of their files could be read'
        : ca.file.issued.length === 0
          ? `the CA "${ca.file.name}" did not issue any of them`
          : `every device the CA "${ca.file.name}" issued is revoked or expired (see \`npm run ca -- list\`)`;
    throw new CliError(
      `No device in ${paths.devices} can be used: ${why}. Manufacture a new one with \`npm run ca -- issue\`, or choose one with --device.`,
    );
  }
  // Zero setup: make what is missing, and say so.
  if (ca === undefined) {
    ca = createCa(paths, { name: DEFAULT_CA_NAME, random, nowMs });
    say(`No manufacturer CA in ${paths.dir} yet: created "${ca.file.name}" (key id ${ca.file.keyId}) and the hub trust store.`);
  }
  const { identity, entry } = issueDevice(paths, ca, { random, nowMs });
  say(`No device yet: manufactured ${entry.deviceId} (${entry.model}, serial ${entry.serial}), saved in ${paths.device(entry.deviceId)}.`);
  return identity;
}

// ── Running ─────────────────────────────────────────────────────────────────────────────────────

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function plural(n: number, word: string): string {
  return `${groupDigits(n)} ${word}${n === 1 ? '' : 's'}`;
}

function clock(ms = Date.now()): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

async function run(options: SensorOptions, say: (line: string) => void): Promise<number> {
  if (options.demo) {
    say('Vitalock: secure vital signs from a Bluetooth sensor to your browser.');
    say('This demo pairs a simulated sensor with a hub using the setup code printed on its label, then');
    say('streams encrypted, signed readings that the hub stores and acknowledges. Press Ctrl-C to stop.');
    say('');
  }
  say('The Vitalock app is not built yet; this runs the reference sensor with a demo hub in this process.');
  const paths = dataPaths(options.dir);
  const startMs = Date.now();
  say(`Data folder: ${paths.dir}`);

  const identity = chooseDevice(paths, options.device, startMs, say);
  const id = deviceIdHex(identity.deviceId);
  if (loadTrustedRoots(paths) === undefined) {
    const ca = loadCa(paths);
    if (ca !== undefined) {
      saveTrustStore(paths, [{ name: ca.ca.name, publicKey: ca.ca.publicKey }]);
      say(`The trust store was missing: wrote it again from ca.json (${paths.trustStore}).`);
    }
  }
  const trust = loadTrustStore(paths, startMs);
  if (trust.revocationProblem !== undefined) {
    say(`Warning: the demo hub could not apply ${paths.revocations} (${trust.revocationProblem}); revoked devices may be accepted.`);
  }

  let hubState = loadHub(paths);
  if (hubState === undefined) {
    hubState = createHub(HUB_LABEL, random);
    saveHub(paths, hubState);
    say(`Demo hub: created its identity in ${paths.hub}.`);
  }
  const hubFile = hubState;
  const saveHubState = (): void => saveHub(paths, hubFile);

  const counters = loadDeviceCounters(paths, id);
  const device = new SensorDevice({ identity, random, clock: Date.now, ...(counters ? { resume: counters } : {}) });
  device.bonds.restore(loadDeviceBonds(paths, id));
  const saveBonds = (): void => saveDeviceState(paths, id, device.bonds.list(), device.store.counters);
  let ackedUpTo = 0;
  let storeFullShown = false;
  device.onEvent((event) => {
    switch (event.type) {
      case 'paired':
      case 'unbonded':
        saveBonds();
        break;
      case 'acknowledged':
        ackedUpTo = Math.max(ackedUpTo, event.upTo);
        break;
      case 'pairing-failed':
        say(`Sensor: pairing attempt failed (${event.failures} in a row${event.lockedUntilMs > 0 ? `; locked until ${clock(event.lockedUntilMs)}` : ''}).`);
        break;
      case 'store-full':
        if (!storeFullShown) say('Sensor: its record store is full; it stops measuring until the hub acknowledges records.');
        storeFullShown = true;
        break;
      case 'connected':
        break;
    }
  });
  say(`Sensor ${device.name}: device ${id}, ${identity.model}, serial ${identity.serial}.`);
  say(`Patient profile ${options.profile}; measuring ${describeRates(options.rates)}.`);

  const vitals = new VitalsSimulator({ seed: `${id}:${startMs}`, startMs, profile: options.profile, rates: options.rates });
  const hub = new DemoHub(hubFile, trust.trustStore, identity, saveHubState, say, () => device.bonds.size);

  // Stopping: Ctrl-C / SIGTERM, the duration, or a failure.
  let stopReason: string | undefined;
  let exitCode = 0;
  let wake: (() => void) | undefined;
  const stop = (reason: string, code = 0): void => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    exitCode = code;
    hub.cancel();
    wake?.();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopReason !== undefined) process.exit(130); // a second Ctrl-C: stop now
    stop(signal === 'SIGINT' ? 'Ctrl-C' : signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let connection: SensorConnection | undefined;
  let streamingSince: number | undefined;
  let nextLineAt = 0;
  const loop = setInterval(() => {
    try {
      const now = Date.now();
      if (stopReason === undefined) device.record(vitals.advance(now));
      connection?.tick();
      hub.tick(now);
      if (hub.lateFailure !== undefined) stop(failureText(hub.lateFailure), EXIT_FAILURE);
      if (streamingSince !== undefined && stopReason === undefined && now >= nextLineAt) {
        nextLineAt += 1000;
        if (nextLineAt < now) nextLineAt = now + 1000;
        const values = hub.board.empty ? 'waiting for the first readings…' : hub.board.liveLine(options.rates.ecgHz > 0);
        say(`${clock(now)}  ${values}  | stored ${groupDigits(device.store.lastSeq)}, acknowledged ${groupDigits(ackedUpTo)}`);
      }
    } catch (error) {
      stop(`unexpected failure: ${error instanceof Error ? error.message : String(error)}`, EXIT_FAILURE);
    }
  }, TICK_MS);

  let method: 'pairing' | 'kk' | undefined;
  try {
    // Reconnect with KK when both ends are bonded; otherwise (or if KK fails) pair.
    let bond = options.forcePair ? undefined : hubFile.bonds.get(id);
    if (options.forcePair && hubFile.bonds.delete(id)) {
      saveHubState();
      say('The demo hub forgot its bond with this sensor (--pair).');
    }
    if (bond !== undefined) {
      try {
        // The hub checks a bonded sensor's certificate again: it may have expired or been revoked since.
        verifyCertificate(bond.certificate, { trustStore: trust.trustStore, nowMs: Date.now(), remoteStaticKey: bond.staticKey });
      } catch (error) {
        if (!(error instanceof CertificateError)) throw error;
        throw new CliError(`The demo hub no longer accepts this sensor: ${error.message}. ${certificateHint(error.reason)}`);
      }
      say('Reconnecting (Noise KK) to bonded hub…');
      connection = device.connect(ATT_MTU);
      const outcome = await hub.reconnect(connection, bond);
      if (outcome === 'open') {
        method = 'kk';
      } else if (outcome !== 'stopped') {
        say(
          outcome.kind === 'reconnect-failed'
            ? 'The sensor does not recognise the demo hub any more (its bond is gone); pairing again with the setup code.'
            : `${failureText(outcome)} Pairing again with the setup code.`,
        );
        hubFile.bonds.delete(id);
        saveHubState();
        bond = undefined;
      }
    }
    if (bond === undefined && stopReason === undefined) {
      device.policy.openWindow(device.monotonicNow());
      say(`Pairing window open on the sensor for ${PAIRING_WINDOW_MS / 1000} s (as after a press of its pairing button).`);
      const label = deviceLabel(identity);
      say(`Pairing with setup code ${label.setupCode}… (the demo hub scanned the label's QR code ${label.qr})`);
      connection = device.connect(ATT_MTU);
      const outcome = await hub.pair(connection, label.qr);
      if (outcome === 'open') method = 'pairing';
      else if (outcome !== 'stopped') stop(failureText(outcome), EXIT_FAILURE);
    }

    if (method !== undefined && stopReason === undefined) {
      const duration = options.durationMs;
      say(`Streaming vitals in real time${duration !== undefined ? ` for ${describeInterval(duration)}` : ''}. Press Ctrl-C to stop.`);
      streamingSince = Date.now();
      nextLineAt = streamingSince + 1000;
      const timer = duration === undefined ? undefined : setTimeout(() => stop(options.once ? 'the --once run is done' : '--duration reached'), duration);
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (stopReason !== undefined) resolve();
      });
      if (timer !== undefined) clearTimeout(timer);
      // Let what is in flight arrive and be acknowledged.
      const drainUntil = Date.now() + DRAIN_MS;
      while (Date.now() < drainUntil && hub.isOpen && !(hub.idle && device.store.held === 0)) await sleep(20);
    }
  } catch (error) {
    if (error instanceof CliError) {
      stop(error.message, error.exitCode);
    } else {
      stop(`unexpected failure: ${error instanceof Error ? error.message : String(error)}`, EXIT_FAILURE);
    }
  } finally {
    clearInterval(loop);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const fragments = hub.fragments;
  hub.close();
  saveBonds();

  // A failure before any session: the error says it all.
  if (method === undefined && exitCode !== 0) {
    console.error(`Error: ${stopReason ?? 'stopped'}`);
    return exitCode;
  }

  // Summary.
  const elapsed = ((Date.now() - startMs) / 1000).toFixed(1);
  if (exitCode !== 0) console.error(`Error: ${stopReason ?? 'stopped'}`);
  say('');
  say(`Summary (${elapsed} s${exitCode === 0 && stopReason !== undefined ? `, stopped: ${stopReason}` : ''})`);
  const row = (label: string, text: string): void => say(`  ${label.padEnd(24)} ${text}`);
  row(
    'Connection',
    method === 'pairing'
      ? 'paired with the setup code (CPace + Noise XXpsk3), certificate verified'
      : method === 'kk'
        ? 'reconnected with Noise KK to the bonded hub'
        : 'no session',
  );
  row('Link', `${plural(fragments.toSensor, 'fragment')} to the sensor, ${groupDigits(fragments.toHub)} to the hub`);
  row('Sensor', `measured ${plural(device.store.lastSeq, 'record')}; ${groupDigits(device.store.held)} held, not yet acknowledged`);
  row('Hub', `stored ${plural(hub.stored, 'record')} (${groupDigits(hub.contiguous)} in order); acknowledged up to ${groupDigits(ackedUpTo)}`);
  row(
    'Checkpoints',
    hub.checkpoints === 0
      ? 'none yet (the sensor signs one every 100 records)'
      : `${hub.checkpoints} received, ${hub.checkpointsVerified} verified (signature and hash chain)${hub.checkpointsFailed > 0 ? `, ${hub.checkpointsFailed} FAILED` : ''}`,
  );
  if (hub.security.size > 0) row('Security events', [...hub.security].map(([e, n]) => `${e} ×${n}`).join(', '));
  for (const line of hub.board.summary()) say(line);
  if (method !== undefined) say(`Bonds and the hub identity are saved in ${paths.dir}: the next run reconnects with Noise KK.`);

  if (exitCode === 0 && method !== undefined && options.once && hub.stored === 0) {
    console.error('Error: no readings reached the hub.');
    return EXIT_FAILURE;
  }
  return exitCode;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const options = parseOptions(argv);
    if (options === 'help') {
      console.log(HELP);
      return 0;
    }
    return await run(options, (line) => console.log(line));
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`Error: ${error.message}`);
      return error.exitCode;
    }
    console.error(`Error: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT_FAILURE;
  }
}

process.exit(await main(process.argv.slice(2)));
