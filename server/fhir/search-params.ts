/**
 * Parsers of FHIR R4 search parameters for Observation (issue 5 §8; FHIR R4 §3.1.1 "Search"):
 * `patient` (a reference), `code` (tokens, comma = OR), `date` (prefixed dates, repeated = AND),
 * `_count`, `_offset`. Each returns a typed value or throws `SearchParamError` with a plain
 * message; none builds SQL.
 */
import { MDC_SYSTEM, LOINC_SYSTEM } from '../../src/core/fhir.js';

export class SearchParamError extends Error {
  override readonly name = 'SearchParamError';
}

const PATIENT_ID = /^[a-z0-9-]{3,64}$/;

/** `Patient/p-…` or `p-…` → the patient id. */
export function parsePatientReference(value: string): string {
  const id = value.startsWith('Patient/') ? value.slice('Patient/'.length) : value;
  if (!PATIENT_ID.test(id)) throw new SearchParamError('patient must be a Patient reference such as Patient/p-1234');
  return id;
}

export interface CodeToken {
  readonly system: string | undefined;
  readonly code: string;
}

/** `system|code`, `|code` (no system) or `code`; comma-separated alternatives. */
export function parseCodeTokens(value: string): CodeToken[] {
  const parts = value.split(',');
  if (parts.length > 20) throw new SearchParamError('code lists at most 20 alternatives');
  return parts.map((part) => {
    const bar = part.indexOf('|');
    const system = bar === -1 ? undefined : part.slice(0, bar);
    const code = bar === -1 ? part : part.slice(bar + 1);
    if (!/^[A-Za-z0-9.-]{1,32}$/.test(code)) throw new SearchParamError('code must be a LOINC or IEEE 11073 code, optionally prefixed with its system and |');
    if (system !== undefined && system !== '' && system !== LOINC_SYSTEM && system !== MDC_SYSTEM) throw new SearchParamError(`code system must be ${LOINC_SYSTEM} or ${MDC_SYSTEM}`);
    return { system: system === '' ? undefined : system, code };
  });
}

export interface DateBound {
  readonly from?: Date;
  readonly to?: Date;
}

const DATE = /^(eq|ge|le|gt|lt)?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/**
 * One `date` value → the range it admits. Precision matters as FHIR says: `ge2024-05` means from
 * the first instant of May; `le2024-05` up to the last instant of May; `eq` (or no prefix) both.
 */
export function parseDateParam(value: string): DateBound {
  const m = DATE.exec(value);
  if (m === null) throw new SearchParamError('date must look like ge2024-05-01 or le2024-05-01T12:00:00Z');
  const [, prefix = 'eq', y, mo, d, h, mi, s, frac, zone] = m;
  if (h !== undefined && zone === undefined) throw new SearchParamError('a date with a time needs a time zone (Z or ±hh:mm)');
  const month = Number(mo ?? '01');
  const day = Number(d ?? '01');
  const monthEnd = new Date(0);
  monthEnd.setUTCFullYear(Number(y), month, 0);
  const daysInMonth = monthEnd.getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || Number(h ?? 0) > 23 || Number(mi ?? 0) > 59 || Number(s ?? 0) > 59) {
    throw new SearchParamError('date is not a valid calendar date');
  }
  if (zone !== undefined && zone !== 'Z' && (Number(zone.slice(1, 3)) > 14 || Number(zone.slice(4, 6)) > 59)) throw new SearchParamError('date has an invalid time zone offset');
  const start = new Date(`${y}-${mo ?? '01'}-${d ?? '01'}T${h ?? '00'}:${mi ?? '00'}:${s ?? '00'}${frac ?? ''}${zone ?? 'Z'}`);
  if (Number.isNaN(start.getTime())) throw new SearchParamError('date is not a valid calendar date');
  const end = new Date(start);
  if (mo === undefined) end.setUTCFullYear(end.getUTCFullYear() + 1);
  else if (d === undefined) end.setUTCMonth(end.getUTCMonth() + 1);
  else if (h === undefined) end.setUTCDate(end.getUTCDate() + 1);
  else if (s === undefined) end.setTime(end.getTime() + 60_000);
  else if (frac === undefined) end.setTime(end.getTime() + 1000);
  else end.setTime(end.getTime() + 1);
  const last = new Date(end.getTime() - 1);
  switch (prefix) {
    case 'ge':
      return { from: start };
    case 'gt':
      return { from: end };
    case 'le':
      return { to: last };
    case 'lt':
      return { to: new Date(start.getTime() - 1) };
    default:
      return { from: start, to: last };
  }
}

/** Several `date` values (AND) → one range, the intersection. */
export function intersectDates(values: readonly string[]): DateBound {
  let from: Date | undefined;
  let to: Date | undefined;
  for (const v of values) {
    const b = parseDateParam(v);
    if (b.from !== undefined && (from === undefined || b.from > from)) from = b.from;
    if (b.to !== undefined && (to === undefined || b.to < to)) to = b.to;
  }
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}
