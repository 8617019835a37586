/**
 * Retry delays of the uploader (docs/sync.md §3.3): exponential backoff with full jitter
 * ("Exponential Backoff and Jitter", AWS Architecture Blog, 2015) and a cap, plus the server's
 * `Retry-After` (RFC 9110 §10.2.3), which is a lower bound on the wait, never shortened.
 *
 * Full jitter spreads the retries of many hubs that lost the server at the same moment (a clinic
 * whose uplink came back) over the whole window instead of synchronising them. A small floor keeps
 * a random draw of 0 from turning into a busy loop.
 */

export interface BackoffPolicy {
  /** Window of the first retry, in ms. */
  readonly baseMs: number;
  /** Largest window, in ms. */
  readonly capMs: number;
  /** Smallest delay, in ms. */
  readonly floorMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 5 * 60_000, floorMs: 250 };
/** A `Retry-After` longer than this is taken as this (a misconfigured server must not park sync for days). */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/**
 * The delay before retry number `failures` (1 for the first failure): uniform in
 * [floor, min(cap, base · 2^(failures−1))]. `random` returns a number in [0, 1).
 */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number): number {
  if (!Number.isInteger(failures) || failures < 1) throw new RangeError('failures counts from 1');
  const exponent = Math.min(failures - 1, 40);
  const window = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  const r = random();
  const draw = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.max(policy.floorMs, Math.floor(draw * window));
}

/**
 * `Retry-After` as ms from `nowMs`: delta-seconds or an HTTP-date. Undefined when absent or not
 * parseable; bounded to [0, MAX_RETRY_AFTER_MS].
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // RFC 9110 §5.6.7: senders use IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); nothing looser.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - nowMs, 0), MAX_RETRY_AFTER_MS);
}
