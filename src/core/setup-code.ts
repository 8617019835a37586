/**
 * Setup code: passcode generation, the Verhoeff check digit, the printed form and the QR payload
 * (docs/protocol.md §3 Setup code: §3.1 Passcode, §3.2 Printed code, §3.3 QR payload; the CPace
 * PRS of §4.2).
 *
 * The passcode is the only secret the user ever handles, and each pairing attempt costs one guess
 * (§4.5), so two things matter here: the passcode is uniform over the allowed codes, and a typing
 * error is caught by the check digit before it costs an attempt (§3.2).
 */
import { DecodeError } from './errors.js';
import { deviceIdHex } from './certificate.js';
import { fromHex, utf8 } from './bytes.js';
import type { Random } from './primitives.js';

export const PASSCODE_DIGITS = 8;
export const QR_PREFIX = 'VL1:';

// ── Passcode (§3.1) ─────────────────────────────────────────────────────────────────────────────

const PASSCODE_PATTERN = /^[0-9]{8}$/;

/** The codes §3.1 refuses: eight equal digits, and the two runs. */
export function isTrivialPasscode(passcode: string): boolean {
  if (passcode === '12345678' || passcode === '87654321') return true;
  return PASSCODE_PATTERN.test(passcode) && /^(\d)\1{7}$/.test(passcode);
}

const PASSCODE_SPACE = 100_000_000;
/** The largest multiple of 10^8 that fits a u32: draws at or above it are rejected, not folded. */
const DRAW_LIMIT = Math.floor(0x1_0000_0000 / PASSCODE_SPACE) * PASSCODE_SPACE;
/**
 * A draw is rejected with probability about 2.2 %, so 64 rejections in a row mean the random
 * source is broken (e.g. constant); failing beats looping for ever or emitting a biased code.
 */
const MAX_DRAWS = 64;

/**
 * A uniformly random passcode that is not trivial (§3.1): rejection sampling on 32-bit draws, so
 * no code is likelier than another (a plain `% 10^8` would favour the low 94 967 296 codes).
 */
export function generatePasscode(random: Random): string {
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const b = random(4);
    if (b.length !== 4) throw new RangeError('random source returned the wrong length');
    const value = (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0;
    if (value >= DRAW_LIMIT) continue;
    const passcode = String(value % PASSCODE_SPACE).padStart(PASSCODE_DIGITS, '0');
    if (!isTrivialPasscode(passcode)) return passcode;
  }
  throw new Error('random source looks broken');
}

/** The CPace PRS (§4.2): the 8 passcode digits as ASCII, without the check digit. */
export function passcodeToPrs(passcode: string): Uint8Array {
  if (!PASSCODE_PATTERN.test(passcode)) throw new RangeError('a passcode is 8 digits');
  return utf8(passcode);
}

// ── Verhoeff check digit (§3.2) ─────────────────────────────────────────────────────────────────
// Verhoeff's dihedral-group code catches every single-digit error and every transposition of
// adjacent digits, the two most common typing errors, which a mod-10 sum does not.

/** Multiplication table of the dihedral group D5, row-major. */
const D = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 0, 6, 7, 8, 9, 5, 2, 3, 4, 0, 1, 7, 8, 9, 5, 6, 3, 4, 0, 1, 2, 8, 9, 5,
  6, 7, 4, 0, 1, 2, 3, 9, 5, 6, 7, 8, 5, 9, 8, 7, 6, 0, 4, 3, 2, 1, 6, 5, 9, 8, 7, 1, 0, 4, 3, 2, 7, 6, 5, 9, 8, 2,
  1, 0, 4, 3, 8, 7, 6, 5, 9, 3, 2, 1, 0, 4, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
] as const;
/** Position permutations: row i is the permutation (1 5 8 9 4 2 7 0)(3 6) applied i times. */
const P = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 5, 7, 6, 2, 8, 3, 0, 9, 4, 5, 8, 0, 3, 7, 9, 6, 1, 4, 2, 8, 9, 1, 6, 0, 4, 3, 5,
  2, 7, 9, 4, 5, 3, 1, 2, 6, 8, 7, 0, 4, 2, 8, 6, 5, 7, 3, 9, 0, 1, 2, 7, 9, 3, 8, 0, 6, 4, 1, 5, 7, 0, 4, 6, 9, 1,
  3, 2, 5, 8,
] as const;
/** Inverses in D5. */
const INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9] as const;

/** Runs the Verhoeff accumulator over `digits` from the right, the first one at position `offset`. */
function verhoeffAccumulate(digits: string, offset: number): number {
  let c = 0;
  for (let i = 0; i < digits.length; i++) {
    const digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    const permuted = P[((i + offset) % 8) * 10 + digit] as number;
    c = D[c * 10 + permuted] as number;
  }
  return c;
}

const DIGITS_PATTERN = /^[0-9]*$/;

/** The Verhoeff check digit of a string of decimal digits. */
export function verhoeffCheckDigit(digits: string): string {
  if (!DIGITS_PATTERN.test(digits)) throw new RangeError('only decimal digits have a Verhoeff check digit');
  return String(INV[verhoeffAccumulate(digits, 1)]);
}

/** Whether `digits` (payload followed by its check digit) is a valid Verhoeff code. */
export function verhoeffValid(digits: string): boolean {
  return digits.length > 0 && DIGITS_PATTERN.test(digits) && verhoeffAccumulate(digits, 0) === 0;
}

// ── Printed code (§3.2) ─────────────────────────────────────────────────────────────────────────

function checkPasscode(passcode: string): void {
  if (!PASSCODE_PATTERN.test(passcode)) throw new RangeError('a passcode is 8 digits');
  // A trivial code is refused at manufacture (§3.1): never print or encode one.
  if (isTrivialPasscode(passcode)) throw new RangeError('trivial passcode');
}

/** The printed setup code `DDDD-DDDD-C` (§3.2). */
export function formatSetupCode(passcode: string): string {
  checkPasscode(passcode);
  return `${passcode.slice(0, 4)}-${passcode.slice(4)}-${verhoeffCheckDigit(passcode)}`;
}

export type SetupCodeProblem = 'length' | 'characters' | 'check-digit' | 'trivial';
export type ParsedSetupCode = { ok: true; passcode: string } | { ok: false; problem: SetupCodeProblem };

/**
 * Separators a user may type or paste between groups: whitespace, the ASCII hyphen-minus and the
 * Unicode dashes and minus that word processors and phone keyboards substitute for it.
 */
const SEPARATORS = /[\s\-\u2010-\u2015\u2212]/g;

/**
 * Parses what the user typed (§3.2). The problems are distinct so the UI can say what is wrong
 * ("a digit looks mistyped" for `check-digit`); none of them costs a pairing attempt.
 * Checked in order: characters, length, check digit, trivial.
 */
export function parseSetupCode(input: string): ParsedSetupCode {
  const digits = input.replace(SEPARATORS, '');
  if (!DIGITS_PATTERN.test(digits)) return { ok: false, problem: 'characters' };
  if (digits.length !== PASSCODE_DIGITS + 1) return { ok: false, problem: 'length' };
  if (!verhoeffValid(digits)) return { ok: false, problem: 'check-digit' };
  const passcode = digits.slice(0, PASSCODE_DIGITS);
  if (isTrivialPasscode(passcode)) return { ok: false, problem: 'trivial' };
  return { ok: true, passcode };
}

// ── QR payload (§3.3) ───────────────────────────────────────────────────────────────────────────

/** `VL1:` ‖ device id (16 upper-case hex) ‖ `:` ‖ the 9 digits of the setup code (§3.3). */
export function qrPayload(deviceId: Uint8Array, passcode: string): string {
  checkPasscode(passcode);
  return `${QR_PREFIX}${deviceIdHex(deviceId)}:${passcode}${verhoeffCheckDigit(passcode)}`;
}

/** Exactly the §3.3 form, nothing before or after; `$` without the `m` flag matches only at the end. */
const QR_PATTERN = /^VL1:([0-9A-F]{16}):([0-9]{9})$/;

/**
 * Parses a scanned QR payload (§3.3). Throws `DecodeError` on anything but the exact form with a
 * valid check digit ('malformed'), or on a trivial passcode ('out-of-range'), which the hub
 * refuses whatever its source (§3.1).
 */
export function parseQrPayload(text: string): { deviceId: Uint8Array; passcode: string } {
  const match = QR_PATTERN.exec(text);
  const hex = match?.[1];
  const digits = match?.[2];
  if (hex === undefined || digits === undefined) throw new DecodeError('malformed', 'not a Vitalock QR code');
  if (!verhoeffValid(digits)) throw new DecodeError('malformed', 'QR code check digit is wrong');
  const passcode = digits.slice(0, PASSCODE_DIGITS);
  if (isTrivialPasscode(passcode)) throw new DecodeError('out-of-range', 'trivial passcode');
  return { deviceId: fromHex(hex), passcode };
}
