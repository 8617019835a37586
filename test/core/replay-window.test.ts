/**
 * RFC 6479 replay window (docs/protocol.md §7.4). The known-answer table is the one of
 * wireguard-go's replay/replay_test.go (itself ported from the Linux kernel's counter self-test),
 * with our window: 2048 bits in 32-bit blocks, WINDOW_SIZE = 2016.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayWindow, WINDOW_BITS, WINDOW_SIZE } from '../../src/core/replay-window.js';
import { REJECT_AFTER_MESSAGES } from '../../src/core/transport.js';

describe('constants', () => {
  it('2048-bit bitmap, 2016-counter window (§7.4)', () => {
    expect(WINDOW_BITS).toBe(2048);
    expect(WINDOW_SIZE).toBe(2016);
  });
});

/** Runs `[counter, expected]` steps through `validate`, reporting the first step that differs. */
function run(w: ReplayWindow, limit: number, steps: readonly (readonly [bigint | number, boolean])[]): void {
  steps.forEach(([n, expected], i) => {
    // `check` must predict `validate` exactly, and must not change anything.
    expect(w.check(n, limit), `check, step ${i + 1}, counter ${n}`).toBe(expected);
    expect(w.validate(n, limit), `step ${i + 1}, counter ${n}`).toBe(expected);
  });
}

/** wireguard-go TestReplay, tests 1–34, for a given rejection limit. */
function knownAnswers(limit: bigint): (readonly [bigint, boolean])[] {
  const T_LIM = BigInt(WINDOW_SIZE + 1);
  const R = limit;
  return [
    [0n, true] /*  1 */,
    [1n, true] /*  2 */,
    [1n, false] /*  3 */,
    [9n, true] /*  4 */,
    [8n, true] /*  5 */,
    [7n, true] /*  6 */,
    [7n, false] /*  7 */,
    [T_LIM, true] /*  8 */,
    [T_LIM - 1n, true] /*  9 */,
    [T_LIM - 1n, false] /* 10 */,
    [T_LIM - 2n, true] /* 11 */,
    [2n, true] /* 12 */,
    [2n, false] /* 13 */,
    [T_LIM + 16n, true] /* 14 */,
    [3n, false] /* 15 */,
    [T_LIM + 16n, false] /* 16 */,
    [T_LIM * 4n, true] /* 17 */,
    [T_LIM * 4n - (T_LIM - 1n), true] /* 18 */,
    [10n, false] /* 19 */,
    [T_LIM * 4n - T_LIM, false] /* 20 */,
    [T_LIM * 4n - (T_LIM + 1n), false] /* 21 */,
    [T_LIM * 4n - (T_LIM - 2n), true] /* 22 */,
    [T_LIM * 4n + 1n - T_LIM, false] /* 23 */,
    [0n, false] /* 24 */,
    [R, false] /* 25 */,
    [R - 1n, true] /* 26 */,
    [R, false] /* 27 */,
    [R - 1n, false] /* 28 */,
    [R - 2n, true] /* 29 */,
    [R + 1n, false] /* 30 */,
    [R + 2n, false] /* 31 */,
    [R - 2n, false] /* 32 */,
    [R - 3n, true] /* 33 */,
    [0n, false] /* 34 */,
  ];
}

describe('wireguard-go known answers', () => {
  it('tests 1–34 with the transport limit REJECT_AFTER_MESSAGES', () => {
    run(new ReplayWindow(), REJECT_AFTER_MESSAGES, knownAnswers(BigInt(REJECT_AFTER_MESSAGES)));
  });

  it('tests 1–34 with the largest limit the window supports (2^53), counters as bigints', () => {
    run(new ReplayWindow(), 2 ** 53, knownAnswers(2n ** 53n));
  });

  it('counters that are not safe integers are refused, never rounded', () => {
    const w = new ReplayWindow();
    expect(w.accept(2n ** 53n)).toBe(false);
    expect(w.accept(2n ** 64n - 1n)).toBe(false);
    expect(w.accept(-1)).toBe(false);
    expect(w.accept(-1n)).toBe(false);
    expect(w.accept(1.5)).toBe(false);
    expect(w.accept(Number.NaN)).toBe(false);
    expect(w.accept(Number.POSITIVE_INFINITY)).toBe(false);
    expect(w.highest).toBe(0);
    expect(w.accept(2n ** 53n - 1n)).toBe(true);
  });

  const limit = REJECT_AFTER_MESSAGES;
  const bulk: [string, (w: ReplayWindow) => void][] = [
    [
      'bulk 1: 1..WINDOW_SIZE then 0 (exactly WINDOW_SIZE behind) once',
      (w) => {
        for (let i = 1; i <= WINDOW_SIZE; i++) run(w, limit, [[i, true]]);
        run(w, limit, [
          [0, true],
          [0, false],
        ]);
      },
    ],
    [
      'bulk 2: 2..WINDOW_SIZE+1 then 1 accepted, 0 too old',
      (w) => {
        for (let i = 2; i <= WINDOW_SIZE + 1; i++) run(w, limit, [[i, true]]);
        run(w, limit, [
          [1, true],
          [0, false],
        ]);
      },
    ],
    [
      'bulk 3: WINDOW_SIZE+1 down to 1',
      (w) => {
        for (let i = WINDOW_SIZE + 1; i > 0; i--) run(w, limit, [[i, true]]);
      },
    ],
    [
      'bulk 4: WINDOW_SIZE+2 down to 2, then 0 too old',
      (w) => {
        for (let i = WINDOW_SIZE + 2; i > 1; i--) run(w, limit, [[i, true]]);
        run(w, limit, [[0, false]]);
      },
    ],
    [
      'bulk 5: WINDOW_SIZE down to 1, WINDOW_SIZE+1, then 0 too old',
      (w) => {
        for (let i = WINDOW_SIZE; i > 0; i--) run(w, limit, [[i, true]]);
        run(w, limit, [
          [WINDOW_SIZE + 1, true],
          [0, false],
        ]);
      },
    ],
    [
      'bulk 6: WINDOW_SIZE down to 1, 0, then WINDOW_SIZE+1',
      (w) => {
        for (let i = WINDOW_SIZE; i > 0; i--) run(w, limit, [[i, true]]);
        run(w, limit, [
          [0, true],
          [WINDOW_SIZE + 1, true],
        ]);
      },
    ],
  ];
  for (const [name, body] of bulk) {
    it(name, () => {
      const w = new ReplayWindow();
      body(w);
      // The same again after reset: reset gives back the zero state.
      w.reset();
      body(w);
    });
  }
});

describe('window edges', () => {
  it(`a counter exactly WINDOW_SIZE (${WINDOW_SIZE}) below the highest is accepted once; WINDOW_SIZE + 1 below is not`, () => {
    for (const top of [WINDOW_SIZE + 1, 5000, 5003, 5024, 5055, 1_000_000]) {
      const w = new ReplayWindow();
      expect(w.accept(top)).toBe(true);
      expect(w.check(top - WINDOW_SIZE)).toBe(true);
      expect(w.accept(top - WINDOW_SIZE)).toBe(true);
      expect(w.accept(top - WINDOW_SIZE)).toBe(false);
      expect(w.check(top - WINDOW_SIZE - 1)).toBe(false);
      expect(w.accept(top - WINDOW_SIZE - 1)).toBe(false);
    }
  });

  it('every counter of the window is tracked independently across block boundaries', () => {
    const w = new ReplayWindow();
    const top = 10_000;
    w.accept(top);
    for (let c = top - WINDOW_SIZE; c < top; c += 2) expect(w.accept(c)).toBe(true);
    for (let c = top - WINDOW_SIZE; c < top; c++) expect(w.check(c)).toBe(c % 2 === 1);
  });

  it('sliding forward clears the ring slots it reuses', () => {
    const w = new ReplayWindow();
    for (let c = 0; c < 100; c++) w.accept(c);
    // 2048..2147 occupy the same bits as 0..99; their (stale) bits must have been cleared.
    expect(w.accept(WINDOW_BITS + 100)).toBe(true);
    for (let c = WINDOW_BITS; c < WINDOW_BITS + 100; c++) expect(w.check(c)).toBe(true);
    expect(w.check(WINDOW_BITS + 100 - WINDOW_SIZE)).toBe(true);
    expect(w.check(WINDOW_BITS + 100 - WINDOW_SIZE - 1)).toBe(false);
    // A jump of many rings at once as well.
    expect(w.accept(WINDOW_BITS * 50 + 7)).toBe(true);
    for (let c = WINDOW_BITS * 50 - WINDOW_SIZE + 7; c < WINDOW_BITS * 50 + 7; c++) expect(w.check(c)).toBe(true);
  });

  it('check does not mark', () => {
    const w = new ReplayWindow();
    for (let i = 0; i < 5; i++) expect(w.check(7)).toBe(true);
    expect(w.highest).toBe(0);
    expect(w.accept(7)).toBe(true);
    expect(w.check(7)).toBe(false);
  });
});

describe('property: agrees with the obvious model', () => {
  it('accept(c) ⇔ c < limit, not seen, and (c > highest or highest − c ≤ WINDOW_SIZE)', () => {
    const counter = fc.oneof(fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 0, max: 2 ** 21 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(counter, fc.boolean()), { maxLength: 400 }), (steps) => {
        const w = new ReplayWindow();
        const seen = new Set<number>();
        let highest = -1;
        for (const [c, onlyCheck] of steps) {
          const expected = c < REJECT_AFTER_MESSAGES && !seen.has(c) && (c > highest || highest - c <= WINDOW_SIZE);
          expect(w.check(c, REJECT_AFTER_MESSAGES)).toBe(expected);
          if (onlyCheck) continue;
          expect(w.accept(c, REJECT_AFTER_MESSAGES)).toBe(expected);
          if (expected) {
            seen.add(c);
            highest = Math.max(highest, c);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
