/**
 * Tests of the recovery code (docs/vault.md §1.4): the printed form, tolerant parsing, and the
 * per-group check symbol catching every single wrong symbol and every transposition.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CROCKFORD_ALPHABET,
  RECOVERY_CODE_BYTES,
  RECOVERY_CODE_SYMBOLS,
  RECOVERY_GROUP_LENGTH,
  formatRecoveryCode,
  generateRecoveryBytes,
  parseRecoveryCode,
  recoveryCheckSymbol,
} from '../../workers/vault/recovery-code.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const bytesArb = fc.uint8Array({ minLength: RECOVERY_CODE_BYTES, maxLength: RECOVERY_CODE_BYTES });
const FORM = /^([0-9A-HJKMNP-TV-Z]{5}-){5}[0-9A-HJKMNP-TV-Z]{5}$/;

/** The code without dashes: 30 canonical symbols. */
const symbolsOf = (code: string): string => code.replace(/-/g, '');
const valueOf = (ch: string): number => CROCKFORD_ALPHABET.indexOf(ch);

describe('recovery code: form (§1.4)', () => {
  it('is 120 bits in six dash-separated groups of four symbols and a check symbol', () => {
    const bytes = generateRecoveryBytes(deterministicRandom('recovery-form'));
    expect(bytes.length).toBe(15);
    const code = formatRecoveryCode(bytes);
    expect(code).toMatch(FORM);
    expect(code.length).toBe(35);
  });

  it('encodes the bits big-endian, five per symbol', () => {
    expect(formatRecoveryCode(new Uint8Array(15)).split('-').map((g) => g.slice(0, 4))).toEqual(Array(6).fill('0000'));
    const ones = formatRecoveryCode(new Uint8Array(15).fill(0xff));
    expect(ones.split('-').map((g) => g.slice(0, 4))).toEqual(Array(6).fill('ZZZZ'));
    // 0x08 = 00001 000…: the first symbol is 1, the rest of the first group 0.
    const first = new Uint8Array(15);
    first[0] = 0x08;
    expect(formatRecoveryCode(first).slice(0, 4)).toBe('1000');
  });

  it('has a check symbol that depends on the group position', () => {
    expect(recoveryCheckSymbol(0, '0000')).not.toBe(recoveryCheckSymbol(1, '0000'));
    const zero = formatRecoveryCode(new Uint8Array(15)).split('-');
    expect(new Set(zero).size).toBe(6);
    expect(() => recoveryCheckSymbol(6, '0000')).toThrow(RangeError);
    expect(() => recoveryCheckSymbol(0, '000')).toThrow(RangeError);
    expect(() => recoveryCheckSymbol(0, '00U0')).toThrow(RangeError);
  });

  it('refuses to format anything but 15 bytes', () => {
    expect(() => formatRecoveryCode(new Uint8Array(16))).toThrow(RangeError);
    expect(() => generateRecoveryBytes(() => new Uint8Array(3))).toThrow(RangeError);
  });
});

describe('recovery code: parsing', () => {
  it('parse(format(x)) = x', () => {
    fc.assert(
      fc.property(bytesArb, (bytes) => {
        const parsed = parseRecoveryCode(formatRecoveryCode(bytes));
        return parsed.ok && Buffer.from(parsed.bytes).equals(Buffer.from(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('tolerates case, spaces, missing or Unicode dashes, full-width characters and the aliases O, I, L', () => {
    fc.assert(
      fc.property(bytesArb, fc.integer({ min: 0, max: 2 ** 31 }), (bytes, seed) => {
        const code = formatRecoveryCode(bytes);
        let i = 0;
        const pick = (): number => (seed >> i++ % 31) & 1;
        const typed = [...code]
          .map((ch) => {
            if (ch === '-') return [' - ', '', ' ', '\u2013', '\u2212'][(seed + i++) % 5] as string;
            if (ch === '0' && pick()) return pick() ? 'o' : 'O';
            if (ch === '1' && pick()) return ['i', 'I', 'l', 'L'][(seed + i++) % 4] as string;
            return pick() ? ch.toLowerCase() : ch;
          })
          .join('');
        const parsed = parseRecoveryCode(`  ${typed}\n`);
        return parsed.ok && Buffer.from(parsed.bytes).equals(Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
    const code = formatRecoveryCode(new Uint8Array(15).fill(0x5a));
    const fullWidth = [...code].map((c) => (c === '-' ? '－' : String.fromCharCode(c.charCodeAt(0) + 0xfee0))).join('');
    expect(parseRecoveryCode(fullWidth).ok).toBe(true);
  });

  it('catches any single wrong symbol and names its group', () => {
    fc.assert(
      fc.property(bytesArb, fc.integer({ min: 0, max: RECOVERY_CODE_SYMBOLS - 1 }), fc.integer({ min: 1, max: 31 }), (bytes, at, delta) => {
        const symbols = symbolsOf(formatRecoveryCode(bytes));
        const wrong = CROCKFORD_ALPHABET[(valueOf(symbols[at] as string) + delta) % 32] as string;
        const typed = symbols.slice(0, at) + wrong + symbols.slice(at + 1);
        const parsed = parseRecoveryCode(typed);
        return !parsed.ok && parsed.problem === 'check' && parsed.group === Math.floor(at / RECOVERY_GROUP_LENGTH) + 1;
      }),
      { numRuns: 2000 },
    );
  });

  it('catches every transposition of two different symbols within a group', () => {
    fc.assert(
      fc.property(bytesArb, fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), (bytes, g, a, b) => {
        const symbols = [...symbolsOf(formatRecoveryCode(bytes))];
        const i = g * 5 + a;
        const j = g * 5 + b;
        fc.pre(symbols[i] !== symbols[j]);
        [symbols[i], symbols[j]] = [symbols[j] as string, symbols[i] as string];
        const parsed = parseRecoveryCode(symbols.join(''));
        return !parsed.ok && parsed.problem === 'check' && parsed.group === g + 1;
      }),
      { numRuns: 1000 },
    );
  });

  it('catches two whole groups swapped', () => {
    fc.assert(
      fc.property(bytesArb, fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), (bytes, a, b) => {
        const groups = formatRecoveryCode(bytes).split('-');
        fc.pre(a !== b && groups[a]?.slice(0, 4) !== groups[b]?.slice(0, 4));
        [groups[a], groups[b]] = [groups[b] as string, groups[a] as string];
        const parsed = parseRecoveryCode(groups.join('-'));
        return !parsed.ok && parsed.problem === 'check';
      }),
      { numRuns: 300 },
    );
  });

  it('reports a wrong length, and the group when six groups were typed', () => {
    const code = formatRecoveryCode(new Uint8Array(15).fill(7));
    expect(parseRecoveryCode('')).toEqual({ ok: false, problem: 'length' });
    expect(parseRecoveryCode(code.slice(0, -1))).toEqual({ ok: false, problem: 'length', group: 6 });
    expect(parseRecoveryCode(symbolsOf(code).slice(0, -1))).toEqual({ ok: false, problem: 'length' });
    expect(parseRecoveryCode(code + '0')).toEqual({ ok: false, problem: 'length', group: 6 });
    const groups = code.split('-');
    groups[2] = (groups[2] as string).slice(1);
    expect(parseRecoveryCode(groups.join('-'))).toEqual({ ok: false, problem: 'length', group: 3 });
    // 24 symbols without the check symbols is not accepted either.
    expect(parseRecoveryCode(code.split('-').map((g) => g.slice(0, 4)).join('-'))).toEqual({ ok: false, problem: 'length', group: 1 });
  });

  it('catches any single deleted or inserted symbol', () => {
    fc.assert(
      fc.property(bytesArb, fc.integer({ min: 0, max: RECOVERY_CODE_SYMBOLS - 1 }), fc.constantFrom(...CROCKFORD_ALPHABET), (bytes, at, extra) => {
        const symbols = symbolsOf(formatRecoveryCode(bytes));
        const deleted = parseRecoveryCode(symbols.slice(0, at) + symbols.slice(at + 1));
        const inserted = parseRecoveryCode(symbols.slice(0, at) + extra + symbols.slice(at));
        return !deleted.ok && deleted.problem === 'length' && !inserted.ok && inserted.problem === 'length';
      }),
    );
  });

  it('reports characters outside the alphabet with their group', () => {
    const symbols = symbolsOf(formatRecoveryCode(new Uint8Array(15)));
    expect(parseRecoveryCode('U' + symbols.slice(1))).toEqual({ ok: false, problem: 'characters', group: 1 });
    expect(parseRecoveryCode(symbols.slice(0, 12) + '*' + symbols.slice(13))).toEqual({ ok: false, problem: 'characters', group: 3 });
    expect(parseRecoveryCode(symbols + 'é')).toEqual({ ok: false, problem: 'characters' });
    expect(parseRecoveryCode(symbols.slice(0, 29) + '_')).toEqual({ ok: false, problem: 'characters', group: 6 });
  });
});
