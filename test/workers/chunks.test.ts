import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../../src/core/bytes.js';
import { DecodeError } from '../../src/core/errors.js';
import { encodeRecordBytes, FLOAT_MANTISSA_MAX, type Float11073, type ReadingRecord } from '../../src/core/readings.js';
import { decodeChunk, encodeChunk, MAX_CHUNK_RECORDS, splitIntoChunks } from '../../workers/vault/chunks.js';

const floatArb: fc.Arbitrary<Float11073> = fc.oneof(
  { arbitrary: fc.record({ mantissa: fc.integer({ min: -FLOAT_MANTISSA_MAX, max: FLOAT_MANTISSA_MAX }), exponent: fc.integer({ min: -128, max: 127 }) }), weight: 8 },
  { arbitrary: fc.constantFrom<Float11073>('NaN', 'NRes', '+INFINITY', '-INFINITY'), weight: 1 },
);

const recordArb = (seqArb: fc.Arbitrary<number> = fc.integer({ min: 1, max: 0xffffffff })): fc.Arbitrary<ReadingRecord> =>
  fc.record({
    seq: seqArb,
    timeMs: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    code: fc.nat({ max: 0xffffffff }),
    unit: fc.nat({ max: 0xffffffff }),
    flags: fc.integer({ min: 0, max: 3 }),
    value: fc.oneof(
      fc.record({ kind: fc.constant(1 as const), value: floatArb }),
      fc.record({
        kind: fc.constant(2 as const),
        components: fc.array(fc.record({ code: fc.nat({ max: 0xffffffff }), value: floatArb }), { minLength: 1, maxLength: 8 }),
      }),
      fc.record({
        kind: fc.constant(3 as const),
        intervalUs: fc.integer({ min: 1, max: 1_000_000 }),
        scale: floatArb,
        samples: fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 1, maxLength: 20 }).map((a) => Int16Array.from(a)),
      }),
    ),
  });

/** 1…40 records with distinct seqs, in seq order. */
const chunkArb = fc
  .uniqueArray(recordArb(), { minLength: 1, maxLength: 40, selector: (r) => r.seq })
  .map((records) => [...records].sort((a, b) => a.seq - b.seq));

function numeric(seq: number, mantissa = seq): ReadingRecord {
  return { seq, timeMs: 1_700_000_000_000 + seq, code: 150364, unit: 268192, flags: 0, value: { kind: 1, value: { mantissa, exponent: -1 } } };
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}

function decodeErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return (error as DecodeError).code;
  }
  throw new Error('expected a DecodeError');
}

describe('chunk encoding (vault §2.4)', () => {
  it('is u16 count ‖ the protocol encoding of each record, in seq order', () => {
    const records = [numeric(7), numeric(8), numeric(10)];
    expect(toHex(encodeChunk(records))).toBe(toHex(concatBytes(u16(3), ...records.map(encodeRecordBytes))));
  });

  it('property: decode(encode(records)) gives the records back, and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(chunkArb, (records) => {
        const bytes = encodeChunk(records);
        const decoded = decodeChunk(bytes);
        expect(decoded).toEqual(records);
        expect(toHex(encodeChunk(decoded))).toBe(toHex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('holds up to 512 records, not 0 and not 513', () => {
    const full = Array.from({ length: MAX_CHUNK_RECORDS }, (_, i) => numeric(i + 1));
    expect(decodeChunk(encodeChunk(full))).toHaveLength(512);
    expect(() => encodeChunk([...full, numeric(513)])).toThrow(RangeError);
    expect(() => encodeChunk([])).toThrow(RangeError);
  });

  it('refuses to encode records out of seq order or repeated', () => {
    expect(() => encodeChunk([numeric(2), numeric(1)])).toThrow(RangeError);
    expect(() => encodeChunk([numeric(2), numeric(2)])).toThrow(RangeError);
  });

  it('decoding refuses an empty chunk, an oversized count, disorder and trailing bytes', () => {
    expect(decodeErrorCode(() => decodeChunk(u16(0)))).toBe('out-of-range');
    expect(decodeErrorCode(() => decodeChunk(concatBytes(u16(513), encodeRecordBytes(numeric(1)))))).toBe('too-large');
    expect(decodeErrorCode(() => decodeChunk(concatBytes(u16(2), encodeRecordBytes(numeric(2)), encodeRecordBytes(numeric(1)))))).toBe('malformed');
    expect(decodeErrorCode(() => decodeChunk(concatBytes(u16(2), encodeRecordBytes(numeric(2)), encodeRecordBytes(numeric(2)))))).toBe('malformed');
    expect(decodeErrorCode(() => decodeChunk(concatBytes(encodeChunk([numeric(1)]), Uint8Array.of(0))))).toBe('trailing-bytes');
    expect(decodeErrorCode(() => decodeChunk(concatBytes(u16(2), encodeRecordBytes(numeric(1)))))).toBe('truncated');
    expect(decodeErrorCode(() => decodeChunk(new Uint8Array(0)))).toBe('truncated');
  });

  it('property: arbitrary bytes decode to a valid chunk or throw DecodeError, nothing else', () => {
    const mutated = fc
      .tuple(chunkArb, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat())
      .map(([records, at, xor, cut]) => {
        const bytes = encodeChunk(records);
        const i = at % bytes.length;
        bytes[i] = (bytes[i] as number) ^ xor;
        return bytes.subarray(0, bytes.length - (cut % 3));
      });
    const withCount = fc.tuple(fc.integer({ min: 0, max: 600 }), fc.uint8Array({ maxLength: 200 })).map(([n, rest]) => concatBytes(u16(n), rest));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), withCount, mutated), (bytes) => {
        let records: ReadingRecord[];
        try {
          records = decodeChunk(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
          return;
        }
        expect(records.length).toBeGreaterThanOrEqual(1);
        expect(records.length).toBeLessThanOrEqual(MAX_CHUNK_RECORDS);
        expect(toHex(encodeChunk(records))).toBe(toHex(bytes));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('splitIntoChunks', () => {
  it('sorts by seq and cuts at 512', () => {
    const records = Array.from({ length: 1100 }, (_, i) => numeric(1100 - i));
    const chunks = splitIntoChunks(records);
    expect(chunks.map((c) => c.length)).toEqual([512, 512, 76]);
    expect(chunks.map((c) => c[0]?.seq)).toEqual([1, 513, 1025]);
    expect(splitIntoChunks([])).toEqual([]);
  });

  it('keeps the first of a repeated seq', () => {
    const chunks = splitIntoChunks([numeric(2, 20), numeric(1, 10), numeric(2, 99)]);
    expect(chunks).toEqual([[numeric(1, 10), numeric(2, 20)]]);
  });

  it('property: every chunk encodes; together they are the records sorted, each seq once', () => {
    fc.assert(
      fc.property(fc.array(recordArb(fc.integer({ min: 1, max: 1500 })), { maxLength: 1200 }), (records) => {
        const chunks = splitIntoChunks(records);
        const firstBySeq = new Map<number, ReadingRecord>();
        for (const r of records) if (!firstBySeq.has(r.seq)) firstBySeq.set(r.seq, r);
        expect(chunks.flat()).toEqual([...firstBySeq.values()].sort((a, b) => a.seq - b.seq));
        for (const chunk of chunks) {
          expect(chunk.length).toBeGreaterThanOrEqual(1);
          expect(chunk.length).toBeLessThanOrEqual(MAX_CHUNK_RECORDS);
          expect(decodeChunk(encodeChunk(chunk))).toEqual(chunk);
        }
      }),
      { numRuns: 40 },
    );
  });
});
