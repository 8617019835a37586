/**
 * History export as CSV (RFC 4180): one row per reading, values exactly as measured (the decimal
 * text of docs/protocol.md §8.5), units in UCUM as in the FHIR export, times in UTC ISO 8601.
 * Waveform records are summarised (sample count), not expanded: the FHIR export carries them.
 */
import { NOMENCLATURE } from '../../core/readings.js';
import type { ReadingView } from '../../../workers/vault/pipeline.js';

/** The fields of the worker's reading view-model that a CSV row holds. */
export type CsvReading = Pick<ReadingView, 'sensor' | 'seq' | 'timeMs' | 'code' | 'label' | 'unit' | 'value' | 'questionable'>;

export const CSV_HEADER = ['time_utc', 'sensor', 'sensor_name', 'seq', 'measurement', 'mdc_code', 'value', 'unit_ucum', 'questionable'] as const;

/** Quotes a field when it holds a comma, quote or line break; doubles quotes (RFC 4180 §2). */
export function csvField(text: string): string {
  // A leading =, +, - or @ would make a spreadsheet run it as a formula: prefix a quote.
  const safe = /^[=+\-@\t\r]/.test(text) && !/^-?\d/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(readings: readonly CsvReading[], sensorName: (sensor: string) => string): string {
  const rows = [CSV_HEADER.join(',')];
  for (const r of readings) {
    const unitCode = NOMENCLATURE.get(r.code);
    const ucum = r.unit !== '' ? r.unit : unitCode?.type === 'unit' ? unitCode.ucum : '';
    rows.push(
      [new Date(r.timeMs).toISOString(), r.sensor, sensorName(r.sensor), String(r.seq), r.label, String(r.code), r.value, ucum, r.questionable ? 'yes' : 'no']
        .map(csvField)
        .join(','),
    );
  }
  return rows.join('\r\n') + '\r\n';
}
