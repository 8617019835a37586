import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeRecordBytes,
  encodeRecordBytes,
  floatToNumber,
  NOMENCLATURE,
  RecordFlags,
  type ReadingRecord,
} from '../../src/core/readings.js';
import { DEFAULT_RATES, ECG_SCALE, PATIENT_PROFILES, VitalsSimulator, type Measurement, type VitalsOptions } from '../../sensor/vitals.js';

// The §8.2 table, written out from docs/protocol.md (not from the code under test).
const HR = 147842;
const SPO2 = 150456;
const RESP = 151562;
const TEMP = 150364;
const NIBP = 150020;
const NIBP_SYS = 150021;
const NIBP_DIA = 150022;
const NIBP_MEAN = 150023;
const ECG = 131330;
const UNIT_OF: ReadonlyMap<number, number> = new Map([
  [HR, 264864],
  [SPO2, 262688],
  [RESP, 264928],
  [TEMP, 268192],
  [NIBP, 266016],
  [ECG, 266418],
]);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 6 January 2025, 00:00 UTC. */
const START = Date.UTC(2025, 0, 6);
const NO_ECG = { ecgHz: 0 } as const;

function simulate(options: Partial<VitalsOptions> & { readonly hours: number }): Measurement[] {
  const { hours, ...rest } = options;
  const sim = new VitalsSimulator({ seed: 'test', startMs: START, ...rest });
  const out: Measurement[] = [];
  // Hour by hour, as a sensor would, and to keep single arrays small.
  for (let h = 1; h <= hours; h++) for (const r of sim.advance(START + h * HOUR)) out.push(r);
  return out;
}

function numericValue(r: Measurement): number {
  if (r.value.kind !== 1) throw new Error('not numeric');
  return floatToNumber(r.value.value);
}

function series(records: readonly Measurement[], code: number, { skipQuestionable = false } = {}): { t: number[]; v: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  for (const r of records) {
    if (r.code !== code || (skipQuestionable && r.flags !== 0)) continue;
    t.push(r.timeMs);
    v.push(numericValue(r));
  }
  return { t, v };
}

function bloodPressures(records: readonly Measurement[]): { timeMs: number; flags: number; sys: number; dia: number; mean: number }[] {
  return records
    .filter((r) => r.code === NIBP)
    .map((r) => {
      if (r.value.kind !== 2) throw new Error('NIBP is not compound');
      const [sys, dia, mean] = r.value.components.map((c) => floatToNumber(c.value));
      return { timeMs: r.timeMs, flags: r.flags, sys: sys as number, dia: dia as number, mean: mean as number };
    });
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

function std(xs: readonly number[]): number {
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return Math.sqrt(s / xs.length);
}

function correlation(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = (a[i] as number) - ma;
    const db = (b[i] as number) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** ECG samples (mV) with their times (ms), across consecutive waveform records. */
function ecgSamples(records: readonly Measurement[]): { t: Float64Array; mv: Float64Array; questionable: Uint8Array } {
  const waves = records.filter((r) => r.code === ECG);
  let n = 0;
  for (const r of waves) if (r.value.kind === 3) n += r.value.samples.length;
  const t = new Float64Array(n);
  const mv = new Float64Array(n);
  const questionable = new Uint8Array(n);
  let k = 0;
  for (const r of waves) {
    if (r.value.kind !== 3) throw new Error('ECG is not a waveform');
    const { samples, intervalUs } = r.value;
    const scale = floatToNumber(r.value.scale);
    for (let i = 0; i < samples.length; i++, k++) {
      t[k] = r.timeMs + (i * intervalUs) / 1000;
      mv[k] = (samples[i] as number) * scale;
      questionable[k] = r.flags & RecordFlags.Questionable;
    }
  }
  return { t, mv, questionable };
}

/** R peaks: a rising crossing of 0.65 mV, the maximum within 60 ms after it, 250 ms refractory. */
function rPeaks(t: Float64Array, mv: Float64Array): number[] {
  const peaks: number[] = [];
  let last = -Infinity;
  for (let i = 1; i < mv.length; i++) {
    if ((mv[i - 1] as number) < 0.65 && (mv[i] as number) >= 0.65 && (t[i] as number) - last > 250) {
      let best = i;
      for (let j = i; j < mv.length && (t[j] as number) - (t[i] as number) <= 60; j++) if ((mv[j] as number) > (mv[best] as number)) best = j;
      last = t[best] as number;
      peaks.push(last);
    }
  }
  return peaks;
}

describe('VitalsSimulator', () => {
  it('is deterministic per seed, and chunking advance() does not change the records', () => {
    const a = new VitalsSimulator({ seed: 42, startMs: START }).advance(START + 10 * 60_000);
    const b = new VitalsSimulator({ seed: 42, startMs: START }).advance(START + 10 * 60_000);
    expect(a.length).toBeGreaterThan(1000);
    expect(b).toEqual(a);
    // A number seeds like its decimal string.
    expect(new VitalsSimulator({ seed: '42', startMs: START }).advance(START + 10 * 60_000)).toEqual(a);

    const other = new VitalsSimulator({ seed: 43, startMs: START }).advance(START + 10 * 60_000);
    expect(series(other, HR).v).not.toEqual(series(a, HR).v);

    // Irregular steps, including sub-second ones, one exactly on a second, and a no-op.
    const chunked = new VitalsSimulator({ seed: 42, startMs: START });
    const pieces: Measurement[] = [];
    let t = START;
    let step = 1;
    while (t < START + 10 * 60_000) {
      t = Math.min(START + 10 * 60_000, t + step);
      for (const r of chunked.advance(t)) pieces.push(r);
      expect(chunked.advance(t - 1)).toEqual([]);
      step = (step * 7 + 333) % 4001;
    }
    expect(pieces).toEqual(a);
  });

  it.each([
    ['default rates', {}],
    ['ECG records not aligned to readings', { heartRateMs: 250, respiratoryRateMs: 700, temperatureMs: 1300, ecgHz: 500, ecgSamplesPerRecord: 300 }],
    ['ECG records longer than a second', { spo2Ms: 333, ecgHz: 250, ecgSamplesPerRecord: 1000 }],
  ])('gives the same time-ordered records however advance() is chunked (%s)', (_, rates) => {
    const end = START + 5 * 60_000;
    const whole = new VitalsSimulator({ seed: 'chunks', startMs: START, rates }).advance(end);
    for (const steps of [[1000], [1, 999], [137, 2500, 1, 4001], [3001]]) {
      const sim = new VitalsSimulator({ seed: 'chunks', startMs: START, rates });
      const pieces: Measurement[] = [];
      for (let t = START, i = 0; t < end; i++) {
        t = Math.min(end, t + (steps[i % steps.length] as number));
        for (const r of sim.advance(t)) {
          expect(r.timeMs).toBeGreaterThanOrEqual(pieces.at(-1)?.timeMs ?? START);
          pieces.push(r);
        }
      }
      expect(pieces).toEqual(whole);
    }
  });

  it('returns records in time order across calls, holding readings back until the ECG record covering them completes', () => {
    const sim = new VitalsSimulator({ seed: 'order', startMs: START, rates: { heartRateMs: 250 } });
    // Readings at the first ECG sample's time come first; the ones after it wait for the record.
    expect(sim.advance(START + 600).map((r) => [r.timeMs, r.code])).toEqual([
      [START, HR],
      [START, SPO2],
      [START, RESP],
      [START, TEMP],
      [START, NIBP],
    ]);
    expect(sim.advance(START + 1000).map((r) => [r.timeMs, r.code])).toEqual([
      [START, ECG],
      [START + 250, HR],
      [START + 500, HR],
      [START + 750, HR],
    ]);
    expect(sim.advance(START + 1001).map((r) => [r.timeMs, r.code])).toEqual([
      [START + 1000, HR],
      [START + 1000, SPO2],
    ]);
    let last = START;
    for (let t = START + 1000; t < START + HOUR; t += 777) {
      for (const r of sim.advance(t)) {
        expect(r.timeMs).toBeGreaterThanOrEqual(last);
        last = r.timeMs;
      }
    }
    expect(sim.timeMs).toBeGreaterThan(START + HOUR - 777);

    // Without ECG nothing is held back.
    const plain = new VitalsSimulator({ seed: 'order', startMs: START, rates: NO_ECG });
    expect(plain.advance(START + 1).map((r) => r.code)).toEqual([HR, SPO2, RESP, TEMP, NIBP]);
    expect(plain.advance(START + 1000)).toEqual([]);
    expect(plain.advance(START + 1001).map((r) => r.code)).toEqual([HR, SPO2]);
  });

  it('honours the default rates over an hour', () => {
    const records = simulate({ hours: 1 });
    const count = (code: number): number => records.filter((r) => r.code === code).length;
    const expected: [number, number][] = [
      [HR, HOUR / DEFAULT_RATES.heartRateMs],
      [SPO2, HOUR / DEFAULT_RATES.spo2Ms],
      [RESP, HOUR / DEFAULT_RATES.respiratoryRateMs],
      [TEMP, HOUR / DEFAULT_RATES.temperatureMs],
      [NIBP, HOUR / DEFAULT_RATES.bloodPressureMs],
      [ECG, (HOUR / 1000) * (DEFAULT_RATES.ecgHz / DEFAULT_RATES.ecgSamplesPerRecord)],
    ];
    expect(expected.map(([, n]) => n)).toEqual([3600, 3600, 720, 60, 4, 3600]);
    for (const [code, n] of expected) expect(Math.abs(count(code) - n)).toBeLessThanOrEqual(1);
  });

  it('honours configured rates, and disables a measurement at 0', () => {
    const records = simulate({
      hours: 1,
      rates: { heartRateMs: 500, spo2Ms: 0, respiratoryRateMs: 1000, temperatureMs: 30_000, bloodPressureMs: 300_000, ecgHz: 500, ecgSamplesPerRecord: 100 },
    });
    const count = (code: number): number => records.filter((r) => r.code === code).length;
    expect(count(HR)).toBe(7200);
    expect(count(SPO2)).toBe(0);
    expect(count(RESP)).toBe(3600);
    expect(count(TEMP)).toBe(120);
    expect(count(NIBP)).toBe(12);
    const ecg = records.filter((r) => r.code === ECG);
    expect(ecg.length).toBe(18_000);
    for (const r of ecg.slice(0, 20)) {
      expect(r.value.kind === 3 && r.value.intervalUs).toBe(2000);
      expect(r.value.kind === 3 && r.value.samples.length).toBe(100);
    }
    expect(ecg[1]?.timeMs).toBe(START + 200);

    expect(simulate({ hours: 1, rates: NO_ECG }).some((r) => r.code === ECG)).toBe(false);
  });

  it('rejects invalid options', () => {
    const make = (o: Partial<VitalsOptions>) => () => new VitalsSimulator({ seed: 1, startMs: START, ...o });
    expect(make({ rates: { heartRateMs: -1 } })).toThrow(RangeError);
    expect(make({ rates: { temperatureMs: 1.5 } })).toThrow(RangeError);
    expect(make({ rates: { ecgHz: 360 } })).toThrow(RangeError); // 2777.7… µs
    expect(make({ rates: { ecgSamplesPerRecord: 1001 } })).toThrow(RangeError);
    expect(make({ startMs: -1 })).toThrow(RangeError);
    expect(make({ desaturationsPerHour: -1 })).toThrow(RangeError);
    expect(() => new VitalsSimulator({ seed: 1, startMs: START }).advance(Number.NaN)).toThrow(RangeError);
  });

  it('uses the §8.2 codes and units, value kinds and exact FLOATs, and encodes per §8.2', () => {
    const records = simulate({ hours: 1 });
    for (const r of records) {
      expect(UNIT_OF.get(r.code)).toBe(r.unit);
      const term = NOMENCLATURE.get(r.code);
      expect(term?.type === 'measurement' && term.unit).toBe(r.unit);
      expect(r.flags & ~RecordFlags.Questionable).toBe(0);
      switch (r.code) {
        case HR:
        case SPO2:
        case RESP:
        case TEMP: {
          expect(r.value.kind).toBe(1);
          if (r.value.kind !== 1 || typeof r.value.value === 'string') throw new Error('not a finite numeric');
          expect(Number.isInteger(r.value.value.mantissa)).toBe(true);
          expect(r.value.value.exponent).toBe(r.code === TEMP ? -1 : 0);
          break;
        }
        case NIBP: {
          if (r.value.kind !== 2) throw new Error('NIBP is not compound');
          expect(r.value.components.map((c) => c.code)).toEqual([NIBP_SYS, NIBP_DIA, NIBP_MEAN]);
          for (const c of r.value.components) expect(c.value).toEqual({ mantissa: expect.any(Number), exponent: 0 });
          break;
        }
        case ECG: {
          if (r.value.kind !== 3) throw new Error('ECG is not a waveform');
          expect(r.value.intervalUs).toBe(4000);
          expect(r.value.scale).toEqual({ mantissa: 5, exponent: -3 });
          expect(r.value.scale).toEqual(ECG_SCALE);
          expect(r.value.samples).toBeInstanceOf(Int16Array);
          expect(r.value.samples.length).toBe(250);
          break;
        }
        default:
          throw new Error(`unexpected code ${r.code}`);
      }
    }
    // Every record encodes (seq assigned as the record store would) and decodes to itself.
    records.slice(0, 2000).forEach((m, i) => {
      const record: ReadingRecord = { ...m, seq: i + 1 };
      expect(decodeRecordBytes(encodeRecordBytes(record))).toEqual(record);
    });
  });

  describe.each(PATIENT_PROFILES)('over 24 h, profile %s', (profile) => {
    let records: Measurement[] = [];
    beforeAll(() => {
      records = simulate({ hours: 24, profile, rates: NO_ECG });
    });

    it('keeps every value within physiological bounds', () => {
      const bounds: [number, number, number][] = [
        [HR, 40, 180],
        [SPO2, 70, 100],
        [RESP, 6, 40],
        [TEMP, 35, 41],
      ];
      for (const [code, lo, hi] of bounds) {
        const { v } = series(records, code);
        expect(v.length).toBeGreaterThan(0);
        expect(Math.min(...v)).toBeGreaterThanOrEqual(lo);
        expect(Math.max(...v)).toBeLessThanOrEqual(hi);
      }
      const bp = bloodPressures(records);
      expect(bp.length).toBe(96);
      for (const { sys, dia, mean: map } of bp) {
        expect(sys).toBeGreaterThan(dia);
        expect(map).toBeGreaterThan(dia);
        expect(map).toBeLessThan(sys);
        expect(sys).toBeLessThanOrEqual(230);
        expect(dia).toBeGreaterThanOrEqual(35);
      }
    });

    it('is not uniform noise: HR is autocorrelated, varies plausibly, and is not constant', () => {
      const { v } = series(records, HR);
      expect(correlation(v.slice(0, -1), v.slice(1))).toBeGreaterThan(0.8);
      const sd = std(v);
      expect(sd).toBeGreaterThan(2);
      expect(sd).toBeLessThan(15);
      // Beat-to-beat variability: consecutive readings usually differ.
      let changes = 0;
      for (let i = 1; i < v.length; i++) if (v[i] !== v[i - 1]) changes++;
      expect(changes / (v.length - 1)).toBeGreaterThan(0.5);
      // A uniform-noise series would have lag-1 autocorrelation ≈ 0; so would SpO2.
      const spo2 = series(records, SPO2, { skipQuestionable: true }).v;
      expect(correlation(spo2.slice(0, -1), spo2.slice(1))).toBeGreaterThan(0.5);
    });

    it('correlates blood pressure with heart rate', () => {
      const hrAt = new Map(records.filter((r) => r.code === HR).map((r) => [r.timeMs, numericValue(r)]));
      const bp = bloodPressures(records).filter((b) => b.flags === 0);
      const sys = bp.map((b) => b.sys);
      const hr = bp.map((b) => hrAt.get(b.timeMs) as number);
      expect(correlation(sys, hr)).toBeGreaterThan(0.3);
    });

    it('marks some readings questionable (motion artefacts), and only with bit 0', () => {
      const flagged = records.filter((r) => r.flags !== 0);
      expect(flagged.length).toBeGreaterThan(0);
      expect(flagged.length).toBeLessThan(records.length * 0.05);
      for (const r of flagged) expect(r.flags).toBe(RecordFlags.Questionable);
    });
  });

  it('profiles differ as described: febrile is hotter and faster, desaturating sits at ~89–93 %', () => {
    const resting = simulate({ hours: 24, rates: NO_ECG });
    const febrile = simulate({ hours: 24, profile: 'adult-febrile', rates: NO_ECG });
    const copd = simulate({ hours: 24, profile: 'desaturating', rates: NO_ECG });
    const tRest = mean(series(resting, TEMP).v);
    const tFever = mean(series(febrile, TEMP).v);
    expect(tRest).toBeGreaterThan(36.3);
    expect(tRest).toBeLessThan(37.3);
    expect(tFever).toBeGreaterThan(38.2);
    expect(tFever).toBeLessThan(39.0);
    expect(tFever).toBeGreaterThan(tRest + 1);
    expect(mean(series(febrile, HR).v)).toBeGreaterThan(mean(series(resting, HR).v) + 10);
    const spo2Rest = series(resting, SPO2, { skipQuestionable: true }).v;
    const spo2Copd = series(copd, SPO2, { skipQuestionable: true }).v;
    expect(mean(spo2Rest)).toBeGreaterThanOrEqual(97);
    expect(mean(spo2Rest)).toBeLessThanOrEqual(99);
    expect(mean(spo2Copd)).toBeGreaterThanOrEqual(89);
    expect(mean(spo2Copd)).toBeLessThanOrEqual(93);
  });

  it('has a circadian temperature rhythm: warmer in the afternoon than before dawn', () => {
    const { t, v } = series(simulate({ hours: 72, rates: NO_ECG }), TEMP);
    const at = (fromHour: number, toHour: number): number =>
      mean(v.filter((_, i) => {
        const hour = new Date(t[i] as number).getUTCHours();
        return hour >= fromHour && hour < toHour;
      }));
    expect(at(14, 19)).toBeGreaterThan(at(2, 7) + 0.2);
  });

  it('has desaturation episodes that the heart rate responds to', () => {
    const records = simulate({ hours: 24, desaturationsPerHour: 4, artefactsPerHour: 0, rates: NO_ECG });
    const spo2 = series(records, SPO2);
    const hrAt = new Map(records.filter((r) => r.code === HR).map((r) => [r.timeMs, numericValue(r)]));
    const hr = spo2.t.map((t) => hrAt.get(t) as number);
    // Resting baseline is 97–99 %: ≤ 94 % only happens in an episode.
    const deep = hr.filter((_, i) => (spo2.v[i] as number) <= 94);
    expect(deep.length).toBeGreaterThan(200);
    expect(mean(deep)).toBeGreaterThan(mean(hr) + 2);
    // Episodes are brief: a small fraction of the day.
    expect(deep.length).toBeLessThan(spo2.v.length * 0.1);
    // And with no episodes, no dips.
    const calm = simulate({ hours: 6, desaturationsPerHour: 0, artefactsPerHour: 0, rates: NO_ECG });
    expect(Math.min(...series(calm, SPO2).v)).toBeGreaterThanOrEqual(95);
    expect(calm.every((r) => r.flags === 0)).toBe(true);
  });

  describe('ECG', () => {
    it.each(PATIENT_PROFILES)('shows R peaks at the reported heart rate (±10 %), profile %s', (profile) => {
      const records = simulate({ hours: 1, profile });
      const { t, mv, questionable } = ecgSamples(records);
      expect(t.length).toBe(3600 * 250);
      let maxAbs = 0;
      for (const x of mv) maxAbs = Math.max(maxAbs, Math.abs(x));
      expect(maxAbs).toBeLessThan(5);
      const peaks = rPeaks(t, mv);
      const hr = series(records, HR);
      const badSeconds = new Set<number>();
      for (let i = 0; i < t.length; i += 250) if (questionable[i]) badSeconds.add(Math.floor(((t[i] as number) - START) / 1000));
      let windows = 0;
      for (let w = 0; w < 3600; w += 60) {
        let clean = true;
        for (let s = w - 1; s <= w + 60; s++) if (badSeconds.has(s)) clean = false;
        if (!clean) continue;
        const from = START + w * 1000;
        const to = from + 60_000;
        const inWindow = peaks.filter((p) => p >= from && p < to);
        const measured = (60_000 * (inWindow.length - 1)) / ((inWindow.at(-1) as number) - (inWindow[0] as number));
        const reported = mean(hr.v.filter((_, i) => (hr.t[i] as number) >= from && (hr.t[i] as number) < to));
        expect(Math.abs(measured - reported) / reported).toBeLessThan(0.1);
        windows++;
      }
      expect(windows).toBeGreaterThan(40);
    });

    it('couples heart rate to breathing (respiratory sinus arrhythmia)', () => {
      const records = simulate({ hours: 1, artefactsPerHour: 0, desaturationsPerHour: 0 });
      const { t, mv } = ecgSamples(records);
      const peaks = rPeaks(t, mv);
      // Per beat: the instantaneous HR, and the mean ECG level over the beat, which follows the
      // breathing-induced baseline wander. Differences remove the slow drifts of both.
      const beatHr: number[] = [];
      const beatLevel: number[] = [];
      let k = 0;
      for (let j = 1; j < peaks.length; j++) {
        const a = peaks[j - 1] as number;
        const b = peaks[j] as number;
        while (k < t.length && (t[k] as number) < a) k++;
        let sum = 0;
        let n = 0;
        for (let i = k; i < t.length && (t[i] as number) < b; i++, n++) sum += mv[i] as number;
        beatHr.push(60_000 / (b - a));
        beatLevel.push(sum / n);
      }
      const dHr = beatHr.slice(1).map((x, i) => x - (beatHr[i] as number));
      const dLevel = beatLevel.slice(1).map((x, i) => x - (beatLevel[i] as number));
      expect(correlation(dHr, dLevel)).toBeGreaterThan(0.4);
      // And there is beat-to-beat variability at all.
      expect(std(beatHr)).toBeGreaterThan(1);
    });
  });

  it('handles a simulated week in one call, in O(records)', () => {
    const sim = new VitalsSimulator({ seed: 'week', startMs: START, rates: { ...NO_ECG, respiratoryRateMs: 1000 } });
    const t0 = performance.now();
    const records = sim.advance(START + 7 * DAY);
    const seconds = (performance.now() - t0) / 1000;
    expect(records.length).toBe(7 * 86_400 * 3 + 7 * 1440 + 7 * 96);
    expect((records.at(-1) as Measurement).timeMs).toBe(START + 7 * DAY - 1000);
    // Generous: well over 1 M records/s on a workstation; this only catches accidental O(n²).
    expect(records.length / seconds).toBeGreaterThan(50_000);
  });
});
