/**
 * How a stored reading leaves the API (issue 5 §5 clinical reads): exact decimal strings (no
 * binary floating point on the way, src/core/readings.ts §8.5), the 11073 code with its name, and
 * the UCUM unit.
 */
import { floatToDecimalString, NOMENCLATURE, type ReadingRecord } from '../../src/core/readings.js';
import type { StoredObservation } from './observations.js';

export interface ReadingView {
  readonly deviceId: string;
  readonly seq: number;
  readonly time: string;
  readonly code: number;
  readonly name: string;
  readonly unit: string;
  readonly flags: number;
  readonly provenance: string;
  readonly value: string | null;
  readonly components: { code: number; name: string; value: string }[] | null;
  readonly waveform: { intervalUs: number; scale: string; samples: number[] } | null;
}

export const termName = (code: number): string => {
  const t = NOMENCLATURE.get(code);
  return t?.type === 'measurement' ? t.label : `MDC code ${code}`;
};

export const ucumOf = (unitCode: number): string => {
  const t = NOMENCLATURE.get(unitCode);
  return t?.type === 'unit' ? t.ucum : '1';
};

export function readingView(o: StoredObservation): ReadingView {
  const r: ReadingRecord = o.record;
  const base = { deviceId: o.deviceId, seq: r.seq, time: new Date(r.timeMs).toISOString(), code: r.code, name: termName(r.code), unit: ucumOf(r.unit), flags: r.flags, provenance: o.provenance };
  switch (r.value.kind) {
    case 1:
      return { ...base, value: floatToDecimalString(r.value.value), components: null, waveform: null };
    case 2:
      return { ...base, value: null, components: r.value.components.map((c) => ({ code: c.code, name: termName(c.code), value: floatToDecimalString(c.value) })), waveform: null };
    case 3:
      return { ...base, value: null, components: null, waveform: { intervalUs: r.value.intervalUs, scale: floatToDecimalString(r.value.scale), samples: Array.from(r.value.samples) } };
  }
}
