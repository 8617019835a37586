/**
 * Tests of the setup code (docs/protocol.md §3): Verhoeff error detection, trivial passcodes,
 * parsing what users type, the QR payload, and uniformity of generated passcodes.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DecodeError } from '../../src/core/errors.js';
import type { Random } from '../../src/core/primitives.js';
import {
  formatSetupCode,
  generatePasscode,
  isTrivialPasscode,
  parseQrPayload,
  parseSetupCode,
  passcodeToPrs,
  qrPayload,
  verhoeffCheckDigit,
  verhoeffValid,
} from '../../src/core/setup-code.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const TRIVIAL = ['00000000', '11111111', '22222222', '33333333', '44444444', '55555555', '66666666', '77777777', '88888888', '99999999', '12345678', '87654321'];

const passcodeArb = fc.integer({ min: 0, max: 99_999_999 }).map((n) => String(n).padStart(8, '0'));

function codeOf(passcode: string): string {
  return passcode + verhoeffCheckDigit(passcode);
}

function expectDecodeError(run: () => unknown, code?: string): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    if (code !== undefined) expect((error as DecodeError).code).toBe(code);
    return;
  }
  expect.unreachable('expected a DecodeError');
}

describe('Verhoeff check digit (§3.2)', () => {
  it('matches published examples', () => {
    expect(verhoeffCheckDigit('236')).toBe('3');
    expect(verhoeffCheckDigit('12345')).toBe('1');
    expect(verhoeffCheckDigit('142857')).toBe('0');
    expect(verhoeffValid('2363')).toBe(true);
    expect(verhoeffValid('123451')).toBe(true);
    expect(verhoeffValid('1428570')).toBe(true);
    expect(verhoeffValid('2364')).toBe(false);
  });

  it('refuses what is not a digit string', () => {
    expect(() => verhoeffCheckDigit('12a4')).toThrow(RangeError);
    expect(verhoeffValid('')).toBe(false);
    expect(verhoeffValid('2 363')).toBe(false);
    expect(verhoeffValid('２３６３')).toBe(false);
  });

  it('catches every single-digit error', () => {
    fc.assert(
      fc.property(passcodeArb, (passcode) => {
        const code = codeOf(passcode);
        expect(verhoeffValid(code)).toBe(true);
        for (let i = 0; i < code.length; i++) {
          for (let d = 0; d <= 9; d++) {
            if (String(d) === code[i]) continue;
            const typo = code.slice(0, i) + String(d) + code.slice(i + 1);
            expect(verhoeffValid(typo), typo).toBe(false);
          }
        }
      }),
      { seed: 0x5e7, numRuns: 500 },
    );
  });

  it('catches every transposition of adjacent digits', () => {
    fc.assert(
      fc.property(passcodeArb, (passcode) => {
        const code = codeOf(passcode);
        for (let i = 0; i + 1 < code.length; i++) {
          if (code[i] === code[i + 1]) continue;
          const swapped = code.slice(0, i) + code.charAt(i + 1) + code.charAt(i) + code.slice(i + 2);
          expect(verhoeffValid(swapped), swapped).toBe(false);
        }
      }),
      { seed: 0x5e8, numRuns: 500 },
    );
  });
});

describe('passcodes (§3.1)', () => {
  it('knows the trivial codes', () => {
    for (const p of TRIVIAL) expect(isTrivialPasscode(p), p).toBe(true);
    for (const p of ['12345679', '11111112', '01234567', '98765432', '1111111', '111111111']) expect(isTrivialPasscode(p), p).toBe(false);
  });

  it('never prints, encodes or accepts a trivial code', () => {
    for (const p of TRIVIAL) {
      expect(() => formatSetupCode(p)).toThrow(RangeError);
      expect(() => qrPayload(new Uint8Array(8), p)).toThrow(RangeError);
      expect(parseSetupCode(codeOf(p))).toEqual({ ok: false, problem: 'trivial' });
      expectDecodeError(() => parseQrPayload(`VL1:0123456789ABCDEF:${codeOf(p)}`), 'out-of-range');
    }
  });

  it('PRS is the 8 digits as ASCII (§4.2)', () => {
    expect(passcodeToPrs('01234569')).toEqual(Uint8Array.from([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x39]));
    expect(() => passcodeToPrs('0123456')).toThrow(RangeError);
    expect(() => passcodeToPrs('012345690')).toThrow(RangeError);
  });

  it('generates uniform, never trivial, 8-digit codes', () => {
    const random = deterministicRandom('setup-code.test generate');
    const counts = Array.from({ length: 8 }, () => new Array<number>(10).fill(0));
    const N = 2000;
    for (let n = 0; n < N; n++) {
      const p = generatePasscode(random);
      expect(p).toMatch(/^[0-9]{8}$/);
      expect(isTrivialPasscode(p)).toBe(false);
      for (let i = 0; i < 8; i++) {
        const position = counts[i] as number[];
        const digit = Number(p[i]);
        position[digit] = (position[digit] as number) + 1;
      }
    }
    for (const position of counts) {
      for (const count of position) {
        // Expected 200 each (σ ≈ 13.4): every digit appears, none wildly over- or under-represented.
        expect(count).toBeGreaterThan(130);
        expect(count).toBeLessThan(270);
      }
    }
  });

  it('rejects draws at or above the largest multiple of 10^8 instead of folding them', () => {
    const u32 = (v: number) => Uint8Array.from([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
    const scripted = (values: number[]): Random => {
      let i = 0;
      return () => u32(values[i++] as number);
    };
    // 4 200 000 005 % 10^8 would be 00000005; it must be redrawn, not folded.
    expect(generatePasscode(scripted([4_200_000_005, 0xffffffff, 42]))).toBe('00000042');
    expect(generatePasscode(scripted([4_199_999_998]))).toBe('99999998');
    // Trivial codes are redrawn too.
    expect(generatePasscode(scripted([11_111_111, 4_112_345_678, 7]))).toBe('00000007');
  });

  it('fails rather than loops on a broken random source', () => {
    expect(() => generatePasscode(() => new Uint8Array(4))).toThrow(Error);
    expect(() => generatePasscode(() => new Uint8Array(3))).toThrow(RangeError);
  });
});

describe('printed setup code (§3.2)', () => {
  const passcode = '20250917';
  const check = verhoeffCheckDigit(passcode);

  it('formats as DDDD-DDDD-C', () => {
    expect(formatSetupCode(passcode)).toBe(`2025-0917-${check}`);
    expect(() => formatSetupCode('2025091')).toThrow(RangeError);
  });

  it('accepts spaces, dashes or nothing between the groups', () => {
    for (const input of [
      `2025 0917 ${check}`,
      `2025-0917-${check}`,
      `20250917${check}`,
      `  2025 - 0917 - ${check}  `,
      `2025\u20130917\u2013${check}`, // en dashes, as word processors substitute them
      `2025\u00a00917\u00a0${check}`, // no-break spaces from a copied label
      `2 0 2 5 0 9 1 7 ${check}`,
    ]) {
      expect(parseSetupCode(input), input).toEqual({ ok: true, passcode });
    }
  });

  it('names the problem', () => {
    expect(parseSetupCode('')).toEqual({ ok: false, problem: 'length' });
    expect(parseSetupCode('2025-0917')).toEqual({ ok: false, problem: 'length' });
    expect(parseSetupCode(`2025-0917-${check}1`)).toEqual({ ok: false, problem: 'length' });
    expect(parseSetupCode(`2O25-0917-${check}`)).toEqual({ ok: false, problem: 'characters' });
    expect(parseSetupCode(`２０２５-0917-${check}`)).toEqual({ ok: false, problem: 'characters' });
    expect(parseSetupCode(`2025.0917.${check}`)).toEqual({ ok: false, problem: 'characters' });
    expect(parseSetupCode(`2025-0917-${(Number(check) + 1) % 10}`)).toEqual({ ok: false, problem: 'check-digit' });
    expect(parseSetupCode(`2052-0917-${check}`)).toEqual({ ok: false, problem: 'check-digit' });
  });

  it('round-trips every formatted code', () => {
    fc.assert(
      fc.property(passcodeArb.filter((p) => !isTrivialPasscode(p)), (p) => {
        expect(parseSetupCode(formatSetupCode(p))).toEqual({ ok: true, passcode: p });
      }),
      { seed: 0x5e9, numRuns: 300 },
    );
  });
});

describe('QR payload (§3.3)', () => {
  const deviceId = Uint8Array.from([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);

  it('encodes VL1: ‖ device id ‖ : ‖ setup code digits, in QR alphanumeric characters', () => {
    const text = qrPayload(deviceId, '20250917');
    expect(text).toBe(`VL1:0123456789ABCDEF:20250917${verhoeffCheckDigit('20250917')}`);
    expect(text).toMatch(/^[0-9A-Z $%*+\-./:]+$/);
  });

  it('round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), passcodeArb.filter((p) => !isTrivialPasscode(p)), (id, p) => {
        expect(parseQrPayload(qrPayload(id, p))).toEqual({ deviceId: id, passcode: p });
      }),
      { seed: 0x9a, numRuns: 300 },
    );
  });

  it('refuses the §3.3 example: its check digit is wrong (12345678 gives 4), and 12345678 is trivial anyway', () => {
    expect(verhoeffCheckDigit('12345678')).toBe('4');
    expectDecodeError(() => parseQrPayload('VL1:0123456789ABCDEF:123456785'), 'malformed');
    expectDecodeError(() => parseQrPayload('VL1:0123456789ABCDEF:123456784'), 'out-of-range');
  });

  it('refuses anything but the exact form', () => {
    const good = qrPayload(deviceId, '20250917');
    expect(parseQrPayload(good).passcode).toBe('20250917');
    for (const bad of [
      '',
      good.toLowerCase(),
      good.replace('ABCDEF', 'abcdef'),
      `${good}\n`,
      ` ${good}`,
      `${good}0`,
      good.slice(0, -1),
      good.replace('VL1:', 'VL2:'),
      good.replace(':2025', '2025'),
      good.replace('0123456789ABCDEF', '0123456789ABCDE'),
      good.replace('0123456789ABCDEF', '0123456789ABCDEFF'),
      good.replace('20250917', '2025-0917'),
      good.slice(0, -1) + String((Number(good.slice(-1)) + 1) % 10),
    ]) {
      expectDecodeError(() => parseQrPayload(bad));
    }
  });

  it('qrPayload refuses a malformed device id or passcode', () => {
    expect(() => qrPayload(new Uint8Array(7), '20250917')).toThrow(RangeError);
    expect(() => qrPayload(deviceId, '2025091')).toThrow(RangeError);
  });
});

describe('fuzzing', () => {
  /** Arbitrary text, and text made of the characters a setup code uses. */
  const typed = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({ unit: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '-', 'O', '\u2013'), maxLength: 16 }),
  );

  it('parseSetupCode always returns a typed result, and ok only for a valid non-trivial code', () => {
    fc.assert(
      fc.property(typed, (input) => {
        const result = parseSetupCode(input);
        if (result.ok) {
          expect(result.passcode).toMatch(/^[0-9]{8}$/);
          expect(isTrivialPasscode(result.passcode)).toBe(false);
          expect(input.replace(/[^0-9]/g, '')).toBe(codeOf(result.passcode));
        } else {
          expect(['length', 'characters', 'check-digit', 'trivial']).toContain(result.problem);
        }
      }),
      { seed: 0x7a1, numRuns: 3000 },
    );
  });

  it('parseQrPayload returns only what qrPayload would produce, or throws DecodeError', () => {
    const good = qrPayload(Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]), '31415926');
    const nearGood = fc
      .tuple(fc.nat({ max: good.length - 1 }), fc.constantFrom(...'0123456789ABCDEFabcdefVL:- \n'.split('')), fc.boolean())
      .map(([at, ch, insert]) => good.slice(0, at) + ch + good.slice(insert ? at : at + 1));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), nearGood), (text) => {
        try {
          const { deviceId, passcode } = parseQrPayload(text);
          expect(qrPayload(deviceId, passcode)).toBe(text);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { seed: 0x7a2, numRuns: 3000 },
    );
  });
});
