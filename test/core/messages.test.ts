/**
 * Application messages (docs/protocol.md §8).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { DecodeError } from '../../src/core/errors.js';
import { decodeMessage, encodeMessage, maxRecordsThatFit, packReadings } from '../../src/core/messages.js';
import type { AppMessage } from '../../src/core/messages.js';
import { encodedRecordLength, MDC } from '../../src/core/readings.js';
import type { Float11073, ReadingRecord } from '../../src/core/readings.js';
import { MAX_PLAINTEXT } from '../../src/core/transport.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('messages.test');

const floatArb: fc.Arbitrary<Float11073> = fc.oneof(
  {
    arbitrary: fc.record({ mantissa: fc.integer({ min: -8_388_605, max: 8_388_605 }), exponent: fc.integer({ min: -128, max: 127 }) }),
    weight: 8,
  },
  { arbitrary: fc.constantFrom<Float11073>('NaN', 'NRes', '+INFINITY', '-INFINITY'), weight: 1 },
);
const u32 = fc.nat({ max: 0xffffffff });
const timeArb = fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.constant(Number.MAX_SAFE_INTEGER));
const recordArb: fc.Arbitrary<ReadingRecord> = fc.record({
  seq: fc.integer({ min: 1, max: 0xffffffff }),
  timeMs: timeArb,
  code: u32,
  unit: u32,
  flags: fc.integer({ min: 0, max: 3 }),
  value: fc.oneof(
    fc.record({ kind: fc.constant(1 as const), value: floatArb }),
    fc.record({
      kind: fc.constant(2 as const),
      components: fc.array(fc.record({ code: u32, value: floatArb }), { minLength: 1, maxLength: 8 }),
    }),
    fc.record({
      kind: fc.constant(3 as const),
      intervalUs: fc.integer({ min: 1, max: 1_000_000 }),
      scale: floatArb,
      samples: fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 1, maxLength: 20 }).map((a) => Int16Array.from(a)),
    }),
  ),
});
const bytesOf = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const messageArb: fc.Arbitrary<AppMessage> = fc.oneof(
  fc.record({ type: fc.constant('readings' as const), records: fc.array(recordArb, { minLength: 1, maxLength: 12 }) }),
  fc.record({ type: fc.constant('ack' as const), upTo: u32 }),
  fc.record({ type: fc.constant('backfill' as const), from: u32 }),
  fc.record({ type: fc.constant('time-set' as const), hubTimeMs: timeArb }),
  fc.record({
    type: fc.constant('status' as const),
    battery: fc.integer({ min: 0, max: 100 }),
    flags: fc.record({ tamper: fc.boolean(), clockNotSet: fc.boolean(), storageNearlyFull: fc.boolean() }),
    held: u32,
    lastSeq: u32,
    deviceTimeMs: timeArb,
  }),
  fc.constant({ type: 'status-req' as const }),
  fc.record({ type: fc.constant('checkpoint' as const), seq: fc.integer({ min: 1, max: 0xffffffff }), head: bytesOf(32), signature: bytesOf(64) }),
  fc.constant({ type: 'unbond' as const }),
  fc.record({ type: fc.constant('error' as const), code: fc.constantFrom(1 as const, 2 as const, 3 as const) }),
);

function decodeErrorCode(bytes: Uint8Array): string {
  try {
    decodeMessage(bytes);
    return 'no-error';
  } catch (e) {
    return e instanceof DecodeError ? e.code : `other: ${String(e)}`;
  }
}

const temperature = (seq: number): ReadingRecord => ({
  seq,
  timeMs: 1_700_000_000_000 + seq * 1000,
  code: MDC.TEMP_BODY,
  unit: MDC.DIM_DEGC,
  flags: 0,
  value: { kind: 1, value: { mantissa: 366, exponent: -1 } },
});

describe('known answers', () => {
  const head = random(32);
  const signature = random(64);
  const cases: [AppMessage, string][] = [
    [{ type: 'ack', upTo: 100 }, '02 00000064'],
    [{ type: 'backfill', from: 1 }, '03 00000001'],
    [{ type: 'time-set', hubTimeMs: 1_700_000_000_000 }, '04 0000018bcfe56800'],
    [
      {
        type: 'status',
        battery: 87,
        flags: { tamper: false, clockNotSet: true, storageNearlyFull: true },
        held: 250,
        lastSeq: 1234,
        deviceTimeMs: 1_700_000_000_000,
      },
      '05 57 06 000000fa 000004d2 0000018bcfe56800',
    ],
    [{ type: 'status-req' }, '06'],
    [{ type: 'checkpoint', seq: 100, head, signature }, `07 00000064 ${toHex(head)} ${toHex(signature)}`],
    [{ type: 'unbond' }, '08'],
    [{ type: 'error', code: 2 }, '09 02'],
    [{ type: 'readings', records: [temperature(1)] }, '01 0001 00000001 0000018bcfe56be8 01 00024b5c 000417a0 00 ff00016e'],
  ];
  for (const [m, hex] of cases) {
    it(`${m.type}`, () => {
      expect(toHex(encodeMessage(m))).toBe(hex.replace(/ /g, ''));
      expect(decodeMessage(fromHex(hex))).toEqual(m);
    });
  }
});

describe('decoder strictness', () => {
  it('an empty plaintext is truncated', () => {
    expect(decodeErrorCode(new Uint8Array(0))).toBe('truncated');
  });

  it('unknown types', () => {
    for (const t of [0x00, 0x0a, 0x10, 0x7f, 0xff]) expect(decodeErrorCode(Uint8Array.of(t, 0, 0, 0, 0))).toBe('unknown-type');
  });

  it('exact lengths: every message truncated or with a trailing byte is refused', () => {
    const msgs: AppMessage[] = [
      { type: 'ack', upTo: 1 },
      { type: 'time-set', hubTimeMs: 5 },
      { type: 'status', battery: 1, flags: { tamper: true, clockNotSet: false, storageNearlyFull: false }, held: 0, lastSeq: 0, deviceTimeMs: 0 },
      { type: 'status-req' },
      { type: 'checkpoint', seq: 1, head: new Uint8Array(32), signature: new Uint8Array(64) },
      { type: 'unbond' },
      { type: 'error', code: 3 },
      { type: 'readings', records: [temperature(1), temperature(2)] },
    ];
    for (const m of msgs) {
      const bytes = encodeMessage(m);
      for (let n = 1; n < bytes.length; n++) expect(decodeErrorCode(bytes.subarray(0, n)), `${m.type} ${n}`).toBe('truncated');
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      expect(decodeErrorCode(longer), m.type).toBe('trailing-bytes');
    }
  });

  it('fields out of range', () => {
    expect(decodeErrorCode(fromHex('05 65 00 00000000 00000000 0000000000000000'))).toBe('out-of-range'); // battery 101
    expect(decodeErrorCode(fromHex('05 64 08 00000000 00000000 0000000000000000'))).toBe('out-of-range'); // flag bit 3
    expect(decodeErrorCode(fromHex('05 64 07 00000000 00000000 0020000000000000'))).toBe('out-of-range'); // time 2^53
    expect(decodeErrorCode(fromHex('04 ffffffffffffffff'))).toBe('out-of-range');
    expect(decodeErrorCode(fromHex('09 00'))).toBe('out-of-range');
    expect(decodeErrorCode(fromHex('09 04'))).toBe('out-of-range');
    expect(decodeErrorCode(fromHex('01 0000'))).toBe('out-of-range'); // 0 records
    expect(decodeErrorCode(fromHex('01 03e9'))).toBe('out-of-range'); // 1001 records
    expect(decodeErrorCode(fromHex(`07 00000000 ${'00'.repeat(96)}`))).toBe('out-of-range'); // checkpoint seq 0
  });

  it('a plaintext larger than a frame can carry is too-large', () => {
    expect(decodeErrorCode(new Uint8Array(MAX_PLAINTEXT + 1).fill(1, 0, 1))).toBe('too-large');
  });

  it('property: arbitrary bytes decode or throw DecodeError, and whatever decodes re-encodes to the same bytes', () => {
    const mutated = fc.tuple(messageArb, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(([m, i, x, cut]) => {
      const b = encodeMessage(m);
      const at = i % b.length;
      if (cut) return b.subarray(0, at);
      b[at] = (b[at] as number) ^ x;
      return b;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), mutated, messageArb.map(encodeMessage)), (bytes) => {
        let m: AppMessage;
        try {
          m = decodeMessage(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          return;
        }
        expect(encodeMessage(m)).toEqual(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: decode(encode(m)) = m', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('encoder checks', () => {
  it('refuses what the decoder would refuse', () => {
    const bad: AppMessage[] = [
      { type: 'readings', records: [] },
      { type: 'readings', records: Array.from({ length: 1001 }, (_, i) => temperature(i + 1)) },
      { type: 'ack', upTo: -1 },
      { type: 'backfill', from: 2 ** 32 },
      { type: 'time-set', hubTimeMs: 2 ** 53 },
      { type: 'status', battery: 101, flags: { tamper: false, clockNotSet: false, storageNearlyFull: false }, held: 0, lastSeq: 0, deviceTimeMs: 0 },
      { type: 'checkpoint', seq: 0, head: new Uint8Array(32), signature: new Uint8Array(64) },
      { type: 'checkpoint', seq: 1, head: new Uint8Array(31), signature: new Uint8Array(64) },
      { type: 'error', code: 4 as 1 },
      // Too large for one frame: 157 numeric records = 3 + 157 × 26 = 4085 bytes.
      { type: 'readings', records: Array.from({ length: 157 }, (_, i) => temperature(i + 1)) },
    ];
    for (const m of bad) expect(() => encodeMessage(m), m.type).toThrow(RangeError);
  });
});

describe('packReadings / maxRecordsThatFit', () => {
  it('splits a long list into READINGS messages of at most MAX_PLAINTEXT bytes, in order', () => {
    const records = Array.from({ length: 1000 }, (_, i) => temperature(i + 1));
    expect(maxRecordsThatFit(records)).toBe(156); // ⌊(4071 − 3) / 26⌋
    const messages = packReadings(records);
    expect(messages.map((m) => m.records.length)).toEqual([156, 156, 156, 156, 156, 156, 64]);
    for (const m of messages) expect(encodeMessage(m).length).toBeLessThanOrEqual(MAX_PLAINTEXT);
    expect(messages.flatMap((m) => m.records)).toEqual(records);
    expect(packReadings([])).toEqual([]);
  });

  it('never more than 1000 records per message', () => {
    const records = Array.from({ length: 2500 }, (_, i) => temperature(i + 1));
    const messages = packReadings(records, MAX_PLAINTEXT);
    expect(messages.every((m) => m.records.length <= 1000)).toBe(true);
    expect(maxRecordsThatFit(records, 1_000_000)).toBe(1000);
  });

  it('property: mixed records pack greedily and losslessly', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 300 }), fc.integer({ min: 2100, max: MAX_PLAINTEXT }), (records, max) => {
        const messages = packReadings(records, max);
        expect(messages.flatMap((m) => m.records)).toEqual(records);
        messages.forEach((m, i) => {
          const size = encodeMessage(m).length;
          expect(size).toBeLessThanOrEqual(max);
          // Greedy: the next record would not have fit.
          const next = messages[i + 1]?.records[0];
          if (next !== undefined) expect(size + encodedRecordLength(next)).toBeGreaterThan(max);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a limit a single record cannot fit', () => {
    expect(() => packReadings([temperature(1)], 28)).toThrow(RangeError);
    expect(packReadings([temperature(1)], 29)).toHaveLength(1);
  });
});
