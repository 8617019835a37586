/**
 * Plausible physiology for the reference sensor: what it "measures" (docs/protocol.md §8.2, §8.5).
 *
 * Not uniform noise. Each vital has a baseline that drifts slowly and reverts to the patient's
 * set point (an Ornstein–Uhlenbeck process, advanced exactly once per simulated second), and the
 * vitals are coupled the way a monitor shows them:
 *
 * - heart rate: baseline + circadian swing + a 0.1 Hz Mayer wave + respiratory sinus arrhythmia
 *   (HR rises on inspiration: `rsa × sin(breathing phase)`, evaluated at the instant of each
 *   reading and of each ECG sample) + a tachycardic response to desaturation + fever
 *   (≈ 8 bpm per °C of core temperature above the set point);
 * - respiratory rate: its own drifting baseline; it sets the breathing phase;
 * - SpO2: near the set point (97–99 % resting), with occasional desaturation episodes
 *   (a smooth fall, a hold, a recovery) that the heart rate follows a few seconds later;
 * - temperature: a very slow baseline plus a circadian component (nadir ≈ 04:00, peak ≈ 16:00,
 *   by the device clock read as local time);
 * - blood pressure: its own baseline, correlated with heart rate and the circadian rhythm;
 * - ECG lead II: P-QRS-T as sums of Gaussians over the cardiac phase (McSharry's ECGSYN, without
 *   the ODE), the phase advanced by the instantaneous heart rate, plus baseline wander and
 *   amplitude modulation from breathing, electrode drift and a little noise;
 * - motion artefacts: episodes of a few seconds during which HR, SpO2, RR, NIBP and ECG are
 *   perturbed and their records carry the questionable flag (§8.2 flags bit 0).
 *
 * Values are rounded to clinical resolution (bpm, %, resp/min, mmHg: integers; °C: 0.1) and
 * carried as exact FLOATs (§8.5): 36.6 °C is mantissa 366, exponent −1.
 *
 * Pure and deterministic: no clock and no `Math.random`. Time comes in through `advance`, and the
 * randomness is xoshiro128** streams seeded from the seed, one stream per concern, so the same
 * seed and options give the same records however `advance` is chunked (one call for a week or a
 * call per second). Work is O(records), plus O(samples) for the ECG.
 */
import { MDC, RecordFlags, ValueKind, type FiniteFloat, type NumericValue } from '../src/core/readings.js';

// ── Public API ──────────────────────────────────────────────────────────────────────────────────

/** A reading record before the record store numbers it (it assigns `seq`). */
import type { Measurement } from './record-store.js';

export type { Measurement };

export type PatientProfile = 'adult-resting' | 'adult-febrile' | 'desaturating';

export const PATIENT_PROFILES: readonly PatientProfile[] = ['adult-resting', 'adult-febrile', 'desaturating'];

/**
 * How often the sensor measures. Numeric vitals are given as the interval between readings in
 * milliseconds (a positive integer; 0 disables the measurement); the ECG as a sample rate in Hz
 * (whose period must be a whole number of microseconds; 0 disables it) and samples per record.
 */
export interface Rates {
  /** Default 1000 (1 Hz). */
  readonly heartRateMs: number;
  /** Default 1000 (1 Hz). */
  readonly spo2Ms: number;
  /** Default 5000: a breath takes ~4 s, so a faster update would only repeat itself. */
  readonly respiratoryRateMs: number;
  /** Default 60 000. */
  readonly temperatureMs: number;
  /** Default 900 000 (NIBP every 15 min); one compound record: systolic, diastolic, mean. */
  readonly bloodPressureMs: number;
  /** Default 250 Hz (4000 µs between samples). */
  readonly ecgHz: number;
  /** Default 250 (one waveform record per second at 250 Hz); 1…1000 (§8.2). */
  readonly ecgSamplesPerRecord: number;
}

export const DEFAULT_RATES: Readonly<Rates> = Object.freeze({
  heartRateMs: 1000,
  spo2Ms: 1000,
  respiratoryRateMs: 5000,
  temperatureMs: 60_000,
  bloodPressureMs: 900_000,
  ecgHz: 250,
  ecgSamplesPerRecord: 250,
});

/** ECG scale, units (mV) per LSB: 0.005 mV = mantissa 5, exponent −3 (±163 mV full scale). */
export const ECG_SCALE: FiniteFloat = Object.freeze({ mantissa: 5, exponent: -3 });
/** 1 / 0.005 mV. */
const ECG_LSB_PER_MV = 200;

export interface VitalsOptions {
  /** Same seed (and options), same records. A number seeds like its decimal string. */
  readonly seed: number | string;
  /** Simulation start, Unix ms (device time). The first reading of every kind is taken here. */
  readonly startMs: number;
  /** Default 'adult-resting'. */
  readonly profile?: PatientProfile;
  readonly rates?: Partial<Rates>;
  /** Mean number of desaturation episodes per hour (Poisson); the profile sets the default. */
  readonly desaturationsPerHour?: number;
  /** Mean number of motion-artefact episodes per hour (Poisson); default 2. */
  readonly artefactsPerHour?: number;
}

/**
 * Record timing: a numeric reading is instantaneous at its `timeMs`; a waveform record's `timeMs`
 * is the time of its first sample (sample i at timeMs + i × interval µs). `advance(toMs)` returns
 * the records measured before `toMs`, in time order — and, over successive calls, in
 * non-decreasing time: readings taken after the first sample of the ECG record still filling are
 * held back until it completes (at most one ECG record of latency, one second by default), since
 * that record will be stamped earlier than them. At equal times the numerics come first (HR, SpO2,
 * RR, temperature, NIBP), then the ECG.
 */
export class VitalsSimulator {
  readonly profile: PatientProfile;
  readonly rates: Readonly<Rates>;
  readonly startMs: number;

  private readonly physio: Physiology;
  private readonly meas: Xoshiro128;
  private readonly ecgRng: Xoshiro128;

  /** Numeric streams: period and next due time in µs since start; disabled streams are absent. */
  private readonly streams: NumericStream[];

  // ECG
  private readonly ecgIntervalUs: number;
  private readonly ecgPerRecord: number;
  private ecgNextUs = 0;
  private ecgBlockStartUs = 0;
  private ecgFilled = 0;
  private ecgBuffer: Int16Array;
  private ecgQuestionable = false;
  /** Cardiac phase, fraction of a cycle; 0 is the R peak. */
  private cardiacPhase: number;
  private ecgTemplate: Float32Array;
  private ecgTemplateBpm = -1;

  /** Tick (whole second since start) whose physiology state is current. */
  private tick = 0;
  private lastToMs: number;

  /** Where the current `advance` call puts released records. */
  private out: Measurement[] = [];
  /**
   * Readings taken after the first sample of the ECG record still filling: generated, held back
   * until that record completes (at most one record's worth), in time order.
   */
  private heldUs: number[] = [];
  private held: Measurement[] = [];

  constructor(options: VitalsOptions) {
    const { seed, startMs } = options;
    if (!Number.isSafeInteger(startMs) || startMs < 0) throw new RangeError(`startMs must be a Unix ms time: ${startMs}`);
    if (typeof seed !== 'string' && !Number.isFinite(seed)) throw new RangeError('seed must be a string or a finite number');
    const profile = options.profile ?? 'adult-resting';
    const params = PROFILES[profile];
    if (params === undefined) throw new RangeError(`unknown profile: ${String(profile)}`);
    const rates: Rates = { ...DEFAULT_RATES, ...options.rates };
    for (const key of ['heartRateMs', 'spo2Ms', 'respiratoryRateMs', 'temperatureMs', 'bloodPressureMs'] as const) {
      const v = rates[key];
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`rates.${key} must be a whole number of ms ≥ 0: ${v}`);
    }
    if (!Number.isFinite(rates.ecgHz) || rates.ecgHz < 0) throw new RangeError(`rates.ecgHz must be ≥ 0: ${rates.ecgHz}`);
    const intervalUs = rates.ecgHz === 0 ? 0 : 1e6 / rates.ecgHz;
    if (rates.ecgHz !== 0 && (!Number.isInteger(intervalUs) || intervalUs < 1)) {
      throw new RangeError(`rates.ecgHz must have a whole-µs period: ${rates.ecgHz}`);
    }
    const perRecord = rates.ecgSamplesPerRecord;
    if (!Number.isInteger(perRecord) || perRecord < 1 || perRecord > 1000) {
      throw new RangeError(`rates.ecgSamplesPerRecord must be 1..1000: ${perRecord}`);
    }
    const desatPerHour = options.desaturationsPerHour ?? params.desaturationsPerHour;
    const artefactsPerHour = options.artefactsPerHour ?? 2;
    for (const [name, v] of [['desaturationsPerHour', desatPerHour], ['artefactsPerHour', artefactsPerHour]] as const) {
      if (!Number.isFinite(v) || v < 0 || v > 3600) throw new RangeError(`${name} must be 0..3600: ${v}`);
    }

    this.profile = profile;
    this.rates = Object.freeze(rates);
    this.startMs = startMs;
    this.lastToMs = startMs;
    const seedText = String(seed);
    this.physio = new Physiology(params, new Xoshiro128(`${seedText}\u0000physiology`), startMs, desatPerHour, artefactsPerHour);
    this.meas = new Xoshiro128(`${seedText}\u0000measurement`);
    this.ecgRng = new Xoshiro128(`${seedText}\u0000ecg`);

    const spec: [number, NumericKind][] = [
      [rates.heartRateMs, NumericKind.HeartRate],
      [rates.spo2Ms, NumericKind.Spo2],
      [rates.respiratoryRateMs, NumericKind.RespiratoryRate],
      [rates.temperatureMs, NumericKind.Temperature],
      [rates.bloodPressureMs, NumericKind.BloodPressure],
    ];
    this.streams = spec.filter(([ms]) => ms > 0).map(([ms, kind]) => ({ kind, periodUs: ms * 1000, nextUs: 0 }));

    this.ecgIntervalUs = intervalUs;
    this.ecgPerRecord = perRecord;
    this.ecgBuffer = new Int16Array(perRecord);
    this.cardiacPhase = this.ecgRng.uniform();
    this.ecgTemplate = ecgTemplate(70);
    this.physio.step(0);
  }

  /** Device time up to which records have been generated (the last `advance` target). */
  get timeMs(): number {
    return this.lastToMs;
  }

  /**
   * Simulates up to `toMs` (Unix ms, exclusive) and returns the records completed since the last
   * call, in time order. A target at or before the previous one returns nothing.
   */
  advance(toMs: number): Measurement[] {
    if (!Number.isSafeInteger(toMs)) throw new RangeError(`advance target must be a Unix ms time: ${toMs}`);
    if (toMs <= this.lastToMs) return [];
    this.lastToMs = toMs;
    const out: Measurement[] = [];
    this.out = out;
    this.generate((toMs - this.startMs) * 1000);
    // Readings up to the start of the ECG record still filling precede it (and all later ones).
    this.releaseHeld(this.ecgBlockStartUs);
    this.out = [];
    return out;
  }

  /** Moves held readings taken at or before `us` to the output. */
  private releaseHeld(us: number): void {
    const heldUs = this.heldUs;
    let n = 0;
    while (n < heldUs.length && (heldUs[n] as number) <= us) n++;
    if (n === 0) return;
    for (let i = 0; i < n; i++) this.out.push(this.held[i] as Measurement);
    heldUs.splice(0, n);
    this.held.splice(0, n);
  }

  /** Generates every numeric reading and ECG sample from where the last call stopped to `targetUs` (µs since start, exclusive). */
  private generate(targetUs: number): void {
    const physio = this.physio;
    for (;;) {
      const tickStartUs = this.tick * 1e6;
      const tickEndUs = Math.min(tickStartUs + 1e6, targetUs);
      this.generateNumerics(tickEndUs);
      if (this.ecgIntervalUs > 0) this.generateEcg(tickStartUs, tickEndUs);
      if (tickEndUs === targetUs) break;
      this.tick++;
      physio.step(this.tick);
    }
  }

  private generateNumerics(endUs: number): void {
    const streams = this.streams;
    const n = streams.length;
    for (;;) {
      let best: NumericStream | undefined;
      for (let i = 0; i < n; i++) {
        const s = streams[i] as NumericStream;
        if (s.nextUs < endUs && (best === undefined || s.nextUs < best.nextUs)) best = s;
      }
      if (best === undefined) return;
      const us = best.nextUs;
      best.nextUs += best.periodUs;
      const record = this.measure(best.kind, us);
      if (this.ecgIntervalUs === 0 || (this.held.length === 0 && us <= this.ecgBlockStartUs)) {
        this.out.push(record);
      } else {
        this.heldUs.push(us);
        this.held.push(record);
      }
    }
  }

  /** One numeric reading at `us` (µs since start), which lies in the current tick. */
  private measure(kind: NumericKind, us: number): Measurement {
    const ph = this.physio;
    const m = this.meas;
    const timeMs = this.startMs + Math.floor(us / 1000);
    const artefact = ph.artefactActive;
    const flags = artefact ? RecordFlags.Questionable : 0;
    switch (kind) {
      case NumericKind.HeartRate: {
        const s = Math.sin(TWO_PI * ph.breathPhaseAt((us - this.tick * 1e6) * 1e-6));
        let hr = ph.hr + ph.rsa * s + 0.3 * m.gaussian();
        if (artefact) hr += 8 * (m.uniform() * 2 - 1);
        return numeric(timeMs, MDC.ECG_HEART_RATE, MDC.DIM_BEAT_PER_MIN, flags, clampRound(hr, 40, 180));
      }
      case NumericKind.Spo2: {
        let spo2 = Math.min(ph.spo2, 99.4) + 0.35 * m.gaussian();
        if (artefact) spo2 -= 6 * m.uniform();
        return numeric(timeMs, MDC.PULS_OXIM_SAT_O2, MDC.DIM_PERCENT, flags, clampRound(spo2, 70, 100));
      }
      case NumericKind.RespiratoryRate: {
        let rr = ph.rr + 0.4 * m.gaussian();
        if (artefact) rr += 4 * (m.uniform() * 2 - 1);
        return numeric(timeMs, MDC.RESP_RATE, MDC.DIM_RESP_PER_MIN, flags, clampRound(rr, 6, 40));
      }
      case NumericKind.Temperature: {
        // The probe is not disturbed by movement: never questionable.
        const tenths = clampRound((ph.temperature + 0.03 * m.gaussian()) * 10, 350, 410);
        return {
          timeMs,
          code: MDC.TEMP_BODY,
          unit: MDC.DIM_DEGC,
          flags: 0,
          value: TEMPERATURE_VALUES[tenths - 350] as NumericValue,
        };
      }
      case NumericKind.BloodPressure: {
        let sys = ph.systolic + 2 * m.gaussian();
        let dia = ph.diastolic + 1.5 * m.gaussian();
        if (artefact) {
          sys += 25 * m.uniform() - 10;
          dia += 12 * m.uniform() - 5;
        }
        const s = clampRound(sys, 70, 230);
        const d = clampRound(dia, 35, s - 15);
        const mean = Math.round((s + 2 * d) / 3);
        return {
          timeMs,
          code: MDC.PRESS_BLD_NONINV,
          unit: MDC.DIM_MMHG,
          flags,
          value: Object.freeze({
            kind: ValueKind.Compound,
            components: Object.freeze([
              Object.freeze({ code: MDC.PRESS_BLD_NONINV_SYS, value: intFloat(s) }),
              Object.freeze({ code: MDC.PRESS_BLD_NONINV_DIA, value: intFloat(d) }),
              Object.freeze({ code: MDC.PRESS_BLD_NONINV_MEAN, value: intFloat(mean) }),
            ]),
          }),
        };
      }
    }
  }

  /** ECG samples with times in [ecgNextUs, endUs), all in the current tick. */
  private generateEcg(tickStartUs: number, endUs: number): void {
    const ph = this.physio;
    const rng = this.ecgRng;
    const interval = this.ecgIntervalUs;
    const dtS = interval * 1e-6;
    const perRecord = this.ecgPerRecord;
    const bpm = Math.min(180, Math.max(40, Math.round(ph.hr)));
    if (bpm !== this.ecgTemplateBpm) {
      this.ecgTemplate = ecgTemplate(bpm);
      this.ecgTemplateBpm = bpm;
    }
    const template = this.ecgTemplate;
    const hr = ph.hr;
    const rsa = ph.rsa;
    const breath0 = ph.breathPhase;
    const breathHz = ph.rr / 60;
    const wander = ph.params.ecgWanderMv;
    const drift = ph.ecgDrift;
    const artefact = ph.artefactActive;
    const artAmp = ph.artefactAmplitude;
    const artHz = ph.artefactHz;
    const artPhase = ph.artefactPhase;
    const artStartUs = ph.artefactStartTick * 1e6;
    let phase = this.cardiacPhase;
    let buffer = this.ecgBuffer;
    let filled = this.ecgFilled;
    let us = this.ecgNextUs;
    if (artefact && us < endUs) this.ecgQuestionable = true;
    // The breathing sinusoid by rotation (sin, cos) → (sin, cos) of the next sample: no sin() per sample.
    const startAngle = TWO_PI * (breath0 + breathHz * (us - tickStartUs) * 1e-6);
    let s = Math.sin(startAngle);
    let c = Math.cos(startAngle);
    const stepAngle = TWO_PI * breathHz * dtS;
    const stepSin = Math.sin(stepAngle);
    const stepCos = Math.cos(stepAngle);
    while (us < endUs) {
      phase += ((hr + rsa * s) / 60) * dtS;
      if (phase >= 1) phase -= 1;
      const pos = phase * ECG_TABLE_SIZE;
      const i = pos | 0;
      const a = template[i] as number;
      const beat = a + ((template[(i + 1) & ECG_TABLE_MASK] as number) - a) * (pos - i);
      let mv = beat * (1 + 0.05 * s) + wander * s + drift + ECG_NOISE_MV * approxGaussian(rng.next());
      if (artefact) {
        const t = (us - artStartUs) * 1e-6;
        mv += artAmp * Math.sin(TWO_PI * artHz * t + artPhase) + 0.05 * approxGaussian(rng.next());
      }
      let x = mv * ECG_LSB_PER_MV;
      if (x > 32767) x = 32767;
      else if (x < -32768) x = -32768;
      buffer[filled++] = Math.floor(x + 0.5);
      us += interval;
      const nextS = s * stepCos + c * stepSin;
      c = c * stepCos - s * stepSin;
      s = nextS;
      if (filled === perRecord) {
        this.releaseHeld(this.ecgBlockStartUs);
        this.out.push({
          timeMs: this.startMs + Math.floor(this.ecgBlockStartUs / 1000),
          code: MDC.ECG_ELEC_POTL_II,
          unit: MDC.DIM_MILLI_VOLT,
          flags: this.ecgQuestionable ? RecordFlags.Questionable : 0,
          value: { kind: ValueKind.Waveform, intervalUs: interval, scale: ECG_SCALE, samples: buffer },
        });
        buffer = new Int16Array(perRecord);
        filled = 0;
        this.ecgBlockStartUs = us;
        this.releaseHeld(us);
        this.ecgQuestionable = artefact && us < endUs;
      }
    }
    this.cardiacPhase = phase;
    this.ecgBuffer = buffer;
    this.ecgFilled = filled;
    this.ecgNextUs = us;
  }
}

// ── Profiles ────────────────────────────────────────────────────────────────────────────────────

interface ProfileParams {
  /** Set points. */
  readonly hr: number;
  readonly rr: number;
  readonly spo2: number;
  readonly temperature: number;
  readonly systolic: number;
  readonly diastolic: number;
  /** Stationary standard deviations of the slow baselines, and their time constants (s). */
  readonly hrSd: number;
  readonly hrTauS: number;
  readonly rrSd: number;
  readonly spo2Sd: number;
  readonly temperatureSd: number;
  readonly systolicSd: number;
  readonly diastolicSd: number;
  /** Peak-to-mean swings of the circadian rhythm. */
  readonly hrCircadian: number;
  readonly temperatureCircadian: number;
  readonly systolicCircadian: number;
  /** Respiratory sinus arrhythmia amplitude, bpm (smaller when HR is high or lungs are stiff). */
  readonly rsaBpm: number;
  /** bpm per °C of core temperature above the set point. */
  readonly hrPerDegC: number;
  /** mmHg per bpm of heart rate above the set point. */
  readonly systolicPerBpm: number;
  readonly diastolicPerBpm: number;
  readonly desaturationsPerHour: number;
  /** Depth of a desaturation episode, % SpO2, drawn uniformly in [min, max]. */
  readonly desaturationDepth: readonly [number, number];
  /** bpm of heart-rate rise per % of desaturation. */
  readonly hrPerDesat: number;
  readonly ecgWanderMv: number;
}

const PROFILES: Readonly<Record<PatientProfile, ProfileParams>> = {
  'adult-resting': {
    hr: 68,
    rr: 14,
    spo2: 98,
    temperature: 36.8,
    systolic: 118,
    diastolic: 76,
    hrSd: 5,
    hrTauS: 600,
    rrSd: 1.5,
    spo2Sd: 0.5,
    temperatureSd: 0.12,
    systolicSd: 5,
    diastolicSd: 3.5,
    hrCircadian: 4,
    temperatureCircadian: 0.3,
    systolicCircadian: 6,
    rsaBpm: 3,
    hrPerDegC: 8,
    systolicPerBpm: 0.8,
    diastolicPerBpm: 0.4,
    desaturationsPerHour: 0.3,
    desaturationDepth: [3, 7],
    hrPerDesat: 1.2,
    ecgWanderMv: 0.08,
  },
  'adult-febrile': {
    hr: 94,
    rr: 19,
    spo2: 96.8,
    temperature: 38.6,
    systolic: 112,
    diastolic: 68,
    hrSd: 5,
    hrTauS: 600,
    rrSd: 1.8,
    spo2Sd: 0.6,
    temperatureSd: 0.2,
    systolicSd: 5,
    diastolicSd: 3.5,
    hrCircadian: 4,
    temperatureCircadian: 0.4,
    systolicCircadian: 5,
    rsaBpm: 1.8,
    hrPerDegC: 9,
    systolicPerBpm: 0.7,
    diastolicPerBpm: 0.35,
    desaturationsPerHour: 0.5,
    desaturationDepth: [3, 7],
    hrPerDesat: 1.2,
    ecgWanderMv: 0.07,
  },
  desaturating: {
    hr: 86,
    rr: 21,
    spo2: 91,
    temperature: 36.9,
    systolic: 134,
    diastolic: 84,
    hrSd: 5,
    hrTauS: 600,
    rrSd: 2,
    spo2Sd: 1.1,
    temperatureSd: 0.12,
    systolicSd: 6,
    diastolicSd: 4,
    hrCircadian: 3,
    temperatureCircadian: 0.3,
    systolicCircadian: 5,
    rsaBpm: 1.5,
    hrPerDegC: 8,
    systolicPerBpm: 0.8,
    diastolicPerBpm: 0.4,
    desaturationsPerHour: 3,
    desaturationDepth: [4, 9],
    hrPerDesat: 1.2,
    ecgWanderMv: 0.1,
  },
};

// ── Physiology: the slow state, advanced once per simulated second ────────────────────────────

const TWO_PI = 2 * Math.PI;
const DAY_MS = 86_400_000;
/** Seconds the heart-rate response lags the SpO2 fall. */
const DESAT_HR_LAG_S = 8;
const MAYER_HZ = 0.1;
const MAYER_BPM = 1.5;

/** Ornstein–Uhlenbeck deviation from a set point, advanced exactly by one second per step. */
class OrnsteinUhlenbeck {
  readonly decay: number;
  readonly kick: number;
  value: number;
  constructor(sd: number, tauS: number, initial: number) {
    this.decay = Math.exp(-1 / tauS);
    this.kick = sd * Math.sqrt(1 - this.decay * this.decay);
    this.value = sd * initial;
  }
  step(gaussian: number): number {
    this.value = this.value * this.decay + this.kick * gaussian;
    return this.value;
  }
}

class Physiology {
  // Current tick's values, read by the simulator.
  hr = 0;
  rsa = 0;
  rr = 0;
  spo2 = 0;
  temperature = 0;
  systolic = 0;
  diastolic = 0;
  ecgDrift = 0;
  /** Breathing phase (fraction of a breath) at the start of the tick; 0 starts inspiration. */
  breathPhase: number;
  artefactActive = false;
  artefactStartTick = 0;
  artefactAmplitude = 0;
  artefactHz = 0;
  artefactPhase = 0;

  private readonly hrSlow: OrnsteinUhlenbeck;
  private readonly hrFast: OrnsteinUhlenbeck;
  private readonly rrDev: OrnsteinUhlenbeck;
  private readonly spo2Dev: OrnsteinUhlenbeck;
  private readonly tempDev: OrnsteinUhlenbeck;
  private readonly sysDev: OrnsteinUhlenbeck;
  private readonly diaDev: OrnsteinUhlenbeck;
  private readonly drift: OrnsteinUhlenbeck;
  private mayerPhase: number;
  private lastTick = -1;

  private readonly desatProbability: number;
  private readonly artefactProbability: number;
  /** Current desaturation episode, in seconds from its start; end ≤ 0 when none. */
  private desatStartTick = 0;
  private desatDepth = 0;
  private desatFall = 0;
  private desatHold = 0;
  private desatRecover = 0;
  private desatEnd = 0;
  private artefactEndTick = 0;

  constructor(
    readonly params: ProfileParams,
    private readonly rng: Xoshiro128,
    private readonly startMs: number,
    desaturationsPerHour: number,
    artefactsPerHour: number,
  ) {
    const p = params;
    // Start from the stationary distribution: no warm-up transient.
    this.hrSlow = new OrnsteinUhlenbeck(p.hrSd, p.hrTauS, rng.gaussian());
    this.hrFast = new OrnsteinUhlenbeck(1.5, 15, rng.gaussian());
    this.rrDev = new OrnsteinUhlenbeck(p.rrSd, 300, rng.gaussian());
    this.spo2Dev = new OrnsteinUhlenbeck(p.spo2Sd, 600, rng.gaussian());
    this.tempDev = new OrnsteinUhlenbeck(p.temperatureSd, 3600, rng.gaussian());
    this.sysDev = new OrnsteinUhlenbeck(p.systolicSd, 1800, rng.gaussian());
    this.diaDev = new OrnsteinUhlenbeck(p.diastolicSd, 1800, rng.gaussian());
    this.drift = new OrnsteinUhlenbeck(0.03, 20, rng.gaussian());
    this.mayerPhase = rng.uniform();
    this.breathPhase = rng.uniform();
    this.desatProbability = desaturationsPerHour / 3600;
    this.artefactProbability = artefactsPerHour / 3600;
  }

  /** Breathing phase `offsetS` seconds into the current tick. */
  breathPhaseAt(offsetS: number): number {
    return this.breathPhase + (this.rr / 60) * offsetS;
  }

  /** Computes the state for tick `tick` (the second [tick, tick + 1) since start). */
  step(tick: number): void {
    const p = this.params;
    const rng = this.rng;
    if (this.lastTick >= 0) {
      // Breathing continues at the rate of the tick that just ended.
      this.breathPhase = (this.breathPhase + this.rr / 60) % 1;
      this.mayerPhase = (this.mayerPhase + MAYER_HZ + 0.005 * rng.gaussian() + 1) % 1;
      this.hrSlow.step(rng.gaussian());
      this.hrFast.step(rng.gaussian());
      this.rrDev.step(rng.gaussian());
      this.spo2Dev.step(rng.gaussian());
      this.tempDev.step(rng.gaussian());
      const gs = rng.gaussian();
      this.sysDev.step(gs);
      this.diaDev.step(0.6 * gs + 0.8 * rng.gaussian());
      this.drift.step(rng.gaussian());
    }
    this.lastTick = tick;

    // Episodes start as Poisson events (one draw each per second, always, to keep streams aligned).
    const uDesat = rng.uniform();
    const uArtefact = rng.uniform();
    if (tick >= this.desatEnd && uDesat < this.desatProbability) {
      const [lo, hi] = p.desaturationDepth;
      this.desatStartTick = tick;
      this.desatDepth = lo + (hi - lo) * rng.uniform();
      this.desatFall = 15 + 25 * rng.uniform();
      this.desatHold = 5 + 25 * rng.uniform();
      this.desatRecover = 20 + 40 * rng.uniform();
      this.desatEnd = tick + Math.ceil(this.desatFall + this.desatHold + this.desatRecover + DESAT_HR_LAG_S);
    }
    if (tick >= this.artefactEndTick && uArtefact < this.artefactProbability) {
      this.artefactStartTick = tick;
      this.artefactEndTick = tick + 3 + Math.floor(18 * rng.uniform());
      this.artefactAmplitude = 0.3 + 0.9 * rng.uniform();
      this.artefactHz = 0.5 + 2.5 * rng.uniform();
      this.artefactPhase = TWO_PI * rng.uniform();
    }
    this.artefactActive = tick < this.artefactEndTick;

    const sinceDesat = tick - this.desatStartTick;
    const desat = tick < this.desatEnd ? this.desatDepth * this.desatEnvelope(sinceDesat) : 0;
    const desatHr = tick < this.desatEnd ? p.hrPerDesat * this.desatDepth * this.desatEnvelope(sinceDesat - DESAT_HR_LAG_S) : 0;

    const absMs = this.startMs + tick * 1000;
    const hour = (((absMs % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000;
    const circadian = Math.cos((TWO_PI * (hour - 16)) / 24); // +1 at 16:00, −1 at 04:00

    const tempDev = this.tempDev.value;
    this.temperature = p.temperature + tempDev + p.temperatureCircadian * circadian;
    const mayer = MAYER_BPM * Math.sin(TWO_PI * this.mayerPhase);
    const hr = p.hr + this.hrSlow.value + this.hrFast.value + p.hrCircadian * circadian + mayer + p.hrPerDegC * tempDev + desatHr;
    this.hr = clamp(hr, 45, 170);
    // RSA weakens as the heart rate rises.
    this.rsa = p.rsaBpm * clamp(70 / this.hr, 0.5, 1.3);
    this.rr = clamp(p.rr + this.rrDev.value + 0.8 * circadian + 0.15 * desat, 7, 36);
    this.spo2 = clamp(p.spo2 + this.spo2Dev.value - desat, 72, 100);
    const hrExcess = this.hr - p.hr;
    this.systolic = p.systolic + this.sysDev.value + p.systolicCircadian * circadian + p.systolicPerBpm * hrExcess + MAYER_BPM * mayer;
    this.diastolic = p.diastolic + this.diaDev.value + 0.6 * p.systolicCircadian * circadian + p.diastolicPerBpm * hrExcess;
    this.ecgDrift = this.drift.value;
  }

  /** 0 → 1 → 0: raised-cosine fall, hold at the nadir, raised-cosine recovery. */
  private desatEnvelope(s: number): number {
    if (s <= 0) return 0;
    const fall = this.desatFall;
    if (s < fall) return 0.5 * (1 - Math.cos((Math.PI * s) / fall));
    const hold = fall + this.desatHold;
    if (s < hold) return 1;
    const recover = this.desatRecover;
    if (s < hold + recover) return 0.5 * (1 + Math.cos((Math.PI * (s - hold)) / recover));
    return 0;
  }
}

// ── ECG beat template (ECGSYN's Gaussians, over the cardiac phase) ──────────────────────────────

const ECG_TABLE_SIZE = 1024;
const ECG_TABLE_MASK = ECG_TABLE_SIZE - 1;
const ECG_NOISE_MV = 0.01;

/** P, Q, R, S, T: angle (rad, R at 0), amplitude (mV), width (rad) at 60 bpm. */
const ECG_WAVES: readonly (readonly [number, number, number])[] = [
  [(-70 * Math.PI) / 180, 0.15, 0.25],
  [(-15 * Math.PI) / 180, -0.12, 0.1],
  [0, 1.1, 0.1],
  [(15 * Math.PI) / 180, -0.25, 0.1],
  [(100 * Math.PI) / 180, 0.3, 0.4],
];

const templates = new Map<number, Float32Array>();

/**
 * One beat as a table over the phase [0, 1) (R peak at 0), for a heart rate in bpm. As in ECGSYN,
 * widths scale with √(HR/60) and the P and T waves move towards R as the rate rises (QT shortens),
 * so a beat does not simply shrink in time.
 */
function ecgTemplate(bpm: number): Float32Array {
  const cached = templates.get(bpm);
  if (cached !== undefined) return cached;
  const hrFactor = Math.sqrt(bpm / 60);
  const hrFactor2 = Math.sqrt(hrFactor);
  const angleScale = [hrFactor2, hrFactor, 1, hrFactor, hrFactor2];
  const table = new Float32Array(ECG_TABLE_SIZE);
  for (let i = 0; i < ECG_TABLE_SIZE; i++) {
    const x = (TWO_PI * i) / ECG_TABLE_SIZE;
    let v = 0;
    ECG_WAVES.forEach(([angle, amplitude, width], w) => {
      const theta = angle * Math.min(angleScale[w] as number, 2.4);
      const b = width * hrFactor;
      for (let wrap = -1; wrap <= 1; wrap++) {
        const d = x + wrap * TWO_PI - theta;
        v += amplitude * Math.exp(-(d * d) / (2 * b * b));
      }
    });
    table[i] = v;
  }
  templates.set(bpm, table);
  return table;
}

// ── Values ──────────────────────────────────────────────────────────────────────────────────────

const NumericKind = { HeartRate: 0, Spo2: 1, RespiratoryRate: 2, Temperature: 3, BloodPressure: 4 } as const;
type NumericKind = (typeof NumericKind)[keyof typeof NumericKind];

interface NumericStream {
  readonly kind: NumericKind;
  readonly periodUs: number;
  nextUs: number;
}

/** Shared, frozen FLOATs: integers 0…300 (exponent 0) and 35.0…41.0 °C (exponent −1). */
const INT_FLOATS: readonly FiniteFloat[] = Array.from({ length: 301 }, (_, i) => Object.freeze({ mantissa: i, exponent: 0 }));
const INT_VALUES: readonly NumericValue[] = INT_FLOATS.map((value) => Object.freeze({ kind: ValueKind.Numeric, value }));
const TEMPERATURE_VALUES: readonly NumericValue[] = Array.from({ length: 61 }, (_, i) =>
  Object.freeze({ kind: ValueKind.Numeric, value: Object.freeze({ mantissa: 350 + i, exponent: -1 }) }),
);

function intFloat(n: number): FiniteFloat {
  return INT_FLOATS[n] as FiniteFloat;
}

function numeric(timeMs: number, code: number, unit: number, flags: number, n: number): Measurement {
  return { timeMs, code, unit, flags, value: INT_VALUES[n] as NumericValue };
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function clampRound(x: number, lo: number, hi: number): number {
  return clamp(Math.round(x), lo, hi);
}

/** ≈ N(0, 1) from one u32: the sum of its four bytes (Irwin–Hall), standardised. Bounded ±3.5. */
function approxGaussian(u: number): number {
  const sum = (u & 0xff) + ((u >>> 8) & 0xff) + ((u >>> 16) & 0xff) + (u >>> 24);
  return (sum - 510) * 0.006766; // 1 / √(4 × (256² − 1) / 12)
}

// ── PRNG ────────────────────────────────────────────────────────────────────────────────────────

/**
 * xoshiro128** (Blackman & Vigna), seeded from a string by a cyrb128-style hash. Not
 * cryptographic, and not meant to be: it only has to be fast, well mixed and reproducible.
 */
class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: string) {
    let h1 = 1779033703;
    let h2 = 3144134277;
    let h3 = 1013904242;
    let h4 = 2773480762;
    for (let i = 0; i < seed.length; i++) {
      const k = seed.charCodeAt(i);
      h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
      h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
      h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
      h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
    }
    h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
    h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
    h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
    h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
    this.s0 = (h1 ^ h2 ^ h3 ^ h4) >>> 0;
    this.s1 = (h2 ^ h1) >>> 0;
    this.s2 = (h3 ^ h1) >>> 0;
    this.s3 = (h4 ^ h1) >>> 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** Uniform u32. */
  next(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in (0, 1). */
  uniform(): number {
    return (this.next() + 0.5) / 4294967296;
  }

  /** Standard normal (Box–Muller, both values used). */
  gaussian(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const a = TWO_PI * this.uniform();
    this.spare = r * Math.sin(a);
    this.hasSpare = true;
    return r * Math.cos(a);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
