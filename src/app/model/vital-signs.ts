/**
 * What the screens know about each vital sign (docs/protocol.md §8.2 codes): a display name, the
 * unit as people write it, and the adult alert limits the live view starts with.
 *
 * The limits are conservative adult defaults close to the NEWS2 "escalate" bands (Royal College
 * of Physicians, 2017): outside them a nurse should look now. They are defaults, not a diagnosis;
 * a clinician sets the real ones for a patient.
 */
import { MDC } from '../../core/readings.js';

export interface VitalSign {
  readonly code: number;
  /** Short name for a tile ("Heart rate"). */
  readonly name: string;
  /** The unit as shown next to the number ("bpm", "°C"). */
  readonly unit: string;
  /** Order on the screen. */
  readonly order: number;
  /** Out of range below `low` or above `high` (inclusive limits are still in range). */
  readonly low?: number;
  readonly high?: number;
}

export const VITAL_SIGNS: ReadonlyMap<number, VitalSign> = new Map(
  (
    [
      { code: MDC.ECG_HEART_RATE, name: 'Heart rate', unit: 'bpm', order: 1, low: 50, high: 120 },
      { code: MDC.PULS_OXIM_SAT_O2, name: 'SpO₂', unit: '%', order: 2, low: 92 },
      { code: MDC.RESP_RATE, name: 'Breathing rate', unit: 'breaths/min', order: 3, low: 10, high: 24 },
      { code: MDC.TEMP_BODY, name: 'Temperature', unit: '°C', order: 4, low: 35.5, high: 38.0 },
      // Blood pressure: the limits apply to the systolic value (the first number).
      { code: MDC.PRESS_BLD_NONINV, name: 'Blood pressure', unit: 'mmHg', order: 5, low: 90, high: 180 },
    ] satisfies VitalSign[]
  ).map((v) => [v.code, v]),
);

export const ECG_CODE = MDC.ECG_ELEC_POTL_II;

/** The number a chart and the alert limits use: the value itself, or the systolic of "118/76". */
export function primaryNumber(value: string): number | undefined {
  const first = value.split('/')[0];
  if (first === undefined || !/^-?\d+(\.\d+)?$/.test(first)) return undefined;
  return Number(first);
}

export type AlertLevel = 'normal' | 'low' | 'high';

/** Whether a value is outside the adult defaults of its vital sign. */
export function alertLevel(code: number, value: string): AlertLevel {
  const sign = VITAL_SIGNS.get(code);
  const n = primaryNumber(value);
  if (sign === undefined || n === undefined) return 'normal';
  if (sign.low !== undefined && n < sign.low) return 'low';
  if (sign.high !== undefined && n > sign.high) return 'high';
  return 'normal';
}

/** Plain words for an alert on a tile. */
export function alertText(code: number, level: AlertLevel): string {
  const sign = VITAL_SIGNS.get(code);
  if (sign === undefined || level === 'normal') return '';
  return level === 'low' ? `Low — below ${sign.low} ${sign.unit}` : `High — above ${sign.high} ${sign.unit}`;
}
