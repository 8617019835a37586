/**
 * Time-based one-time passwords: RFC 6238 (TOTP) over RFC 4226 (HOTP) with HMAC-SHA1, 30-second
 * steps, 6 digits — what every authenticator app speaks by default — and RFC 4648 base32 for the
 * secret the user types or scans.
 *
 * `matchTotp` accepts the current step and one step either side (RFC 6238 §5.2 clock drift) and
 * only a step later than the last one used, so each code works once. All candidate codes are
 * compared, each in constant time, so the timing does not say which step matched.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { equalBytes, utf8 } from '../../src/core/bytes.js';
import { EncodingError } from './errors.js';

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_SECRET_BYTES = 20;
/** Steps accepted either side of the current one. */
export const TOTP_DRIFT_STEPS = 1;

export type TotpHash = 'sha1' | 'sha256' | 'sha512';
const HASHES = { sha1, sha256, sha512 } as const;

/** RFC 4226 §5.3: HOTP(K, C) with dynamic truncation, `digits` decimal digits. */
export function hotp(secret: Uint8Array, counter: bigint, digits = TOTP_DIGITS, hash: TotpHash = 'sha1'): string {
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, counter);
  const mac = hmac(HASHES[hash], secret, message);
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = new DataView(mac.buffer, mac.byteOffset + offset, 4).getUint32(0) & 0x7fff_ffff;
  return (binary % 10 ** digits).toString().padStart(digits, '0');
}

/** RFC 6238 §4.2: T = floor((unix time − T0) / X), T0 = 0. */
export function totpStep(unixSeconds: number, stepSeconds = TOTP_STEP_SECONDS): bigint {
  return BigInt(Math.floor(unixSeconds / stepSeconds));
}

export function totp(secret: Uint8Array, unixSeconds: number, digits = TOTP_DIGITS, hash: TotpHash = 'sha1'): string {
  return hotp(secret, totpStep(unixSeconds), digits, hash);
}

/**
 * Returns the step the code belongs to, or undefined. A step at or before `lastUsedStep` never
 * matches (one use per code, RFC 6238 §5.2).
 */
export function matchTotp(secret: Uint8Array, code: string, unixSeconds: number, lastUsedStep?: bigint): bigint | undefined {
  const submitted = utf8(code);
  const now = totpStep(unixSeconds);
  let matched: bigint | undefined;
  for (let d = -TOTP_DRIFT_STEPS; d <= TOTP_DRIFT_STEPS; d++) {
    const step = now + BigInt(d);
    if (step < 0n) continue;
    const ok = equalBytes(utf8(hotp(secret, step)), submitted);
    if (ok && (lastUsedStep === undefined || step > lastUsedStep)) matched ??= step;
  }
  return matched;
}

/**
 * Parses what a person typed: six digits, optionally split by spaces or a dash ("123 456").
 * Anything else is an `EncodingError`.
 */
export function parseTotpCode(input: string): string {
  if (input.length > 16) throw new EncodingError('one-time code: too long');
  const digits = input.replace(/[\s-]/g, '');
  if (!/^[0-9]{6}$/.test(digits)) throw new EncodingError('one-time code: expected 6 digits');
  return digits;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 §6 base32, without padding (as otpauth URIs carry it). */
export function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 as people copy it: any case, spaces and padding ignored; non-canonical tails rejected. */
export function decodeBase32(text: string): Uint8Array {
  if (text.length > 256) throw new EncodingError('base32: too long');
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of clean) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new EncodingError('base32: invalid character');
    buffer = (buffer << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits >= 5 || buffer !== 0) throw new EncodingError('base32: non-canonical ending');
  return new Uint8Array(out);
}

/** The `otpauth://` URI authenticator apps import (Key Uri Format). */
export function otpauthUri(secret: Uint8Array, issuer: string, username: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(username)}`;
  const query = new URLSearchParams({ secret: encodeBase32(secret), issuer, algorithm: 'SHA1', digits: String(TOTP_DIGITS), period: String(TOTP_STEP_SECONDS) });
  return `otpauth://totp/${label}?${query.toString()}`;
}
