/**
 * Brute-force defences of the sign-in interaction (issue 5 §3), kept in the database so every
 * instance behind a load balancer sees the same counts:
 *
 * - per account: after `FREE_FAILURES` consecutive failures (password or second factor), each
 *   within an hour of the last, the username is locked for 30 s, doubling with each further
 *   failure up to 15 min. The count is
 *   kept per attempted username (hashed) whether or not the account exists, so a lockout does not
 *   reveal which usernames exist. A success clears it.
 * - per client address: at most `attempts` sign-in submissions per fixed window.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Queryable } from '../db/database.js';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { normaliseUsername } from './accounts.js';

export const FREE_FAILURES = 5;
export const BASE_LOCK_SECONDS = 30;
export const MAX_LOCK_SECONDS = 15 * 60;
/** A failure older than this no longer counts: the count starts again. */
export const FAILURE_MEMORY_MS = 3_600_000;

function usernameKey(username: string): string {
  return toHex(sha256(utf8('vitalock sign-in throttle\0' + normaliseUsername(username).slice(0, 256))));
}

/** Lock duration after `failures` consecutive failures (0 while under the free allowance). */
export function lockSeconds(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(MAX_LOCK_SECONDS, BASE_LOCK_SECONDS * 2 ** Math.min(failures - FREE_FAILURES, 20));
}

/** Seconds the username must still wait, or 0. */
export async function lockedFor(db: Queryable, username: string, now: Date): Promise<number> {
  const r = await db.query<{ locked_until: Date | null }>('SELECT locked_until FROM identity_login_throttle WHERE username_hash = $1', [usernameKey(username)]);
  const until = r.rows[0]?.locked_until;
  if (until === null || until === undefined) return 0;
  return Math.max(0, Math.ceil((until.getTime() - now.getTime()) / 1000));
}

/** Forget usernames whose last failure is a day old and that are not locked, about once per this many failures. */
const PRUNE_EVERY = 100;
let failuresSincePrune = 0;

/** Records a failure; returns the lock now in force, in seconds (0 if none). */
export async function recordFailure(db: Queryable, username: string, now: Date): Promise<number> {
  if (++failuresSincePrune >= PRUNE_EVERY) {
    failuresSincePrune = 0;
    await db.query('DELETE FROM identity_login_throttle WHERE last_failure_at < $1 AND (locked_until IS NULL OR locked_until < $2)', [new Date(now.getTime() - 86_400_000), now]);
  }
  const r = await db.query<{ failures: number }>(
    `INSERT INTO identity_login_throttle (username_hash, failures, last_failure_at) VALUES ($1, 1, $2)
     ON CONFLICT (username_hash) DO UPDATE SET last_failure_at = $2,
       failures = CASE WHEN identity_login_throttle.last_failure_at < $3 THEN 1 ELSE identity_login_throttle.failures + 1 END
     RETURNING failures`,
    [usernameKey(username), now, new Date(now.getTime() - FAILURE_MEMORY_MS)],
  );
  const seconds = lockSeconds(r.rows[0]?.failures ?? 1);
  if (seconds > 0) {
    await db.query('UPDATE identity_login_throttle SET locked_until = $2 WHERE username_hash = $1', [usernameKey(username), new Date(now.getTime() + seconds * 1000)]);
  }
  return seconds;
}

export async function recordSuccess(db: Queryable, username: string): Promise<void> {
  await db.query('DELETE FROM identity_login_throttle WHERE username_hash = $1', [usernameKey(username)]);
}

/**
 * Counts one sign-in submission from `address`; returns false when the address is over its limit
 * for the current window. Windows older than an hour are pruned as it goes.
 */
export async function allowAddress(db: Queryable, address: string, limit: { attempts: number; windowSeconds: number }, now: Date): Promise<boolean> {
  const windowMs = limit.windowSeconds * 1000;
  const start = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  const r = await db.query<{ attempts: number }>(
    `INSERT INTO identity_address_attempts (address, window_start, attempts) VALUES ($1, $2, 1)
     ON CONFLICT (address, window_start) DO UPDATE SET attempts = identity_address_attempts.attempts + 1
     RETURNING attempts`,
    [address.slice(0, 64), start],
  );
  await db.query('DELETE FROM identity_address_attempts WHERE window_start < $1', [new Date(now.getTime() - Math.max(3_600_000, windowMs * 2))]);
  return (r.rows[0]?.attempts ?? 1) <= limit.attempts;
}
