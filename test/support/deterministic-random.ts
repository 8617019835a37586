/**
 * A deterministic `Random` for tests: the byte stream SHA-256(seed ‖ u32 counter) for counter =
 * 0, 1, 2, … . The same seed always yields the same bytes, so tests that need keys or passcodes
 * are reproducible, while different seeds give independent-looking streams. Never use outside
 * tests: anyone who knows the seed knows every "random" byte.
 */
import { concatBytes, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/primitives.js';
import type { Random } from '../../src/core/primitives.js';

export function deterministicRandom(seed: string): Random {
  const seedBytes = utf8(seed);
  let counter = 0;
  // Leftover bytes of the last block, so consecutive small requests consume the stream in order.
  let pool: Uint8Array = new Uint8Array(0);
  return (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (pool.length === 0) {
        const block = new Uint8Array(4);
        new DataView(block.buffer).setUint32(0, counter++);
        pool = sha256(concatBytes(seedBytes, block));
      }
      const take = Math.min(pool.length, n - filled);
      out.set(pool.subarray(0, take), filled);
      pool = pool.subarray(take);
      filled += take;
    }
    return out;
  };
}

/** A seeded `Random` that remembers every draw, so a test can look for secrets where they must not be. */
export function recordingRandom(seed: string): { random: Random; draws: Uint8Array[] } {
  const inner = deterministicRandom(seed);
  const draws: Uint8Array[] = [];
  return {
    draws,
    random: (n) => {
      const out = inner(n);
      draws.push(out.slice());
      return out;
    },
  };
}
