import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECONNECT_BASE_MS, RECONNECT_MAX_MS, ReconnectBackoff } from '../../../src/app/bluetooth/backoff.js';

describe('ReconnectBackoff', () => {
  it('doubles from the base delay up to the cap, within [cap/2, cap] each time', () => {
    const low = new ReconnectBackoff({ random: () => 0 });
    const high = new ReconnectBackoff({ random: () => 0.999999 });
    const lows = Array.from({ length: 10 }, () => low.next());
    const highs = Array.from({ length: 10 }, () => high.next());
    expect(lows).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000, 15_000]);
    expect(highs).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
    expect(low.attempts).toBe(10);
  });

  it('starts again from the base delay after a success', () => {
    const b = new ReconnectBackoff({ random: () => 0.5 });
    for (let i = 0; i < 6; i++) b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(Math.round(RECONNECT_BASE_MS * 0.75));
  });

  it('jitter spreads retries: two hubs with different random streams do not retry in step', () => {
    let seed = 1;
    const lcg = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const a = new ReconnectBackoff({ random: lcg });
    const b = new ReconnectBackoff({ random: lcg });
    const delays = Array.from({ length: 8 }, () => [a.next(), b.next()]);
    expect(delays.filter(([x, y]) => x === y).length).toBeLessThan(2);
  });

  it('never leaves [cap/2, cap] and never exceeds the maximum, whatever random returns', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1, max: 2, noNaN: true }), { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 5_000 }), (randoms, baseMs) => {
        let i = 0;
        const b = new ReconnectBackoff({ baseMs, maxMs: RECONNECT_MAX_MS, random: () => randoms[i % randoms.length] as number });
        for (i = 0; i < randoms.length; i++) {
          const cap = Math.min(RECONNECT_MAX_MS, baseMs * 2 ** i);
          const d = b.next();
          expect(d).toBeGreaterThanOrEqual(Math.floor(cap / 2));
          expect(d).toBeLessThanOrEqual(cap);
        }
      }),
    );
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new ReconnectBackoff({ baseMs: 0 })).toThrow(RangeError);
    expect(() => new ReconnectBackoff({ baseMs: 1_000, maxMs: 500 })).toThrow(RangeError);
  });
});
