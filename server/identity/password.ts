/**
 * Password hashing with Argon2id (RFC 9106), stored as a PHC string:
 * `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (standard base64 without padding, as the PHC
 * string format and the reference implementation write it).
 *
 * Parameters: at least OWASP's minimum for Argon2id (m = 19 MiB, t = 2, p = 1), 16-byte random salt,
 * 32-byte output. Verification compares in constant time, and `verifyPassword` against the
 * dummy hash costs the same as against a real one, so an unknown username takes as long as a wrong
 * password (no user enumeration through timing).
 */
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { randomBytes } from 'node:crypto';
import { equalBytes, utf8 } from '../../src/core/bytes.js';
import { EncodingError } from './errors.js';

export interface Argon2Params {
  /** Memory in KiB. */
  readonly m: number;
  /** Iterations. */
  readonly t: number;
  /** Lanes. */
  readonly p: number;
}

export const DEFAULT_ARGON2: Argon2Params = { m: 19_456, t: 2, p: 1 };
/** Bounds on stored parameters, so a tampered row cannot make one login cost minutes or gigabytes. */
const LIMITS = { mMin: 19_456, mMax: 262_144, tMin: 2, tMax: 10, pMin: 1, pMax: 4 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const MAX_PHC_LENGTH = 200;

export interface PasswordHash {
  readonly params: Argon2Params;
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

export async function hashPassword(password: string, params: Argon2Params = DEFAULT_ARGON2): Promise<string> {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const hash = await derive(password, salt, params);
  return encodePhc({ params, salt, hash });
}

/** True when `password` matches `phc`; false for a wrong password. Throws only on a corrupt PHC string. */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const stored = parsePhc(phc);
  const candidate = await derive(password, stored.salt, stored.params);
  return equalBytes(candidate, stored.hash);
}

function derive(password: string, salt: Uint8Array, { m, t, p }: Argon2Params): Promise<Uint8Array> {
  // NFC so that the same password typed on two keyboards hashes the same.
  return argon2idAsync(utf8(password.normalize('NFC')), salt, { m, t, p, dkLen: HASH_BYTES, asyncTick: 20 });
}

export function encodePhc({ params, salt, hash }: PasswordHash): string {
  return `$argon2id$v=19$m=${params.m},t=${params.t},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

const PHC = /^\$argon2id\$v=19\$m=([1-9][0-9]{0,9}),t=([1-9][0-9]{0,2}),p=([1-9][0-9]?)\$([A-Za-z0-9+/]{22,64})\$([A-Za-z0-9+/]{43,86})$/;

/** Parses an Argon2id PHC string; rejects other algorithms, versions and out-of-bound parameters. */
export function parsePhc(phc: string): PasswordHash {
  if (phc.length > MAX_PHC_LENGTH) throw new EncodingError('password hash: too long');
  const m = PHC.exec(phc);
  if (m === null) throw new EncodingError('password hash: not an Argon2id v19 PHC string');
  const params = { m: Number(m[1]), t: Number(m[2]), p: Number(m[3]) };
  if (params.m < LIMITS.mMin || params.m > LIMITS.mMax || params.t < LIMITS.tMin || params.t > LIMITS.tMax || params.p < LIMITS.pMin || params.p > LIMITS.pMax) {
    throw new EncodingError('password hash: parameters out of bounds');
  }
  if (params.m < 8 * params.p) throw new EncodingError('password hash: parameters out of bounds');
  const salt = unb64(m[4] ?? '');
  const hash = unb64(m[5] ?? '');
  if (salt.length < SALT_BYTES || hash.length !== HASH_BYTES) throw new EncodingError('password hash: wrong salt or hash length');
  return { params, salt, hash };
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

function unb64(text: string): Uint8Array {
  // Canonical only: a length of 4k+1 characters cannot come from any byte string.
  if (text.length % 4 === 1) throw new EncodingError('password hash: bad base64');
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (b64(bytes) !== text) throw new EncodingError('password hash: bad base64');
  return bytes;
}

let dummy: Promise<string> | undefined;
/**
 * A hash of a random password with the default parameters: verifying against it costs what a real
 * verification costs. Used when the username does not exist.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString('base64'));
  return dummy;
}
