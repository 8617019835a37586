/**
 * Locates the shared test-vector folder (CPace, Noise, Wycheproof) for the vector suites.
 *
 * The folder lives outside the repository: `VITALOCK_VECTORS` wins when set, otherwise
 * `../shared/vectors` next to the project root. When it is absent the suites skip with a reason
 * instead of failing, so a checkout without the vectors still runs every other test.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** This file is `<root>/test/support/vectors.ts`. */
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of the vectors folder, or `undefined` when it does not exist. */
export function vectorsDir(): string | undefined {
  const fromEnv = process.env['VITALOCK_VECTORS'];
  const dir = fromEnv !== undefined && fromEnv !== '' ? path.resolve(fromEnv) : path.resolve(projectRoot, '../shared/vectors');
  return existsSync(dir) ? dir : undefined;
}

/** Contents of `rel` (relative to the vectors folder) as UTF-8, or `undefined` when absent. */
export function readVectorFile(rel: string): string | undefined {
  const dir = vectorsDir();
  if (dir === undefined) return undefined;
  const file = path.join(dir, rel);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}
