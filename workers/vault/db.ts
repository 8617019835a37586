/**
 * The vault's IndexedDB schema (docs/vault.md §2.1) and the pseudonymous fields it indexes (§2.3).
 *
 * Every row keeps in clear only what IndexedDB needs to find it: a name, a device pseudonym, a
 * seq, an hour bucket. Everything else is one sealed value (`sealed-value.ts`, §2.2) whose
 * associated data binds it to its store and primary key, so a value moved to another row or
 * store fails to open.
 *
 * ## Finding the chunks of a time range
 * A chunk (§2.4) holds up to 512 records of one sensor in seq order; its records usually fall in
 * one or two hours, but a record taken before the sensor's clock was set (time ≈ 0) can sit in
 * the same chunk as records of today. An index on the chunk's bucket *range* cannot answer
 * "which chunks overlap [a, b]" without scanning: with `[pseudonym, bucketTo]` every chunk after
 * `a` is a candidate and each must be read to check `bucketFrom ≤ b`, and a second index on
 * `bucketFrom` still misses a chunk that spans the whole query. So the index `by-bucket` is
 * **multi-entry** over `bucketKeys`: one `[pseudonym, bucket]` key for each distinct hour the
 * chunk has a record in (at most 512, usually one or two). A range query is then one index range
 * `[p, a] … [p, b]`, and it returns exactly the chunks holding a record in those hours: no chunk
 * outside the range is read, none inside is missed. `bucketFrom` / `bucketTo` are kept beside it
 * for retention and statistics (delete what ends before X) — the same information, coarser.
 * What is in clear is what §2.3 allows: the pseudonym and the hours in which the sensor recorded.
 *
 * ## Chunks written while locked (§3.3)
 * They carry `sealed: true` and `sealedBucket` (a copy of `bucketTo`: nothing new in clear).
 * `by-sealed` is a *sparse* index on `sealedBucket` (rows without the field are not in it), so
 * unlocking finds the chunks to re-encrypt without reading the whole store. A boolean cannot be
 * an index key, hence the number beside the flag.
 *
 * ## Migrations
 * All of them live in `upgrade`, which IndexedDB runs in the version-change transaction: one
 * step per version, applied in order from the version found to `SCHEMA_VERSION` — a `switch` on
 * the step inside a loop, so each version adds one `case` and a database several versions
 * behind runs every step in turn (the classic fall-through switch, written so that
 * `noFallthroughCasesInSwitch` still holds). Steps run synchronously: `upgrade` must not await
 * anything but requests of its own transaction.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import { toHex } from '../../src/core/bytes.js';
import { hmacSha256 } from '../../src/core/primitives.js';

export const SCHEMA_VERSION = 1;
export const VAULT_DB_NAME = 'vitalock-vault';
/** §2.3: time bucket = floor(time / 1 hour). */
export const BUCKET_MS = 3_600_000;
/** §2.3: a device pseudonym is the first 16 bytes of HMAC-SHA-256(IK, device id), in hex. */
export const PSEUDONYM_BYTES = 16;

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
/**
 * A `meta` value: JSON, plus byte arrays (salts, nonces, a public key), stored as is, and
 * non-extractable `CryptoKey`s (sync's DPoP key pair, docs/sync.md §5.2), which IndexedDB
 * structured-clones without ever exposing the private key's bytes to script.
 */
export type MetaValue = null | boolean | number | string | Uint8Array | CryptoKey | readonly MetaValue[] | { readonly [key: string]: MetaValue };

export interface SecretRow {
  readonly name: string;
  readonly value: Uint8Array;
}

export interface BondRow {
  readonly pseudonym: string;
  readonly value: Uint8Array;
}

export interface SensorRow {
  readonly pseudonym: string;
  readonly value: Uint8Array;
}

export type BucketKey = [pseudonym: string, bucket: number];

export interface ChunkRow {
  readonly pseudonym: string;
  /** Seq of the chunk's first record: with the pseudonym, the primary key. */
  readonly firstSeq: number;
  /** Lowest and highest hour bucket of the chunk's records. */
  readonly bucketFrom: number;
  readonly bucketTo: number;
  /** One `[pseudonym, bucket]` per distinct bucket of the records (multi-entry index `by-bucket`). */
  readonly bucketKeys: BucketKey[];
  /** Written while locked: sealed to the storage public key, not under the record key (§3.3). */
  readonly sealed?: true;
  /** Present only when `sealed`: `bucketTo` again, for the sparse index `by-sealed`. */
  readonly sealedBucket?: number;
  readonly value: Uint8Array;
}

export interface SecurityRow {
  readonly id: number;
  readonly bucket: number;
  readonly value: Uint8Array;
}

export interface OutboxRow {
  readonly batchId: string;
  /** For sealed batches (`outbox.ts`): the creation time in ms, strictly increasing (exact order). */
  readonly createdBucket: number;
  /** The sealed batch (protocol §11), as uploaded; it does not open with the vault key. */
  readonly value: Uint8Array;
  /** Clear fields the uploader needs (`outbox.ts`). */
  readonly createdAtMs?: number;
  readonly size?: number;
  readonly attempts?: number;
}

export interface VaultSchema extends DBSchema {
  /** Out-of-line key (the name); values in clear: wrap records, KDF parameters, counters. */
  meta: { key: string; value: MetaValue };
  secrets: { key: string; value: SecretRow };
  bonds: { key: string; value: BondRow };
  sensors: { key: string; value: SensorRow };
  readings: {
    key: [pseudonym: string, firstSeq: number];
    value: ChunkRow;
    indexes: { 'by-bucket': BucketKey; 'by-sealed': number };
  };
  security: { key: number; value: SecurityRow; indexes: { 'by-bucket': number } };
  outbox: { key: string; value: OutboxRow; indexes: { 'by-created-bucket': number } };
}

export type VaultDb = IDBPDatabase<VaultSchema>;
export type VaultStoreName = StoreNames<VaultSchema>;
export const VAULT_STORE_NAMES: readonly VaultStoreName[] = ['meta', 'secrets', 'bonds', 'sensors', 'readings', 'security', 'outbox'];

type UpgradeTransaction = IDBPTransaction<VaultSchema, VaultStoreName[], 'versionchange'>;

/** Version 0 → 1: the stores and indexes of §2.1. */
function createVersion1(db: VaultDb): void {
  db.createObjectStore('meta');
  db.createObjectStore('secrets', { keyPath: 'name' });
  db.createObjectStore('bonds', { keyPath: 'pseudonym' });
  db.createObjectStore('sensors', { keyPath: 'pseudonym' });
  const readings = db.createObjectStore('readings', { keyPath: ['pseudonym', 'firstSeq'] });
  readings.createIndex('by-bucket', 'bucketKeys', { multiEntry: true });
  readings.createIndex('by-sealed', 'sealedBucket');
  const security = db.createObjectStore('security', { keyPath: 'id', autoIncrement: true });
  security.createIndex('by-bucket', 'bucket');
  const outbox = db.createObjectStore('outbox', { keyPath: 'batchId' });
  outbox.createIndex('by-created-bucket', 'createdBucket');
}

/** Runs the migration from `version` to `version + 1`. */
function migrateStep(db: VaultDb, _tx: UpgradeTransaction, version: number): void {
  switch (version) {
    case 0:
      createVersion1(db);
      break;
    // case 1: (version 2's changes, using `_tx.objectStore(…)` for existing stores) break;
    default:
      throw new Error(`no migration from vault schema version ${version}`);
  }
}

export interface OpenVaultDbOptions {
  /** Another connection (a newer version in another tab) waits for this one: it is closed first. */
  readonly onBlocking?: () => void;
  /** The browser closed the connection abnormally (the user cleared site data). */
  readonly onTerminated?: () => void;
}

/** Opens (creating or migrating) the vault database. */
export function openVaultDb(name: string = VAULT_DB_NAME, options: OpenVaultDbOptions = {}): Promise<VaultDb> {
  return openDB<VaultSchema>(name, SCHEMA_VERSION, {
    upgrade(db, oldVersion, newVersion, tx) {
      const target = newVersion ?? SCHEMA_VERSION;
      for (let version = oldVersion; version < target; version++) migrateStep(db, tx, version);
    },
    blocking(_current, _blocked, event) {
      (event.target as IDBDatabase).close();
      options.onBlocking?.();
    },
    terminated() {
      options.onTerminated?.();
    },
  });
}

/** §2.3: the hour bucket of a time in ms (±Infinity stay infinite, for open ranges). */
export function timeBucket(ms: number): number {
  if (Number.isNaN(ms)) throw new RangeError('time is NaN');
  return Math.floor(ms / BUCKET_MS);
}

/** §2.3: hex of the first 16 bytes of HMAC-SHA-256(IK, device id). */
export function devicePseudonym(indexKey: Uint8Array, deviceId: Uint8Array): string {
  return toHex(hmacSha256(indexKey, deviceId).subarray(0, PSEUDONYM_BYTES));
}

export function isPseudonym(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{32}$/.test(value);
}
