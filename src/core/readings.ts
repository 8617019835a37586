/**
 * Reading records and the IEEE 11073-20601 FLOAT type (docs/protocol.md §8.2, §8.5).
 *
 * A record is what the sensor measured, as it measured it: values travel as decimal FLOATs
 * (mantissa × 10^exponent) and are never converted through binary floating point on the way, so
 * 36.6 °C stays mantissa 366, exponent −1 from the sensor to the screen. `floatToNumber` exists
 * for charts; display uses `floatToDecimalString`.
 *
 * Codes are IEEE 11073-10101 nomenclature (partition × 65536 + term); `NOMENCLATURE` names the
 * ones the reference sensor uses, with UCUM unit strings for export.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { DecodeError } from './errors.js';

// ── FLOAT (§8.5) ────────────────────────────────────────────────────────────────────────────────

/**
 * Largest finite mantissa magnitude, 2^23 − 3. The five 24-bit values beyond it
 * (±(2^23 − 2), 2^23 − 1, −2^23, −(2^23 − 1)) are the special values of §8.5.
 */
export const FLOAT_MANTISSA_MAX = 0x7ffffd;
export const FLOAT_EXPONENT_MIN = -128;
export const FLOAT_EXPONENT_MAX = 127;

/** The u32 encodings of the special values (§8.5; exponent 0). */
export const FloatSpecialCode = {
  NaN: 0x007fffff,
  NRes: 0x00800000,
  PositiveInfinity: 0x007ffffe,
  NegativeInfinity: 0x00800002,
  /** Reserved for future use: refused by the decoder and never produced. */
  Reserved: 0x00800001,
} as const;

/** NaN = not a number, NRes = not at this resolution (the value does not fit the FLOAT). */
export type FloatSpecial = 'NaN' | 'NRes' | '+INFINITY' | '-INFINITY';

export interface FiniteFloat {
  /** −8 388 605 … 8 388 605 */
  readonly mantissa: number;
  /** −128 … 127 */
  readonly exponent: number;
}

/** An 11073 FLOAT: a finite decimal or one of the specials. */
export type Float11073 = FiniteFloat | FloatSpecial;

const SPECIAL_TO_CODE: Readonly<Record<FloatSpecial, number>> = {
  NaN: FloatSpecialCode.NaN,
  NRes: FloatSpecialCode.NRes,
  '+INFINITY': FloatSpecialCode.PositiveInfinity,
  '-INFINITY': FloatSpecialCode.NegativeInfinity,
};

export function isFloatSpecial(value: unknown): value is FloatSpecial {
  return value === 'NaN' || value === 'NRes' || value === '+INFINITY' || value === '-INFINITY';
}

function checkFinite(f: FiniteFloat): void {
  const { mantissa, exponent } = f;
  if (!Number.isInteger(mantissa) || mantissa < -FLOAT_MANTISSA_MAX || mantissa > FLOAT_MANTISSA_MAX) {
    throw new RangeError(`FLOAT mantissa out of range: ${mantissa}`);
  }
  if (!Number.isInteger(exponent) || exponent < FLOAT_EXPONENT_MIN || exponent > FLOAT_EXPONENT_MAX) {
    throw new RangeError(`FLOAT exponent out of range: ${exponent}`);
  }
}

/** The u32 of a FLOAT. Throws `RangeError` for a mantissa or exponent out of range. */
export function encodeFloat(value: Float11073): number {
  if (typeof value === 'string') {
    if (!isFloatSpecial(value)) throw new RangeError('not a FLOAT special value');
    return SPECIAL_TO_CODE[value];
  }
  checkFinite(value);
  return (((value.exponent & 0xff) << 24) | (value.mantissa & 0xffffff)) >>> 0;
}

/**
 * Decodes a u32 FLOAT. Refuses (`out-of-range`) the reserved value, and a special-value
 * mantissa with a non-zero exponent, which the standard leaves undefined: a decoder must reject
 * a field out of its range (§1.1) rather than guess.
 */
export function decodeFloat(u32: number): Float11073 {
  if (!Number.isInteger(u32) || u32 < 0 || u32 > 0xffffffff) {
    throw new DecodeError('out-of-range', 'FLOAT is not a u32');
  }
  const exponent = (u32 | 0) >> 24;
  const mantissa = (u32 << 8) >> 8; // sign-extend the low 24 bits
  if (mantissa > FLOAT_MANTISSA_MAX || mantissa < -FLOAT_MANTISSA_MAX) {
    if (exponent === 0) {
      switch (u32) {
        case FloatSpecialCode.NaN:
          return 'NaN';
        case FloatSpecialCode.NRes:
          return 'NRes';
        case FloatSpecialCode.PositiveInfinity:
          return '+INFINITY';
        case FloatSpecialCode.NegativeInfinity:
          return '-INFINITY';
        default:
          break; // the reserved value
      }
    }
    throw new DecodeError('out-of-range', 'FLOAT value is reserved');
  }
  return { mantissa, exponent };
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d{1,9}))?$/;

/**
 * Exact FLOAT for a decimal string such as "36.6", "-0.005", "120.50" or "1.5e3" (and the
 * special names). The digits written are kept (36.60 → 3660 × 10^−2) unless the mantissa would
 * not fit, in which case trailing zeros move into the exponent; a value that cannot be
 * represented exactly throws `RangeError` — never a silently rounded value.
 */
export function floatFromDecimalString(text: string): Float11073 {
  if (isFloatSpecial(text)) return text;
  const match = DECIMAL.exec(text);
  if (match === null) throw new RangeError(`not a decimal number: ${JSON.stringify(text)}`);
  const negative = match[1] === '-';
  const fraction = match[3] ?? '';
  let digits = ((match[2] as string) + fraction).replace(/^0+(?=\d)/, '');
  let exponent = -fraction.length + (match[4] === undefined ? 0 : Number(match[4]));

  if (/^0+$/.test(digits)) {
    // Zero is exact at every exponent: keep the written precision when it fits.
    return { mantissa: 0, exponent: Math.min(FLOAT_EXPONENT_MAX, Math.max(FLOAT_EXPONENT_MIN, exponent)) };
  }
  // Too many digits: only trailing zeros may move into the exponent.
  while (digits.length > 7 || Number(digits) > FLOAT_MANTISSA_MAX) {
    if (!digits.endsWith('0')) throw new RangeError(`not representable exactly as a FLOAT: ${text}`);
    digits = digits.slice(0, -1);
    exponent++;
  }
  let magnitude = Number(digits);
  // Exponent too small: drop trailing zeros of the mantissa; too large: append zeros to it.
  while (exponent < FLOAT_EXPONENT_MIN && magnitude % 10 === 0) {
    magnitude /= 10;
    exponent++;
  }
  while (exponent > FLOAT_EXPONENT_MAX && magnitude * 10 <= FLOAT_MANTISSA_MAX) {
    magnitude *= 10;
    exponent--;
  }
  if (exponent < FLOAT_EXPONENT_MIN || exponent > FLOAT_EXPONENT_MAX) {
    throw new RangeError(`not representable exactly as a FLOAT: ${text}`);
  }
  return { mantissa: negative ? -magnitude : magnitude, exponent };
}

/**
 * Exact decimal text of a FLOAT: "36.6" for 366 × 10^−1, "36.60" for 3660 × 10^−2 (the
 * precision the sensor reported is kept), "500" for 5 × 10^2; special values by name.
 */
export function floatToDecimalString(value: Float11073): string {
  if (typeof value === 'string') return value;
  checkFinite(value);
  const { mantissa, exponent } = value;
  const sign = mantissa < 0 ? '-' : '';
  const digits = Math.abs(mantissa).toString();
  if (exponent >= 0) return mantissa === 0 ? '0' : sign + digits + '0'.repeat(exponent);
  const places = -exponent;
  if (digits.length > places) {
    return `${sign}${digits.slice(0, digits.length - places)}.${digits.slice(digits.length - places)}`;
  }
  return `${sign}0.${'0'.repeat(places - digits.length)}${digits}`;
}

/**
 * The nearest double (for plotting and arithmetic, not display). NaN and NRes give NaN.
 * |exponent| ≤ 22 uses one correctly rounded multiplication or division by an exact power of
 * ten; beyond, the exact decimal string is parsed, which is also correctly rounded.
 */
export function floatToNumber(value: Float11073): number {
  switch (value) {
    case 'NaN':
    case 'NRes':
      return Number.NaN;
    case '+INFINITY':
      return Number.POSITIVE_INFINITY;
    case '-INFINITY':
      return Number.NEGATIVE_INFINITY;
    default: {
      const { mantissa, exponent } = value;
      if (exponent >= 0 && exponent <= 22) return mantissa * 10 ** exponent;
      if (exponent < 0 && exponent >= -22) return mantissa / 10 ** -exponent;
      return Number(floatToDecimalString(value));
    }
  }
}

// ── Nomenclature (§8.2) ─────────────────────────────────────────────────────────────────────────

/** IEEE 11073-10101 codes used by the reference sensor (partition × 65536 + term). */
export const MDC = {
  ECG_HEART_RATE: 147842,
  PULS_OXIM_SAT_O2: 150456,
  RESP_RATE: 151562,
  TEMP_BODY: 150364,
  PRESS_BLD_NONINV: 150020,
  PRESS_BLD_NONINV_SYS: 150021,
  PRESS_BLD_NONINV_DIA: 150022,
  PRESS_BLD_NONINV_MEAN: 150023,
  ECG_ELEC_POTL_II: 131330,
  DIM_BEAT_PER_MIN: 264864,
  DIM_PERCENT: 262688,
  DIM_RESP_PER_MIN: 264928,
  DIM_DEGC: 268192,
  DIM_MMHG: 266016,
  DIM_MILLI_VOLT: 266418,
} as const;

export interface MeasurementTerm {
  readonly type: 'measurement';
  readonly code: number;
  /** Reference id of 11073-10101, e.g. "MDC_TEMP_BODY". */
  readonly reference: string;
  /** Short English label for display. */
  readonly label: string;
  /** Unit code the reference sensor reports it in. */
  readonly unit: number;
}

export interface UnitTerm {
  readonly type: 'unit';
  readonly code: number;
  readonly reference: string;
  /** Symbol for display, e.g. "°C". */
  readonly label: string;
  /** UCUM case-sensitive code, e.g. "Cel" (for FHIR/CSV export). */
  readonly ucum: string;
}

export type NomenclatureTerm = MeasurementTerm | UnitTerm;

const measurement = (code: number, reference: string, label: string, unit: number): MeasurementTerm =>
  Object.freeze({ type: 'measurement', code, reference, label, unit });
const unit = (code: number, reference: string, label: string, ucum: string): UnitTerm =>
  Object.freeze({ type: 'unit', code, reference, label, ucum });

/** Known codes (measurements and units share one code space: partitions 2 and 4). */
export const NOMENCLATURE: ReadonlyMap<number, NomenclatureTerm> = new Map<number, NomenclatureTerm>(
  [
    measurement(MDC.ECG_HEART_RATE, 'MDC_ECG_HEART_RATE', 'Heart rate', MDC.DIM_BEAT_PER_MIN),
    measurement(MDC.PULS_OXIM_SAT_O2, 'MDC_PULS_OXIM_SAT_O2', 'SpO2', MDC.DIM_PERCENT),
    measurement(MDC.RESP_RATE, 'MDC_RESP_RATE', 'Respiratory rate', MDC.DIM_RESP_PER_MIN),
    measurement(MDC.TEMP_BODY, 'MDC_TEMP_BODY', 'Body temperature', MDC.DIM_DEGC),
    measurement(MDC.PRESS_BLD_NONINV, 'MDC_PRESS_BLD_NONINV', 'Blood pressure', MDC.DIM_MMHG),
    measurement(MDC.PRESS_BLD_NONINV_SYS, 'MDC_PRESS_BLD_NONINV_SYS', 'Systolic', MDC.DIM_MMHG),
    measurement(MDC.PRESS_BLD_NONINV_DIA, 'MDC_PRESS_BLD_NONINV_DIA', 'Diastolic', MDC.DIM_MMHG),
    measurement(MDC.PRESS_BLD_NONINV_MEAN, 'MDC_PRESS_BLD_NONINV_MEAN', 'Mean arterial pressure', MDC.DIM_MMHG),
    measurement(MDC.ECG_ELEC_POTL_II, 'MDC_ECG_ELEC_POTL_II', 'ECG lead II', MDC.DIM_MILLI_VOLT),
    unit(MDC.DIM_BEAT_PER_MIN, 'MDC_DIM_BEAT_PER_MIN', 'bpm', '/min'),
    unit(MDC.DIM_PERCENT, 'MDC_DIM_PERCENT', '%', '%'),
    unit(MDC.DIM_RESP_PER_MIN, 'MDC_DIM_RESP_PER_MIN', 'resp/min', '/min'),
    unit(MDC.DIM_DEGC, 'MDC_DIM_DEGC', '°C', 'Cel'),
    unit(MDC.DIM_MMHG, 'MDC_DIM_MMHG', 'mmHg', 'mm[Hg]'),
    unit(MDC.DIM_MILLI_VOLT, 'MDC_DIM_MILLI_VOLT', 'mV', 'mV'),
  ].map((term) => [term.code, term]),
);

// ── Records (§8.2) ──────────────────────────────────────────────────────────────────────────────

export const ValueKind = { Numeric: 1, Compound: 2, Waveform: 3 } as const;

/** Record flag bits (§8.2); the other bits are 0. */
export const RecordFlags = { Questionable: 0x01, ClockNotSet: 0x02 } as const;
export const RECORD_FLAGS_MASK = RecordFlags.Questionable | RecordFlags.ClockNotSet;

export const MAX_COMPOUND_COMPONENTS = 8;
export const MAX_WAVEFORM_SAMPLES = 1000;
export const MAX_SAMPLE_INTERVAL_US = 1_000_000;
/** seq u32 ‖ time u64 ‖ kind u8 ‖ code u32 ‖ unit u32 ‖ flags u8. */
export const RECORD_HEADER_LEN = 22;
const MAX_U32 = 0xffffffff;

export interface NumericValue {
  readonly kind: 1;
  readonly value: Float11073;
}

export interface CompoundComponent {
  readonly code: number;
  readonly value: Float11073;
}

/** E.g. blood pressure: systolic, diastolic, mean. */
export interface CompoundValue {
  readonly kind: 2;
  readonly components: readonly CompoundComponent[];
}

export interface WaveformValue {
  readonly kind: 3;
  /** 1 … 1 000 000 µs between samples. */
  readonly intervalUs: number;
  /** Units per LSB: sample value = sample × scale. */
  readonly scale: Float11073;
  /** 1 … 1000 samples. */
  readonly samples: Int16Array;
}

export interface ReadingRecord {
  /** ≥ 1, +1 per record, never reused. */
  readonly seq: number;
  /** Device time of the measurement, Unix ms (0 … 2^53 − 1). */
  readonly timeMs: number;
  readonly code: number;
  readonly unit: number;
  /** `RecordFlags` bits. */
  readonly flags: number;
  readonly value: NumericValue | CompoundValue | WaveformValue;
}

const TWO_POW_32 = 2 ** 32;
/** High word of Number.MAX_SAFE_INTEGER (2^53 − 1). */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

/**
 * Writes a time in ms (0 … 2^53 − 1) as the u64 of the wire, as two u32 halves: same bytes as
 * `ByteWriter.u64`, without a bigint per record on the hot path.
 */
export function writeTimeMs(writer: ByteWriter, timeMs: number): void {
  if (!Number.isSafeInteger(timeMs) || timeMs < 0) throw new RangeError(`time out of range: ${timeMs}`);
  writer.u32(Math.floor(timeMs / TWO_POW_32)).u32(timeMs >>> 0);
}

/** Reads a u64 time in ms; `out-of-range` beyond 2^53 − 1 (like `ByteReader.u64Number`). */
export function readTimeMs(reader: ByteReader): number {
  const high = reader.u32();
  const low = reader.u32();
  if (high > MAX_SAFE_HIGH_WORD) throw new DecodeError('out-of-range', 'integer too large');
  return high * TWO_POW_32 + low;
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= MAX_U32;
}

/** Encoded size of a record, without encoding it (for packing READINGS messages). */
export function encodedRecordLength(record: ReadingRecord): number {
  const value = record.value;
  switch (value.kind) {
    case ValueKind.Numeric:
      return RECORD_HEADER_LEN + 4;
    case ValueKind.Compound:
      return RECORD_HEADER_LEN + 1 + 8 * value.components.length;
    case ValueKind.Waveform:
      return RECORD_HEADER_LEN + 4 + 4 + 2 + 2 * value.samples.length;
    default:
      throw new RangeError('unknown record value kind');
  }
}

/** Appends the §8.2 encoding; throws `RangeError` (writing nothing) for a field out of range. */
export function encodeRecord(record: ReadingRecord, writer: ByteWriter): void {
  const { seq, timeMs, code, unit: unitCode, flags, value } = record;
  if (!isU32(seq) || seq < 1) throw new RangeError(`record seq out of range: ${seq}`);
  if (!Number.isSafeInteger(timeMs) || timeMs < 0) throw new RangeError(`record time out of range: ${timeMs}`);
  if (!isU32(code) || !isU32(unitCode)) throw new RangeError('record code or unit out of range');
  if (!Number.isInteger(flags) || (flags & ~RECORD_FLAGS_MASK) !== 0 || flags < 0) {
    throw new RangeError(`record flags out of range: ${flags}`);
  }
  // Validate the whole value before writing, so a failure leaves the writer untouched.
  switch (value.kind) {
    case ValueKind.Numeric: {
      const float = encodeFloat(value.value);
      writeHeader(writer, record);
      writer.u32(float);
      return;
    }
    case ValueKind.Compound: {
      const n = value.components.length;
      if (n < 1 || n > MAX_COMPOUND_COMPONENTS) throw new RangeError(`compound must have 1..8 components: ${n}`);
      const floats = value.components.map((c) => {
        if (!isU32(c.code)) throw new RangeError('component code out of range');
        return encodeFloat(c.value);
      });
      writeHeader(writer, record);
      writer.u8(n);
      for (let i = 0; i < n; i++) writer.u32((value.components[i] as CompoundComponent).code).u32(floats[i] as number);
      return;
    }
    case ValueKind.Waveform: {
      const { intervalUs, samples } = value;
      if (!Number.isInteger(intervalUs) || intervalUs < 1 || intervalUs > MAX_SAMPLE_INTERVAL_US) {
        throw new RangeError(`sample interval out of range: ${intervalUs}`);
      }
      if (!(samples instanceof Int16Array) || samples.length < 1 || samples.length > MAX_WAVEFORM_SAMPLES) {
        throw new RangeError('waveform must have 1..1000 int16 samples');
      }
      const scale = encodeFloat(value.scale);
      writeHeader(writer, record);
      writer.u32(intervalUs).u32(scale).u16(samples.length);
      for (let i = 0; i < samples.length; i++) writer.i16(samples[i] as number);
      return;
    }
    default:
      throw new RangeError('unknown record value kind');
  }
}

function writeHeader(writer: ByteWriter, r: ReadingRecord): void {
  writer.u32(r.seq);
  writeTimeMs(writer, r.timeMs);
  writer.u8(r.value.kind).u32(r.code).u32(r.unit).u8(r.flags);
}

/** The §8.2 encoding of one record (what the checkpoint chain hashes, §8.4). */
export function encodeRecordBytes(record: ReadingRecord): Uint8Array {
  const writer = new ByteWriter(encodedRecordLength(record));
  encodeRecord(record, writer);
  return writer.finish();
}

function readFloat(reader: ByteReader): Float11073 {
  return decodeFloat(reader.u32());
}

/** Reads one record; throws `DecodeError` for a truncated record or a field out of range. */
export function decodeRecord(reader: ByteReader): ReadingRecord {
  const seq = reader.u32();
  if (seq < 1) throw new DecodeError('out-of-range', 'record seq must be ≥ 1');
  const timeMs = readTimeMs(reader);
  const kind = reader.u8();
  const code = reader.u32();
  const unitCode = reader.u32();
  const flags = reader.u8();
  if ((flags & ~RECORD_FLAGS_MASK) !== 0) throw new DecodeError('out-of-range', 'undefined record flag set');
  let value: ReadingRecord['value'];
  switch (kind) {
    case ValueKind.Numeric:
      value = { kind: ValueKind.Numeric, value: readFloat(reader) };
      break;
    case ValueKind.Compound: {
      const n = reader.u8();
      if (n < 1 || n > MAX_COMPOUND_COMPONENTS) throw new DecodeError('out-of-range', 'compound size out of range');
      const components: CompoundComponent[] = [];
      for (let i = 0; i < n; i++) components.push({ code: reader.u32(), value: readFloat(reader) });
      value = { kind: ValueKind.Compound, components };
      break;
    }
    case ValueKind.Waveform: {
      const intervalUs = reader.u32();
      if (intervalUs < 1 || intervalUs > MAX_SAMPLE_INTERVAL_US) {
        throw new DecodeError('out-of-range', 'sample interval out of range');
      }
      const scale = readFloat(reader);
      const n = reader.u16();
      if (n < 1 || n > MAX_WAVEFORM_SAMPLES) throw new DecodeError('out-of-range', 'sample count out of range');
      if (reader.remaining < 2 * n) throw new DecodeError('truncated', 'message ends early');
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = reader.i16();
      value = { kind: ValueKind.Waveform, intervalUs, scale, samples };
      break;
    }
    default:
      throw new DecodeError('unknown-type', 'unknown record kind');
  }
  return { seq, timeMs, code, unit: unitCode, flags, value };
}

/** Decodes exactly one record occupying all of `bytes`. */
export function decodeRecordBytes(bytes: Uint8Array): ReadingRecord {
  const reader = new ByteReader(bytes);
  const record = decodeRecord(reader);
  reader.end();
  return record;
}
