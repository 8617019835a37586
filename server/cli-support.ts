/**
 * What the operator commands share (issue 5 §5, §6): configuration from the same environment as
 * the server, the database it names, and one way to report a failure (a plain message, exit 2).
 */
import { openDatabase, type Database } from './db/database.js';
import { loadConfig, type ServerConfig } from './config.js';
import type { LocalKeyProvider } from './crypto/key-provider.js';
import { ConfigError } from './errors.js';

export interface Operator {
  readonly config: ServerConfig;
  readonly keys: LocalKeyProvider;
  readonly db: Database;
}

export async function openOperator(env: NodeJS.ProcessEnv = process.env): Promise<Operator> {
  const { config, keys } = await loadConfig(env);
  const db = await openDatabase(config.database);
  return { config, keys, db };
}

/** Runs a command's main; prints a plain error and exits 2 if it throws. */
export function runCommand(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const known = e instanceof ConfigError || e instanceof RangeError || (e instanceof Error && e.name === 'IntegrityError') || (e instanceof Error && e.name === 'BackupError');
      console.error(known ? `error: ${(e as Error).message}` : `error: ${(e as Error).message ?? String(e)}`);
      process.exitCode = 2;
    },
  );
}

/** `--name value` from argv. */
export function argValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
}
