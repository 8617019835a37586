/** Turning measured spreads into the flat figures a suite returns. */
import type { Spread } from './measure.js';
import type { Figures } from './suite.js';

/** `x` rounded to `digits` significant digits (the noise is far above that anyway). */
export function significant(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

/** Writes `key` (the median) and its spread, `key_min` and `key_max`. */
export function putSpread(figures: Figures, key: string, s: Spread, digits = 4): void {
  figures[key] = significant(s.median, digits);
  figures[`${key}_min`] = significant(s.min, digits);
  figures[`${key}_max`] = significant(s.max, digits);
}
