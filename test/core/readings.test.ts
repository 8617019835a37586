/**
 * Reading records and the 11073 FLOAT (docs/protocol.md §8.2, §8.5).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, fromHex, toHex } from '../../src/core/bytes.js';
import { DecodeError } from '../../src/core/errors.js';
import {
  decodeFloat,
  decodeRecord,
  decodeRecordBytes,
  encodedRecordLength,
  encodeFloat,
  encodeRecord,
  encodeRecordBytes,
  FLOAT_MANTISSA_MAX,
  floatFromDecimalString,
  floatToDecimalString,
  floatToNumber,
  MDC,
  NOMENCLATURE,
} from '../../src/core/readings.js';
import type { Float11073, ReadingRecord } from '../../src/core/readings.js';

const finiteFloatArb = fc.record({
  mantissa: fc.integer({ min: -FLOAT_MANTISSA_MAX, max: FLOAT_MANTISSA_MAX }),
  exponent: fc.integer({ min: -128, max: 127 }),
});
const floatArb: fc.Arbitrary<Float11073> = fc.oneof(
  { arbitrary: finiteFloatArb, weight: 8 },
  { arbitrary: fc.constantFrom<Float11073>('NaN', 'NRes', '+INFINITY', '-INFINITY'), weight: 1 },
);

const recordArb: fc.Arbitrary<ReadingRecord> = fc.record({
  seq: fc.integer({ min: 1, max: 0xffffffff }),
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
      samples: fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 1, maxLength: 50 }).map((a) => Int16Array.from(a)),
    }),
  ),
});

function decodeErrorCode(fn: () => unknown): string {
  try {
    fn();
    return 'no-error';
  } catch (e) {
    return e instanceof DecodeError ? e.code : `other: ${String(e)}`;
  }
}

describe('FLOAT (§8.5)', () => {
  it('known encodings', () => {
    expect(encodeFloat({ mantissa: 366, exponent: -1 })).toBe(0xff00016e); // 36.6
    expect(encodeFloat({ mantissa: 98, exponent: 0 })).toBe(0x00000062);
    expect(encodeFloat({ mantissa: 1205, exponent: -1 })).toBe(0xff0004b5); // 120.5
    expect(encodeFloat({ mantissa: -366, exponent: -1 })).toBe(0xfffffe92); // −36.6
    expect(encodeFloat({ mantissa: 5, exponent: -3 })).toBe(0xfd000005);
    expect(encodeFloat({ mantissa: FLOAT_MANTISSA_MAX, exponent: 127 })).toBe(0x7f7ffffd);
    expect(encodeFloat({ mantissa: -FLOAT_MANTISSA_MAX, exponent: -128 })).toBe(0x80800003);
  });

  it('special values', () => {
    expect(encodeFloat('NaN')).toBe(0x007fffff);
    expect(encodeFloat('NRes')).toBe(0x00800000);
    expect(encodeFloat('+INFINITY')).toBe(0x007ffffe);
    expect(encodeFloat('-INFINITY')).toBe(0x00800002);
    expect(decodeFloat(0x007fffff)).toBe('NaN');
    expect(decodeFloat(0x00800000)).toBe('NRes');
    expect(decodeFloat(0x007ffffe)).toBe('+INFINITY');
    expect(decodeFloat(0x00800002)).toBe('-INFINITY');
  });

  it('refuses the reserved value and special mantissas with a non-zero exponent', () => {
    expect(decodeErrorCode(() => decodeFloat(0x00800001))).toBe('out-of-range');
    expect(decodeErrorCode(() => decodeFloat(0x017fffff))).toBe('out-of-range');
    expect(decodeErrorCode(() => decodeFloat(0xff7ffffe))).toBe('out-of-range');
    expect(decodeErrorCode(() => decodeFloat(0x80800000))).toBe('out-of-range');
  });

  it('encodeFloat refuses out-of-range mantissas (the special codes ±(2^23 − 2) included) and exponents', () => {
    for (const bad of [
      { mantissa: 8_388_606, exponent: 0 },
      { mantissa: -8_388_606, exponent: 0 },
      { mantissa: 8_388_607, exponent: 1 },
      { mantissa: 1.5, exponent: 0 },
      { mantissa: 1, exponent: 128 },
      { mantissa: 1, exponent: -129 },
    ]) {
      expect(() => encodeFloat(bad)).toThrow(RangeError);
    }
  });

  it('decodeFloat ∘ encodeFloat = id, and every u32 either decodes and re-encodes to itself or is refused', () => {
    fc.assert(
      fc.property(floatArb, (f) => {
        expect(decodeFloat(encodeFloat(f))).toEqual(f);
      }),
    );
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (u) => {
        let f: Float11073;
        try {
          f = decodeFloat(u);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          return;
        }
        expect(encodeFloat(f)).toBe(u);
      }),
      { numRuns: 2000 },
    );
  });

  it('decimal strings are exact, with no binary rounding', () => {
    const cases: [string, Float11073][] = [
      ['36.6', { mantissa: 366, exponent: -1 }],
      ['98', { mantissa: 98, exponent: 0 }],
      ['120.5', { mantissa: 1205, exponent: -1 }],
      ['-36.6', { mantissa: -366, exponent: -1 }],
      ['-0.005', { mantissa: -5, exponent: -3 }],
      ['36.60', { mantissa: 3660, exponent: -2 }],
      ['0.1', { mantissa: 1, exponent: -1 }],
      ['0.000', { mantissa: 0, exponent: -3 }],
      ['8388605', { mantissa: 8_388_605, exponent: 0 }],
      ['-838860.5', { mantissa: -8_388_605, exponent: -1 }],
    ];
    for (const [text, float] of cases) {
      expect(floatFromDecimalString(text)).toEqual(float);
      expect(floatToDecimalString(float)).toBe(text);
    }
  });

  it('normalises only when needed, keeping the value exact', () => {
    expect(floatFromDecimalString('100000000')).toEqual({ mantissa: 1_000_000, exponent: 2 });
    expect(floatFromDecimalString('12345670')).toEqual({ mantissa: 1_234_567, exponent: 1 });
    expect(floatFromDecimalString('007')).toEqual({ mantissa: 7, exponent: 0 });
    expect(floatFromDecimalString('-0')).toEqual({ mantissa: 0, exponent: 0 });
    expect(floatFromDecimalString('1.5e3')).toEqual({ mantissa: 15, exponent: 2 });
    expect(floatFromDecimalString('1e128')).toEqual({ mantissa: 10, exponent: 127 });
    expect(floatFromDecimalString('1000e-131')).toEqual({ mantissa: 1, exponent: -128 });
    expect(floatToDecimalString({ mantissa: 5, exponent: 2 })).toBe('500');
    expect(floatToDecimalString({ mantissa: 0, exponent: 5 })).toBe('0');
    expect(floatToDecimalString({ mantissa: 366, exponent: -5 })).toBe('0.00366');
  });

  it('refuses strings it cannot represent exactly, or that are not decimals', () => {
    for (const text of ['8388606', '123456789', '1e-129', '1e135', '', '1.', '.5', '1,5', ' 1', '0x10', 'Infinity', '1e']) {
      expect(() => floatFromDecimalString(text), text).toThrow(RangeError);
    }
  });

  it('special names round trip through the string forms', () => {
    for (const s of ['NaN', 'NRes', '+INFINITY', '-INFINITY'] as const) {
      expect(floatFromDecimalString(s)).toBe(s);
      expect(floatToDecimalString(s)).toBe(s);
    }
  });

  it('string ↔ FLOAT round trip for every finite FLOAT', () => {
    fc.assert(
      fc.property(finiteFloatArb, (f) => {
        const text = floatToDecimalString(f);
        const back = floatFromDecimalString(text);
        // Same value; the exponent may differ only for non-negative exponents (500 = 5e2 = 500e0).
        expect(floatToDecimalString(back)).toBe(text);
        if (f.exponent <= 0) expect(back).toEqual(f.mantissa === 0 ? { mantissa: 0, exponent: f.exponent } : f);
      }),
      { numRuns: 2000 },
    );
  });

  it('floatToNumber gives the nearest double', () => {
    expect(floatToNumber({ mantissa: 366, exponent: -1 })).toBe(36.6);
    expect(floatToNumber({ mantissa: 1205, exponent: -1 })).toBe(120.5);
    expect(floatToNumber({ mantissa: -5, exponent: -3 })).toBe(-0.005);
    expect(floatToNumber({ mantissa: 98, exponent: 0 })).toBe(98);
    expect(floatToNumber({ mantissa: 7, exponent: -100 })).toBe(7e-100);
    expect(floatToNumber({ mantissa: 7, exponent: 100 })).toBe(7e100);
    expect(floatToNumber('NaN')).toBeNaN();
    expect(floatToNumber('NRes')).toBeNaN();
    expect(floatToNumber('+INFINITY')).toBe(Infinity);
    expect(floatToNumber('-INFINITY')).toBe(-Infinity);
    fc.assert(
      fc.property(finiteFloatArb, (f) => {
        expect(floatToNumber(f)).toBe(Number(`${f.mantissa}e${f.exponent}`));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('nomenclature (§8.2)', () => {
  it('the codes of the table', () => {
    expect(MDC.ECG_HEART_RATE).toBe(2 * 65536 + 16770);
    expect(MDC.PULS_OXIM_SAT_O2).toBe(150456);
    expect(MDC.DIM_PERCENT).toBe(262688);
    expect([MDC.PRESS_BLD_NONINV, MDC.PRESS_BLD_NONINV_SYS, MDC.PRESS_BLD_NONINV_DIA, MDC.PRESS_BLD_NONINV_MEAN]).toEqual([
      150020, 150021, 150022, 150023,
    ]);
  });

  it('labels and UCUM units', () => {
    const ucum = (code: number): string | undefined => {
      const t = NOMENCLATURE.get(code);
      return t?.type === 'unit' ? t.ucum : undefined;
    };
    expect(ucum(MDC.DIM_BEAT_PER_MIN)).toBe('/min');
    expect(ucum(MDC.DIM_PERCENT)).toBe('%');
    expect(ucum(MDC.DIM_RESP_PER_MIN)).toBe('/min');
    expect(ucum(MDC.DIM_DEGC)).toBe('Cel');
    expect(ucum(MDC.DIM_MMHG)).toBe('mm[Hg]');
    expect(ucum(MDC.DIM_MILLI_VOLT)).toBe('mV');
    const temp = NOMENCLATURE.get(MDC.TEMP_BODY);
    expect(temp).toMatchObject({ type: 'measurement', reference: 'MDC_TEMP_BODY', unit: MDC.DIM_DEGC });
    // Every measurement's unit is itself a known unit.
    for (const t of NOMENCLATURE.values()) if (t.type === 'measurement') expect(NOMENCLATURE.get(t.unit)?.type).toBe('unit');
    expect(NOMENCLATURE.size).toBe(15);
  });
});

const numeric: ReadingRecord = {
  seq: 1,
  timeMs: 1_700_000_000_000,
  code: MDC.TEMP_BODY,
  unit: MDC.DIM_DEGC,
  flags: 0,
  value: { kind: 1, value: { mantissa: 366, exponent: -1 } },
};
const compound: ReadingRecord = {
  seq: 2,
  timeMs: 1_700_000_001_000,
  code: MDC.PRESS_BLD_NONINV,
  unit: MDC.DIM_MMHG,
  flags: 1,
  value: {
    kind: 2,
    components: [
      { code: MDC.PRESS_BLD_NONINV_SYS, value: { mantissa: 120, exponent: 0 } },
      { code: MDC.PRESS_BLD_NONINV_DIA, value: { mantissa: 80, exponent: 0 } },
      { code: MDC.PRESS_BLD_NONINV_MEAN, value: { mantissa: 933, exponent: -1 } },
    ],
  },
};
const waveform: ReadingRecord = {
  seq: 3,
  timeMs: 1_700_000_002_000,
  code: MDC.ECG_ELEC_POTL_II,
  unit: MDC.DIM_MILLI_VOLT,
  flags: 2,
  value: { kind: 3, intervalUs: 4000, scale: { mantissa: 5, exponent: -3 }, samples: Int16Array.of(0, 1, -1, 32767) },
};

describe('records (§8.2)', () => {
  it('known-answer encodings, one of each kind', () => {
    const kat: [ReadingRecord, string][] = [
      [numeric, '00000001 0000018bcfe56800 01 00024b5c 000417a0 00 ff00016e'],
      [
        compound,
        '00000002 0000018bcfe56be8 02 00024a04 00040f20 01 03 00024a05 00000078 00024a06 00000050 00024a07 ff0003a5',
      ],
      [waveform, '00000003 0000018bcfe56fd0 03 00020102 000410b2 02 00000fa0 fd000005 0004 0000 0001 ffff 7fff'],
    ];
    for (const [record, hex] of kat) {
      const bytes = encodeRecordBytes(record);
      expect(toHex(bytes)).toBe(hex.replace(/ /g, ''));
      expect(bytes.length).toBe(encodedRecordLength(record));
      expect(decodeRecordBytes(fromHex(hex))).toEqual(record);
    }
  });

  it('property: decode(encode(r)) = r, and the length is predicted', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        const bytes = encodeRecordBytes(r);
        expect(bytes.length).toBe(encodedRecordLength(r));
        expect(decodeRecordBytes(bytes)).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes into a shared writer; decodes from a shared reader', () => {
    const w = new ByteWriter();
    encodeRecord(numeric, w);
    encodeRecord(waveform, w);
    const reader = new ByteReader(w.finish());
    expect(decodeRecord(reader)).toEqual(numeric);
    expect(decodeRecord(reader)).toEqual(waveform);
    expect(reader.remaining).toBe(0);
  });

  it('encoder range checks, and nothing is written on failure', () => {
    const bad: ReadingRecord[] = [
      { ...numeric, seq: 0 },
      { ...numeric, seq: 2 ** 32 },
      { ...numeric, timeMs: -1 },
      { ...numeric, timeMs: 2 ** 53 },
      { ...numeric, flags: 4 },
      { ...numeric, code: -1 },
      { ...numeric, unit: 2 ** 32 },
      { ...numeric, value: { kind: 1, value: { mantissa: 9_000_000, exponent: 0 } } },
      { ...compound, value: { kind: 2, components: [] } },
      { ...compound, value: { kind: 2, components: Array.from({ length: 9 }, () => ({ code: 1, value: 'NaN' as const })) } },
      { ...waveform, value: { kind: 3, intervalUs: 0, scale: 'NaN', samples: Int16Array.of(1) } },
      { ...waveform, value: { kind: 3, intervalUs: 1_000_001, scale: 'NaN', samples: Int16Array.of(1) } },
      { ...waveform, value: { kind: 3, intervalUs: 1, scale: 'NaN', samples: new Int16Array(0) } },
      { ...waveform, value: { kind: 3, intervalUs: 1, scale: 'NaN', samples: new Int16Array(1001) } },
    ];
    for (const r of bad) {
      const w = new ByteWriter();
      expect(() => encodeRecord(r, w), JSON.stringify(r)).toThrow(RangeError);
      expect(w.finish().length).toBe(0);
    }
    // The limits themselves are fine.
    const edges: ReadingRecord[] = [
      { ...numeric, seq: 2 ** 32 - 1, timeMs: Number.MAX_SAFE_INTEGER, flags: 3 },
      { ...waveform, value: { kind: 3, intervalUs: 1_000_000, scale: 'NRes', samples: new Int16Array(1000) } },
      { ...compound, value: { kind: 2, components: Array.from({ length: 8 }, (_, i) => ({ code: i, value: '-INFINITY' as const })) } },
    ];
    for (const r of edges) expect(decodeRecordBytes(encodeRecordBytes(r))).toEqual(r);
  });

  it('decoder range checks', () => {
    const hex = (r: ReadingRecord): string => toHex(encodeRecordBytes(r));
    const n = hex(numeric);
    const patch = (h: string, at: number, replacement: string): Uint8Array =>
      fromHex(h.slice(0, at * 2) + replacement + h.slice(at * 2 + replacement.length));
    expect(decodeErrorCode(() => decodeRecordBytes(patch(n, 0, '00000000')))).toBe('out-of-range'); // seq 0
    expect(decodeErrorCode(() => decodeRecordBytes(patch(n, 4, '0020000000000000')))).toBe('out-of-range'); // time 2^53
    expect(decodeErrorCode(() => decodeRecordBytes(patch(n, 12, '04')))).toBe('unknown-type'); // kind 4
    expect(decodeErrorCode(() => decodeRecordBytes(patch(n, 12, '00')))).toBe('unknown-type'); // kind 0
    expect(decodeErrorCode(() => decodeRecordBytes(patch(n, 21, '04')))).toBe('out-of-range'); // flags bit 2
    expect(decodeErrorCode(() => decodeRecordBytes(patch(n, 22, '00800001')))).toBe('out-of-range'); // reserved FLOAT
    const c = hex(compound);
    expect(decodeErrorCode(() => decodeRecordBytes(patch(c, 22, '00')))).toBe('out-of-range'); // n = 0
    expect(decodeErrorCode(() => decodeRecordBytes(patch(c, 22, '09')))).toBe('out-of-range'); // n = 9
    expect(decodeErrorCode(() => decodeRecordBytes(patch(c, 22, '04')))).toBe('truncated');
    expect(decodeErrorCode(() => decodeRecordBytes(patch(c, 22, '02')))).toBe('trailing-bytes');
    const w = hex(waveform);
    expect(decodeErrorCode(() => decodeRecordBytes(patch(w, 22, '00000000')))).toBe('out-of-range'); // interval 0
    expect(decodeErrorCode(() => decodeRecordBytes(patch(w, 22, '000f4241')))).toBe('out-of-range'); // 1 000 001 µs
    expect(decodeErrorCode(() => decodeRecordBytes(patch(w, 30, '0000')))).toBe('out-of-range'); // n = 0
    expect(decodeErrorCode(() => decodeRecordBytes(patch(w, 30, '03e9')))).toBe('out-of-range'); // n = 1001
    expect(decodeErrorCode(() => decodeRecordBytes(patch(w, 30, '03e8')))).toBe('truncated');
    const bytes = encodeRecordBytes(waveform);
    for (let len = 0; len < bytes.length; len++) {
      expect(decodeErrorCode(() => decodeRecordBytes(bytes.subarray(0, len)))).toBe('truncated');
    }
  });

  it('property: arbitrary bytes decode to a record that re-encodes to them, or throw DecodeError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc
            .tuple(recordArb, fc.nat(), fc.integer({ min: 1, max: 255 }))
            .map(([r, i, x]) => {
              const b = encodeRecordBytes(r);
              b[i % b.length] = (b[i % b.length] as number) ^ x;
              return b;
            }),
        ),
        (bytes) => {
          let r: ReadingRecord;
          try {
            r = decodeRecordBytes(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
            return;
          }
          expect(encodeRecordBytes(r)).toEqual(bytes);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('records are unchanged at the size extremes (a 1000-sample waveform is 2032 bytes)', () => {
    expect(encodedRecordLength({ ...waveform, value: { kind: 3, intervalUs: 1, scale: 'NaN', samples: new Int16Array(1000) } })).toBe(2032);
    expect(encodedRecordLength(numeric)).toBe(26);
    expect(encodedRecordLength(compound)).toBe(22 + 1 + 24);
  });

});
