/**
 * The cloud's ingestion keys (protocol §11.3; issue 6 §1): the X25519 secret keys that open sealed
 * batches, and the signed key list hubs seal to. Kept in `<data dir>/ingestion/keys.json` (mode
 * 0600, like the master key file beside it). They are not wrapped by the master key on purpose:
 * `keys:rotate` rewraps patient keys only, and a rotation must never make the server unable to
 * open batches still waiting in hubs' outboxes. Expired keys stay, so a hub with an old list is
 * still understood.
 *
 * The deployment's Ed25519 key that signs the list lives beside it in `deployment.key` (mode 0600)
 * only so that `npm run keys:ingestion` can sign the next list; an operator may move it offline and
 * bring it back for a rotation. The server itself never needs it.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { ConfigError } from '../errors.js';

export const INGESTION_DIR = 'ingestion';
export const KEYS_FILE = 'keys.json';
export const DEPLOYMENT_KEY_FILE = 'deployment.key';

/** One stored key (hex). */
export interface StoredIngestionKey {
  readonly keyId: string;
  readonly publicKey: string;
  readonly secretKey: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface IngestionKeysFile {
  readonly deploymentPublicKey: string;
  readonly listVersion: number;
  /** The signed list (protocol §11.3), hex: what the app is configured with. */
  readonly keyList: string;
  readonly keys: readonly StoredIngestionKey[];
}

/** What `ingestBatch` needs: the secret key of a key id, if this deployment has it. */
export interface IngestionSecrets {
  secretKey(keyId: Uint8Array): Uint8Array | undefined;
}

export class IngestionKeyring implements IngestionSecrets {
  readonly #keys = new Map<string, Uint8Array>();

  constructor(keys: Iterable<readonly [keyIdHex: string, secretKey: Uint8Array]>) {
    for (const [id, key] of keys) this.#keys.set(id, key.slice());
  }

  secretKey(keyId: Uint8Array): Uint8Array | undefined {
    return this.#keys.get(toHex(keyId));
  }

  get size(): number {
    return this.#keys.size;
  }
}

export function ingestionDir(dataDir: string): string {
  return join(dataDir, INGESTION_DIR);
}

export async function readKeysFile(dataDir: string): Promise<IngestionKeysFile | undefined> {
  const file = join(ingestionDir(dataDir), KEYS_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as IngestionKeysFile;
  } catch {
    throw new ConfigError(`${file} is not valid JSON: restore it from a backup or run "npm run keys:ingestion -- init" on a new deployment.`);
  }
}

export async function writeKeysFile(dataDir: string, contents: IngestionKeysFile): Promise<void> {
  const dir = ingestionDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, KEYS_FILE);
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(contents, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
  await chmod(file, 0o600);
}

/** The keyring from the data folder; empty (every batch refused as unknown-key) when none exists. */
export async function loadIngestionKeyring(dataDir: string): Promise<IngestionKeyring> {
  const file = await readKeysFile(dataDir);
  if (file === undefined) return new IngestionKeyring([]);
  return new IngestionKeyring(file.keys.map((k) => [k.keyId, fromHex(k.secretKey)] as const));
}
