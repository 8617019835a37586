/**
 * A seeded, deterministic `Random` for the benchmarks (sfc32 seeded from a string), so every run
 * pairs the same devices with the same keys and measures the same work.
 *
 * NOT cryptographic: it only has to be fast (so it does not distort the timings of the code it
 * feeds) and reproducible. Never use it outside bench/.
 */
import type { Random } from '../../src/core/primitives.js';

/** 32-bit FNV-1a variants, to spread a string seed over the four words of the state. */
function seedWords(seed: string): [number, number, number, number] {
  const words: [number, number, number, number] = [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b];
  for (let w = 0; w < 4; w++) {
    let h = (words[w] as number) ^ (w * 0x27d4eb2d);
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
    words[w] = h >>> 0;
  }
  return words;
}

export function seededRandom(seed: string): Random {
  let [a, b, c, d] = seedWords(seed);
  const next = (): number => {
    // sfc32 (Chris Doty-Humphrey's Small Fast Counting generator).
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) next(); // discard the first outputs, which still look like the seed
  return (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = next();
      out[i] = v & 0xff;
      if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < n) out[i + 3] = v >>> 24;
    }
    return out;
  };
}
