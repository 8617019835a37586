/**
 * What a benchmark suite is: a module that exports `name`, `notes` and `run`. `bench/run.ts`
 * imports the module lazily and uses its namespace object as a `Suite`, so adding a suite is one
 * file plus one line in the registry of `run.ts`.
 */

/** A figure: a number (a median, a rate, a ratio, a spread bound) or a short string. */
export type Figures = Record<string, number | string>;

export interface Suite {
  /** The name used on the command line and for `bench/results/<name>.json`. */
  readonly name: string;
  /**
   * One short sentence per metric saying what it measures. Keys are the base metric names; the
   * spread companions `<metric>_min` / `<metric>_max` are described by `run.ts` automatically.
   */
  readonly notes: Readonly<Record<string, string>>;
  /** Runs every measurement of the suite and returns its figures. Never asserts on timings. */
  run(): Promise<Figures>;
}
