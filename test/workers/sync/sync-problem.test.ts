// The small parsers and rules of sync (workers/sync/backoff.ts, sync-problem.ts): known answers,
// and fast-check over arbitrary header text — bounded results, never a throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../../workers/sync/backoff.js';
import { classifyStatus, clockOffsetFromDate, dpopError, serverMessage } from '../../../workers/sync/sync-problem.js';

const NOW = Date.UTC(2026, 10, 28, 12);

describe('backoff', () => {
  it('draws from [floor, min(cap, base·2^(n−1))]', () => {
    const p = { baseMs: 1_000, capMs: 60_000, floorMs: 100 };
    expect(backoffDelay(p, 1, () => 0)).toBe(100);
    expect(backoffDelay(p, 1, () => 0.999)).toBe(999);
    expect(backoffDelay(p, 4, () => 0.5)).toBe(4_000);
    expect(backoffDelay(p, 30, () => 0.999)).toBe(59_940);
    expect(() => backoffDelay(p, 0, () => 0.5)).toThrow(RangeError);
  });

  it('stays in bounds for any attempt count and any random value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double(), (n, r) => {
        const d = backoffDelay({ baseMs: 500, capMs: 300_000, floorMs: 250 }, n, () => r);
        return Number.isInteger(d) && d >= 250 && d <= 300_000;
      }),
    );
  });

  it('reads Retry-After as seconds or an HTTP-date, bounded', () => {
    expect(parseRetryAfter('7', NOW)).toBe(7_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW)).toBe(90_000);
    expect(parseRetryAfter(new Date(NOW - 90_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('99999999', NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('-5', NOW)).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (s) => {
        const v = parseRetryAfter(s, NOW);
        return v === undefined || (v >= 0 && v <= MAX_RETRY_AFTER_MS);
      }),
    );
  });
});

describe('classification of answers', () => {
  it('maps statuses to what the uploader does', () => {
    expect(classifyStatus(200, null).kind).toBe('accepted');
    expect(classifyStatus(401, 'DPoP error="invalid_token", algs="ES256"')).toEqual({ kind: 'unauthorized', error: 'invalid_token' });
    expect(classifyStatus(401, 'DPoP error="use_dpop_nonce"')).toEqual({ kind: 'unauthorized', error: 'use_dpop_nonce' });
    expect(classifyStatus(401, null)).toEqual({ kind: 'unauthorized', error: undefined });
    expect(classifyStatus(403, null).kind).toBe('not-allowed');
    expect(classifyStatus(408, null).kind).toBe('unreachable');
    expect(classifyStatus(409, null).kind).toBe('held');
    expect(classifyStatus(429, null).kind).toBe('rate-limited');
    for (const s of [400, 413, 415, 422]) expect(classifyStatus(s, null).kind).toBe('rejected');
    for (const s of [404, 405, 500, 502, 503, 504, 302]) expect(classifyStatus(s, null).kind).toBe('server-error');
  });

  it('parses WWW-Authenticate errors and survives any header', () => {
    expect(dpopError('Bearer realm="x", error="invalid_token"')).toBe('invalid_token');
    expect(dpopError('DPoP algs="ES256"')).toBeUndefined();
    fc.assert(fc.property(fc.string({ maxLength: 3000 }), (s) => {
      const e = dpopError(s);
      return e === undefined || /^[A-Za-z0-9_]+$/.test(e);
    }));
  });

  it('measures the clock offset from Date', () => {
    expect(clockOffsetFromDate(new Date(NOW + 420_000).toUTCString(), NOW)).toBe(420_000);
    expect(clockOffsetFromDate(null, NOW)).toBeUndefined();
    expect(clockOffsetFromDate('not a date', NOW)).toBeUndefined();
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => {
      const o = clockOffsetFromDate(s, NOW);
      return o === undefined || Number.isFinite(o);
    }));
  });

  it('takes the server’s message only as bounded, single-line text', () => {
    expect(serverMessage({ error: { code: 'conflict', message: 'This sensor is not assigned.' } })).toBe('This sensor is not assigned.');
    expect(serverMessage({ error: { message: 'two\nlines\u0000' } })).toBe('two lines');
    expect(serverMessage({ error: 'x' })).toBeUndefined();
    expect(serverMessage(null)).toBeUndefined();
    fc.assert(fc.property(fc.anything(), (v) => {
      const m = serverMessage(v);
      return m === undefined || (m.length <= 200 && [...m].every((c) => c.charCodeAt(0) >= 0x20));
    }));
    expect(serverMessage({ error: { message: 'x'.repeat(5_000) } })?.length).toBe(200);
  });
});
