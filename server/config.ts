/**
 * Server configuration from the environment (issue 5 §1, §5).
 *
 * - `PORT` (8080), `HOST` (0.0.0.0), `VITALOCK_DATA_DIR` (`.vitalock/server`).
 * - `DATABASE_URL` → PostgreSQL; otherwise PGlite in `<data dir>/pglite`.
 * - Master key: `VITALOCK_MASTER_KEY` (64 hex digits or base64 of 32 bytes) or
 *   `VITALOCK_MASTER_KEY_FILE`. With the embedded database and neither set, one is generated into
 *   `<data dir>/master.key` on first run; with PostgreSQL it is required.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DatabaseConfig } from './db/database.js';
import { ConfigError } from './errors.js';
import { formatMasterKey, generateMasterKey, LocalKeyProvider, parseMasterKey } from './crypto/key-provider.js';

export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  /** Where the built app lives (`dist/app`). */
  readonly appDir: string;
  /** Where the master key came from, for the start-up message (never the key itself). */
  readonly masterKeySource: 'environment' | 'file' | 'generated';
  readonly masterKeyFile: string | undefined;
}

export const MASTER_KEY_FILE = 'master.key';

export async function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): Promise<{ config: ServerConfig; keys: LocalKeyProvider }> {
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('PORT must be a port number (0–65535).');
  const dataDir = resolve(cwd, env.VITALOCK_DATA_DIR ?? join('.vitalock', 'server'));
  const url = env.DATABASE_URL;
  const database: DatabaseConfig = url !== undefined && url !== '' ? { engine: 'postgres', url } : { engine: 'pglite', dataDir: join(dataDir, 'pglite') };
  const { master, source, file } = await masterKey(env, dataDir, database.engine);
  const config: ServerConfig = {
    port,
    host: env.HOST ?? '0.0.0.0',
    dataDir,
    database,
    appDir: resolve(cwd, 'dist', 'app'),
    masterKeySource: source,
    masterKeyFile: file,
  };
  return { config, keys: new LocalKeyProvider(master) };
}

async function masterKey(env: NodeJS.ProcessEnv, dataDir: string, engine: DatabaseConfig['engine']) {
  const parse = (text: string, where: string): Uint8Array => {
    try {
      return parseMasterKey(text);
    } catch (e) {
      throw new ConfigError(`${where}: ${(e as Error).message}.`);
    }
  };
  if (env.VITALOCK_MASTER_KEY !== undefined && env.VITALOCK_MASTER_KEY !== '') {
    return { master: parse(env.VITALOCK_MASTER_KEY, 'VITALOCK_MASTER_KEY'), source: 'environment' as const, file: undefined };
  }
  const explicit = env.VITALOCK_MASTER_KEY_FILE;
  if (explicit !== undefined && explicit !== '') {
    return { master: parse(await readFile(explicit, 'utf8'), 'VITALOCK_MASTER_KEY_FILE'), source: 'file' as const, file: explicit };
  }
  if (engine === 'postgres') {
    throw new ConfigError('With DATABASE_URL set, a master key is required: set VITALOCK_MASTER_KEY (32 bytes, hex or base64) or VITALOCK_MASTER_KEY_FILE.');
  }
  const file = join(dataDir, MASTER_KEY_FILE);
  if (existsSync(file)) return { master: parse(await readFile(file, 'utf8'), file), source: 'file' as const, file };
  const master = generateMasterKey();
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(file, formatMasterKey(master) + '\n', { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { master, source: 'generated' as const, file };
}
