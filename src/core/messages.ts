/**
 * Application messages carried in TRANSPORT plaintexts (docs/protocol.md §8): `type u8 ‖ body`.
 *
 * The decoder is strict (§1.1): exact lengths, no trailing bytes, every field in range, unknown
 * types refused — and it only ever throws `DecodeError`, so the session layer can answer any
 * failure with ERROR(malformed) without inspecting it. The encoder refuses (`RangeError`) to
 * produce anything the decoder would refuse, so `decode(encode(m))` always succeeds.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import type { Checkpoint } from './checkpoint.js';
import { DecodeError } from './errors.js';
import { HASH_LEN, SIGNATURE_LEN } from './primitives.js';
import { decodeRecord, encodedRecordLength, encodeRecord, readTimeMs, writeTimeMs } from './readings.js';
import type { ReadingRecord } from './readings.js';
import { MAX_PLAINTEXT } from './transport.js';

/** `type` byte of each message (§8). */
export const AppMessageType = {
  Readings: 0x01,
  Ack: 0x02,
  Backfill: 0x03,
  TimeSet: 0x04,
  Status: 0x05,
  StatusReq: 0x06,
  Checkpoint: 0x07,
  Unbond: 0x08,
  Error: 0x09,
} as const;

/** STATUS flag bits (§8). */
export const StatusFlags = { Tamper: 0x01, ClockNotSet: 0x02, StorageNearlyFull: 0x04 } as const;

/** ERROR codes (§8). */
export const ErrorCode = { Unsupported: 1, Malformed: 2, Busy: 3 } as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export const MAX_READINGS_PER_MESSAGE = 1000;
const MAX_U32 = 0xffffffff;
/** type u8 ‖ count u16. */
const READINGS_OVERHEAD = 3;

export interface ReadingsMessage {
  readonly type: 'readings';
  /** 1 … 1000 records. */
  readonly records: readonly ReadingRecord[];
}
export interface AckMessage {
  readonly type: 'ack';
  /** Every record with seq ≤ upTo is stored by the hub. */
  readonly upTo: number;
}
export interface BackfillMessage {
  readonly type: 'backfill';
  /** Send every held record with seq ≥ from, oldest first. */
  readonly from: number;
}
export interface TimeSetMessage {
  readonly type: 'time-set';
  /** Unix ms. */
  readonly hubTimeMs: number;
}
export interface StatusFlagSet {
  readonly tamper: boolean;
  readonly clockNotSet: boolean;
  readonly storageNearlyFull: boolean;
}
export interface StatusMessage {
  readonly type: 'status';
  /** 0 … 100 (%). */
  readonly battery: number;
  readonly flags: StatusFlagSet;
  /** Records held (not yet acknowledged). */
  readonly held: number;
  /** Seq of the last record produced, 0 when none. */
  readonly lastSeq: number;
  /** Unix ms by the device clock. */
  readonly deviceTimeMs: number;
}
export interface StatusRequestMessage {
  readonly type: 'status-req';
}
export interface CheckpointMessage extends Checkpoint {
  readonly type: 'checkpoint';
}
export interface UnbondMessage {
  readonly type: 'unbond';
}
export interface ErrorMessage {
  readonly type: 'error';
  readonly code: ErrorCodeValue;
}

export type AppMessage =
  | ReadingsMessage
  | AckMessage
  | BackfillMessage
  | TimeSetMessage
  | StatusMessage
  | StatusRequestMessage
  | CheckpointMessage
  | UnbondMessage
  | ErrorMessage;

function checkU32(v: number, what: string, min = 0): void {
  if (!Number.isInteger(v) || v < min || v > MAX_U32) throw new RangeError(`${what} out of range: ${v}`);
}

function checkTime(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} out of range: ${v}`);
}

/** Encoded size of a message (for sizing the writer exactly: no regrowth, one copy). */
function encodedLength(m: AppMessage): number {
  switch (m.type) {
    case 'readings': {
      let n = READINGS_OVERHEAD;
      for (const r of m.records) n += encodedRecordLength(r);
      return n;
    }
    case 'ack':
    case 'backfill':
      return 5;
    case 'time-set':
      return 9;
    case 'status':
      return 19;
    case 'checkpoint':
      return 1 + 4 + HASH_LEN + SIGNATURE_LEN;
    case 'error':
      return 2;
    default:
      return 1;
  }
}

/**
 * The plaintext of one message. Throws `RangeError` for any field out of range, or for a
 * message larger than MAX_PLAINTEXT (use `packReadings` to split long record lists).
 */
export function encodeMessage(m: AppMessage): Uint8Array {
  const size = encodedLength(m);
  if (size > MAX_PLAINTEXT) throw new RangeError(`message too large for one frame: ${size} bytes`);
  const w = new ByteWriter(size);
  switch (m.type) {
    case 'readings': {
      const n = m.records.length;
      if (n < 1 || n > MAX_READINGS_PER_MESSAGE) throw new RangeError(`READINGS must hold 1..1000 records: ${n}`);
      w.u8(AppMessageType.Readings).u16(n);
      for (const r of m.records) encodeRecord(r, w);
      break;
    }
    case 'ack':
      checkU32(m.upTo, 'ACK up to');
      w.u8(AppMessageType.Ack).u32(m.upTo);
      break;
    case 'backfill':
      checkU32(m.from, 'BACKFILL from');
      w.u8(AppMessageType.Backfill).u32(m.from);
      break;
    case 'time-set':
      checkTime(m.hubTimeMs, 'hub time');
      writeTimeMs(w.u8(AppMessageType.TimeSet), m.hubTimeMs);
      break;
    case 'status': {
      if (!Number.isInteger(m.battery) || m.battery < 0 || m.battery > 100) {
        throw new RangeError(`battery out of range: ${m.battery}`);
      }
      checkU32(m.held, 'held');
      checkU32(m.lastSeq, 'last seq');
      checkTime(m.deviceTimeMs, 'device time');
      const flags =
        (m.flags.tamper ? StatusFlags.Tamper : 0) |
        (m.flags.clockNotSet ? StatusFlags.ClockNotSet : 0) |
        (m.flags.storageNearlyFull ? StatusFlags.StorageNearlyFull : 0);
      writeTimeMs(w.u8(AppMessageType.Status).u8(m.battery).u8(flags).u32(m.held).u32(m.lastSeq), m.deviceTimeMs);
      break;
    }
    case 'status-req':
      w.u8(AppMessageType.StatusReq);
      break;
    case 'checkpoint':
      checkU32(m.seq, 'checkpoint seq', 1);
      if (m.head.length !== HASH_LEN || m.signature.length !== SIGNATURE_LEN) {
        throw new RangeError('checkpoint head or signature has the wrong length');
      }
      w.u8(AppMessageType.Checkpoint).u32(m.seq).bytes(m.head).bytes(m.signature);
      break;
    case 'unbond':
      w.u8(AppMessageType.Unbond);
      break;
    case 'error':
      if (m.code !== 1 && m.code !== 2 && m.code !== 3) throw new RangeError(`error code out of range: ${String(m.code)}`);
      w.u8(AppMessageType.Error).u8(m.code);
      break;
    default:
      throw new RangeError('unknown message type');
  }
  return w.finish();
}

/**
 * Decodes one plaintext. Throws only `DecodeError`: `truncated`, `trailing-bytes`,
 * `out-of-range`, `too-large` (over MAX_PLAINTEXT, which no frame can carry) or `unknown-type`.
 */
export function decodeMessage(bytes: Uint8Array): AppMessage {
  if (bytes.length > MAX_PLAINTEXT) throw new DecodeError('too-large', 'message larger than a frame can carry');
  const r = new ByteReader(bytes);
  const type = r.u8();
  let m: AppMessage;
  switch (type) {
    case AppMessageType.Readings: {
      const n = r.u16();
      if (n < 1 || n > MAX_READINGS_PER_MESSAGE) throw new DecodeError('out-of-range', 'record count out of range');
      const records: ReadingRecord[] = [];
      for (let i = 0; i < n; i++) records.push(decodeRecord(r));
      m = { type: 'readings', records };
      break;
    }
    case AppMessageType.Ack:
      m = { type: 'ack', upTo: r.u32() };
      break;
    case AppMessageType.Backfill:
      m = { type: 'backfill', from: r.u32() };
      break;
    case AppMessageType.TimeSet:
      m = { type: 'time-set', hubTimeMs: readTimeMs(r) };
      break;
    case AppMessageType.Status: {
      const battery = r.u8();
      if (battery > 100) throw new DecodeError('out-of-range', 'battery out of range');
      const flags = r.u8();
      if ((flags & ~0x07) !== 0) throw new DecodeError('out-of-range', 'undefined status flag set');
      const held = r.u32();
      const lastSeq = r.u32();
      const deviceTimeMs = readTimeMs(r);
      m = {
        type: 'status',
        battery,
        flags: {
          tamper: (flags & StatusFlags.Tamper) !== 0,
          clockNotSet: (flags & StatusFlags.ClockNotSet) !== 0,
          storageNearlyFull: (flags & StatusFlags.StorageNearlyFull) !== 0,
        },
        held,
        lastSeq,
        deviceTimeMs,
      };
      break;
    }
    case AppMessageType.StatusReq:
      m = { type: 'status-req' };
      break;
    case AppMessageType.Checkpoint: {
      const seq = r.u32();
      if (seq < 1) throw new DecodeError('out-of-range', 'checkpoint seq must be ≥ 1');
      m = { type: 'checkpoint', seq, head: r.bytes(HASH_LEN), signature: r.bytes(SIGNATURE_LEN) };
      break;
    }
    case AppMessageType.Unbond:
      m = { type: 'unbond' };
      break;
    case AppMessageType.Error: {
      const code = r.u8();
      if (code !== 1 && code !== 2 && code !== 3) throw new DecodeError('out-of-range', 'unknown error code');
      m = { type: 'error', code };
      break;
    }
    default:
      throw new DecodeError('unknown-type', 'unknown message type');
  }
  r.end();
  return m;
}

/**
 * How many records from `records[start]` on fit one READINGS message of at most `maxBytes`
 * (and at most 1000 records). 0 means even the first does not fit.
 */
export function maxRecordsThatFit(records: readonly ReadingRecord[], maxBytes: number = MAX_PLAINTEXT, start = 0): number {
  let size = READINGS_OVERHEAD;
  let n = 0;
  for (let i = start; i < records.length && n < MAX_READINGS_PER_MESSAGE; i++) {
    size += encodedRecordLength(records[i] as ReadingRecord);
    if (size > maxBytes) break;
    n++;
  }
  return n;
}

/**
 * Splits a record list, in order, into as few READINGS messages as a greedy fill allows, each
 * encoding to at most `maxPlaintext` bytes. Empty input gives no message. Throws `RangeError` if
 * one record alone cannot fit (impossible at MAX_PLAINTEXT: the largest record is 2 032 bytes).
 */
export function packReadings(records: readonly ReadingRecord[], maxPlaintext: number = MAX_PLAINTEXT): ReadingsMessage[] {
  if (maxPlaintext > MAX_PLAINTEXT) throw new RangeError(`maxPlaintext above ${MAX_PLAINTEXT}`);
  const out: ReadingsMessage[] = [];
  for (let start = 0; start < records.length; ) {
    const n = maxRecordsThatFit(records, maxPlaintext, start);
    if (n === 0) throw new RangeError(`record ${start} does not fit in ${maxPlaintext} bytes`);
    out.push({ type: 'readings', records: records.slice(start, start + n) });
    start += n;
  }
  return out;
}
