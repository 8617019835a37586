/**
 * The recovery code (docs/vault.md §1.4): 120 random bits shown once at set-up, typed back in
 * when every other way of unlocking is lost.
 *
 * Form: the 15 bytes are read as a big-endian bit string and cut into 24 five-bit symbols of
 * Crockford's base32 (`0-9 A-Z` without `I L O U`). They are shown in six groups of four, and
 * each group is followed by **one check symbol**, so a group on screen or paper is five
 * characters and the whole code reads `7K2MX-QP4RA-…` (6 × 5 characters, 5 dashes, 35 in all).
 *
 * Check symbol of group g (0-based, g = 0…5) with data symbols v0 v1 v2 v3 (values 0…31):
 *
 *     check = α⁵·(g + 1)  ⊕  α¹·v0  ⊕  α²·v1  ⊕  α³·v2  ⊕  α⁴·v3        in GF(32)
 *
 * where GF(32) = GF(2)[x] / (x⁵ + x² + 1), α = x (the value 2), ⊕ is XOR and · the field
 * product. A group is valid when α⁰·check ⊕ α⁵·(g + 1) ⊕ Σ αⁱ⁺¹·vᵢ = 0. Because the five
 * weights α⁰…α⁴ are distinct and non-zero in a field, this one symbol catches **every single
 * wrong symbol** in a group (including a wrong check symbol) and **every transposition of two
 * different symbols** within a group; the α⁵·(g + 1) term also catches two whole groups swapped
 * or a group typed twice. Unlike Crockford's own mod-37 check, the check symbol stays within the
 * 32 ordinary symbols (no `* ~ $ = U` to type).
 *
 * Parsing is tolerant of what people do when typing a code: any case, spaces, dashes (ASCII and
 * Unicode), full-width characters (NFKC), and Crockford's aliases O → 0, I and L → 1. The result
 * is typed, and a problem names the group (1-based, as the user sees them) when it can, so the
 * UI can say "group 3 looks mistyped" before the code costs an attempt.
 */
import type { Random } from '../../src/core/primitives.js';

export const RECOVERY_CODE_BYTES = 15;
export const RECOVERY_CODE_GROUPS = 6;
/** Data symbols per group (the check symbol comes after them). */
export const RECOVERY_GROUP_DATA = 4;
/** Characters per printed group: four data symbols and the check symbol. */
export const RECOVERY_GROUP_LENGTH = RECOVERY_GROUP_DATA + 1;
/** Symbols of a whole code without separators. */
export const RECOVERY_CODE_SYMBOLS = RECOVERY_CODE_GROUPS * RECOVERY_GROUP_LENGTH;

/** Crockford's base32 alphabet: digits and upper-case letters without I, L, O, U. */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type RecoveryCodeProblem = 'length' | 'characters' | 'check';
export type ParsedRecoveryCode =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly problem: RecoveryCodeProblem; readonly group?: number };

// ── GF(32) ──────────────────────────────────────────────────────────────────────────────────────

const GF_POLY = 0b100101; // x⁵ + x² + 1, primitive

function gfMul(a: number, b: number): number {
  let result = 0;
  let x = a;
  let y = b;
  while (y !== 0) {
    if (y & 1) result ^= x;
    y >>= 1;
    x <<= 1;
    if (x & 0b100000) x ^= GF_POLY;
  }
  return result;
}

/** α⁰ … α⁵. */
const ALPHA_POW: readonly number[] = (() => {
  const out = [1];
  for (let i = 1; i <= 5; i++) out.push(gfMul(out[i - 1] as number, 2));
  return out;
})();

function pow(i: number): number {
  return ALPHA_POW[i] as number;
}

/** The check value of one group: group index (0-based) and its four data values. */
function checkValue(group: number, data: readonly number[]): number {
  let c = gfMul(pow(5), group + 1);
  for (let i = 0; i < RECOVERY_GROUP_DATA; i++) c ^= gfMul(pow(i + 1), data[i] as number);
  return c;
}

// ── Symbols ─────────────────────────────────────────────────────────────────────────────────────

const SYMBOL_VALUE: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  for (let i = 0; i < CROCKFORD_ALPHABET.length; i++) map.set(CROCKFORD_ALPHABET[i] as string, i);
  map.set('O', 0);
  map.set('I', 1);
  map.set('L', 1);
  return map;
})();

function symbol(value: number): string {
  return CROCKFORD_ALPHABET[value] as string;
}

/**
 * The check symbol of group `group` (0-based) given its four data symbols (canonical or alias,
 * any case). Throws `RangeError` on anything else.
 */
export function recoveryCheckSymbol(group: number, dataSymbols: string): string {
  if (!Number.isInteger(group) || group < 0 || group >= RECOVERY_CODE_GROUPS) throw new RangeError('no such group');
  if (dataSymbols.length !== RECOVERY_GROUP_DATA) throw new RangeError('a group has four data symbols');
  const values: number[] = [];
  for (const ch of dataSymbols.toUpperCase()) {
    const v = SYMBOL_VALUE.get(ch);
    if (v === undefined) throw new RangeError('not a Crockford base32 symbol');
    values.push(v);
  }
  return symbol(checkValue(group, values));
}

// ── Generate and format ─────────────────────────────────────────────────────────────────────────

/** 120 fresh random bits. The caller wipes them once the key is derived and the code shown. */
export function generateRecoveryBytes(random: Random): Uint8Array {
  const bytes = random(RECOVERY_CODE_BYTES);
  if (bytes.length !== RECOVERY_CODE_BYTES) throw new RangeError('random source returned the wrong length');
  return bytes;
}

/** The 24 five-bit values of 15 bytes, most significant bit first. */
function toFiveBit(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = ((acc << 8) | (bytes[i] as number)) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >> bits) & 31);
    }
  }
  return out;
}

function fromFiveBit(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(RECOVERY_CODE_BYTES);
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const v of values) {
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** `XXXXC-XXXXC-XXXXC-XXXXC-XXXXC-XXXXC`: six groups of four symbols and their check symbol. */
export function formatRecoveryCode(bytes: Uint8Array): string {
  if (bytes.length !== RECOVERY_CODE_BYTES) throw new RangeError('a recovery code is 15 bytes');
  const values = toFiveBit(bytes);
  const groups: string[] = [];
  for (let g = 0; g < RECOVERY_CODE_GROUPS; g++) {
    const data = values.slice(g * RECOVERY_GROUP_DATA, (g + 1) * RECOVERY_GROUP_DATA);
    groups.push(data.map(symbol).join('') + symbol(checkValue(g, data)));
  }
  return groups.join('-');
}

// ── Parse ───────────────────────────────────────────────────────────────────────────────────────

/** Whitespace, the ASCII hyphen-minus and the Unicode dashes and minus keyboards substitute. */
const SEPARATOR = /[\s\-\u2010-\u2015\u2212]/;

/**
 * Parses what the user typed. Checked in order: characters (a symbol outside the alphabet and
 * its aliases), length (30 symbols once separators are dropped), then each group's check symbol.
 * `group` (1-based) says where: for `characters`, the group the bad character falls in; for
 * `length`, the first group of the wrong size when the user typed six separated groups; for
 * `check`, the first group whose check symbol does not match.
 */
export function parseRecoveryCode(input: string): ParsedRecoveryCode {
  const text = input.normalize('NFKC');
  const values: number[] = [];
  const parts: number[] = [];
  let partLength = 0;
  for (const ch of text) {
    if (SEPARATOR.test(ch)) {
      if (partLength > 0) parts.push(partLength);
      partLength = 0;
      continue;
    }
    const v = SYMBOL_VALUE.get(ch.length === 1 && ch >= 'a' && ch <= 'z' ? ch.toUpperCase() : ch);
    if (v === undefined) {
      const group = Math.floor(values.length / RECOVERY_GROUP_LENGTH) + 1;
      return group <= RECOVERY_CODE_GROUPS ? { ok: false, problem: 'characters', group } : { ok: false, problem: 'characters' };
    }
    values.push(v);
    partLength++;
  }
  if (partLength > 0) parts.push(partLength);

  if (values.length !== RECOVERY_CODE_SYMBOLS) {
    if (parts.length === RECOVERY_CODE_GROUPS) {
      const bad = parts.findIndex((n) => n !== RECOVERY_GROUP_LENGTH);
      if (bad >= 0) return { ok: false, problem: 'length', group: bad + 1 };
    }
    return { ok: false, problem: 'length' };
  }

  const data: number[] = [];
  for (let g = 0; g < RECOVERY_CODE_GROUPS; g++) {
    const group = values.slice(g * RECOVERY_GROUP_LENGTH, (g + 1) * RECOVERY_GROUP_LENGTH);
    const groupData = group.slice(0, RECOVERY_GROUP_DATA);
    if (checkValue(g, groupData) !== group[RECOVERY_GROUP_DATA]) return { ok: false, problem: 'check', group: g + 1 };
    data.push(...groupData);
  }
  return { ok: true, bytes: fromFiveBit(data) };
}

