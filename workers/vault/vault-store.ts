/**
 * The vault's storage API (docs/vault.md §2, §3.2, §3.3): a thin domain layer over `db.ts` that
 * encrypts every value with `sealed-value.ts` and keeps in clear only pseudonyms and buckets.
 *
 * Rules every method follows:
 * - **Encrypt first, then open the transaction.** All sealing (and the encoding before it) is
 *   done before a write transaction is created; inside it, only IndexedDB requests are awaited,
 *   since awaiting anything else lets the transaction commit early (idb README). Reads collect
 *   the rows, let the transaction finish, and only then decrypt.
 * - **One transaction per logical write.** Readings and their sensor's ledger row commit together
 *   or not at all; any failure aborts the transaction and is rethrown as it came — in particular
 *   the browser's `QuotaExceededError` DOMException, which the pipeline relies on (§3.2).
 * - **Nothing unauthenticated is returned.** A value that fails to open, or that opens but does
 *   not match its row, rejects the whole call with `VaultIntegrityError`.
 * - Keys are the caller's: `recordKey` (RK) and `indexKey` (IK) while unlocked, and only the
 *   `storagePublicKey` while locked. The store keeps its own copies and `lock()` wipes them.
 *
 * ## Rows
 * - `readings` `[p, firstSeq]`: a chunk (`chunks.ts`) under RK; while locked, `u64 contiguous ‖
 *   chunk` sealed to the storage public key, flagged `sealed: true` (§3.3). The ledger travels
 *   inside the sealed chunk because the `sensors` row is under RK, which a locked vault lacks;
 *   `resealLockedChunks` moves it back to the `sensors` row.
 * - `sensors` `p`: `0x01 ‖ contiguous u64 ‖ n u16 ‖ n records` — the ledger and, per measurement
 *   code, the record with the highest seq (what `latest` answers without opening any chunk).
 * - `bonds` `p`: the `SensorBond` and the user's fields (below, `encodeBond`).
 * - `security` `id` (1, 2, …): `0x01 ‖ atMs u64 ‖ kind ‖ detail?`. The id is chosen before the
 *   write (last id + 1) so the value can be bound to it; a concurrent writer makes `add` fail
 *   with `ConstraintError`, and the event is sealed again for the next id.
 * - `outbox` batch id: the sealed batch of protocol §11, written by `putReadings` with its readings
 *   (`outbox.ts`; not under RK). The deprecated methods below use `0x01 ‖ createdAtMs u64 ‖ batch` under RK.
 * - `secrets` name: the secret's bytes. `meta` name: the value itself, in clear (not secret).
 *
 * ## A chunk written twice
 * A chunk's key is its first seq (§3.2), so writing the same batch again replaces it. A later
 * batch that starts at the same seq with fewer records replaces a chunk too; that only happens
 * for records above the stored ledger's `contiguous` (the ledger commits with the chunks), which
 * the sensor still holds and resends, so nothing acknowledged is lost. Records stored in two
 * chunks with different first seqs are returned once (`readings` deduplicates by seq).
 */
import { ByteReader, ByteWriter, equalBytes, fromUtf8, utf8, wipe } from '../../src/core/bytes.js';
import { DecodeError } from '../../src/core/errors.js';
import type { SensorBond } from '../../src/core/hub-channel.js';
import { KEY_LEN, type Random } from '../../src/core/primitives.js';
import { decodeRecord, encodeRecord, encodedRecordLength, type ReadingRecord } from '../../src/core/readings.js';
import type { IDBPTransaction } from 'idb';
import { decodeChunk, encodeChunk, splitIntoChunks } from './chunks.js';
import {
  devicePseudonym,
  isPseudonym,
  openVaultDb,
  timeBucket,
  VAULT_DB_NAME,
  type BucketKey,
  type ChunkRow,
  type MetaValue,
  type OutboxRow,
  type SensorRow,
  type VaultDb,
  type VaultSchema,
  type VaultStoreName,
} from './db.js';
import {
  canonicalKey,
  openValue,
  openWithSecretKey,
  PUBLIC_KEY_FORMAT,
  sealToPublicKey,
  sealValue,
  VaultIntegrityError,
  type VaultKey,
} from './sealed-value.js';

// ── types ───────────────────────────────────────────────────────────────────────────────────────

export interface VaultKeys {
  /** RK (§1): encrypts every stored value. */
  readonly recordKey?: Uint8Array;
  /** IK (§1): keys the device pseudonyms. */
  readonly indexKey?: Uint8Array;
  /** The storage key pair's public key (§3.3): all a locked vault needs to store readings. */
  readonly storagePublicKey?: Uint8Array;
}

export interface VaultStoreOptions {
  /** Defaults to `crypto.getRandomValues`. */
  readonly random?: Random;
  /** Called before each stored value is opened (decrypted), with its store: for tests and metrics. */
  readonly onOpenValue?: (store: VaultStoreName) => void;
}

export type MissingKey = 'record-key' | 'index-key' | 'storage-public-key';

/** The operation needs a key this store was not given (or no longer has, after `lock()`). */
export class VaultLockedError extends Error {
  override readonly name = 'VaultLockedError';
  constructor(readonly missing: MissingKey) {
    super(`the vault is locked (no ${missing.replace(/-/g, ' ')})`);
  }
}

/** What the vault keeps of a sensor's `RecordLedger` (protocol §8.3). */
export interface SensorLedger {
  /** Every record with seq ≤ contiguous is stored. */
  readonly contiguous: number;
}

/** A bond as stored: the protocol's `SensorBond` and the user's fields. */
export interface StoredBond extends SensorBond {
  /** The user's name for the sensor. */
  readonly name?: string;
  /** The patient the sensor is assigned to (the app's patient id). */
  readonly patient?: string;
}

export interface SecurityEventInput {
  readonly kind: string;
  readonly atMs: number;
  /** Plain words for the security log; never a key or a reading value. */
  readonly detail?: string;
}

export interface SecurityEventEntry extends SecurityEventInput {
  /** Order of recording (1, 2, …). */
  readonly id: number;
}

export interface DeleteBondOptions {
  /** Also delete every stored reading of the sensor (default: they are kept). */
  readonly purgeReadings?: boolean;
}

// ── encodings ───────────────────────────────────────────────────────────────────────────────────

const FORMAT_1 = 1;
const BOND_HAS_NAME = 0x01;
const BOND_HAS_PATIENT = 0x02;
const MAX_LATEST = 0xffff;
/** Security ids are tried this many times against concurrent writers (other tabs). */
const SECURITY_ADD_ATTEMPTS = 5;
/** Sealed chunks re-encrypted per transaction by `resealLockedChunks`. */
const RESEAL_BATCH = 64;

interface SensorState {
  readonly contiguous: number;
  /** The record with the highest seq of each code, in seq order. */
  readonly latest: readonly ReadingRecord[];
}

function writeBytes(w: ByteWriter, bytes: Uint8Array): void {
  w.u32(bytes.length).bytes(bytes);
}

function readBytes(r: ByteReader): Uint8Array {
  return r.bytes(r.u32());
}

function writeString(w: ByteWriter, s: string): void {
  writeBytes(w, utf8(s));
}

function readString(r: ByteReader): string {
  return fromUtf8(readBytes(r));
}

/** `0x01 ‖ deviceId ‖ staticKey ‖ certificate ‖ manufacturer ‖ model ‖ serial ‖ notAfter u64 ‖
 *  hubLabel ‖ flags u8 ‖ name? ‖ patient?` — byte strings and UTF-8 strings as `u32 length ‖ bytes`. */
export function encodeBond(bond: StoredBond): Uint8Array {
  const w = new ByteWriter(256 + bond.certificate.length);
  w.u8(FORMAT_1);
  writeBytes(w, bond.deviceId);
  writeBytes(w, bond.staticKey);
  writeBytes(w, bond.certificate);
  writeString(w, bond.manufacturer);
  writeString(w, bond.model);
  writeString(w, bond.serial);
  w.u64(bond.notAfter);
  writeString(w, bond.hubLabel);
  w.u8((bond.name !== undefined ? BOND_HAS_NAME : 0) | (bond.patient !== undefined ? BOND_HAS_PATIENT : 0));
  if (bond.name !== undefined) writeString(w, bond.name);
  if (bond.patient !== undefined) writeString(w, bond.patient);
  return w.finish();
}

export function decodeBond(bytes: Uint8Array): StoredBond {
  const r = new ByteReader(bytes);
  if (r.u8() !== FORMAT_1) throw new DecodeError('unsupported-version', 'unknown bond format');
  const deviceId = readBytes(r);
  const staticKey = readBytes(r);
  const certificate = readBytes(r);
  const manufacturer = readString(r);
  const model = readString(r);
  const serial = readString(r);
  const notAfter = r.u64Number();
  const hubLabel = readString(r);
  const flags = r.u8();
  if ((flags & ~(BOND_HAS_NAME | BOND_HAS_PATIENT)) !== 0) throw new DecodeError('out-of-range', 'unknown bond flag');
  const name = flags & BOND_HAS_NAME ? readString(r) : undefined;
  const patient = flags & BOND_HAS_PATIENT ? readString(r) : undefined;
  r.end();
  return {
    deviceId,
    staticKey,
    certificate,
    manufacturer,
    model,
    serial,
    notAfter,
    hubLabel,
    ...(name !== undefined ? { name } : {}),
    ...(patient !== undefined ? { patient } : {}),
  };
}

function encodeSensorState(state: SensorState): Uint8Array {
  if (state.latest.length > MAX_LATEST) throw new RangeError('too many measurement codes');
  let length = 1 + 8 + 2;
  for (const r of state.latest) length += encodedRecordLength(r);
  const w = new ByteWriter(length);
  w.u8(FORMAT_1).u64(state.contiguous).u16(state.latest.length);
  for (const r of state.latest) encodeRecord(r, w);
  return w.finish();
}

function decodeSensorState(bytes: Uint8Array): SensorState {
  const r = new ByteReader(bytes);
  if (r.u8() !== FORMAT_1) throw new DecodeError('unsupported-version', 'unknown sensor state format');
  const contiguous = r.u64Number();
  const n = r.u16();
  const latest: ReadingRecord[] = [];
  for (let i = 0; i < n; i++) latest.push(decodeRecord(r));
  r.end();
  return { contiguous, latest };
}

/** Plaintext of a chunk written while locked: the ledger at that time, then the chunk. */
function encodeLockedChunk(contiguous: number, chunk: Uint8Array): Uint8Array {
  return new ByteWriter(8 + chunk.length).u64(contiguous).bytes(chunk).finish();
}

function decodeLockedChunk(bytes: Uint8Array): { contiguous: number; records: ReadingRecord[] } {
  const r = new ByteReader(bytes);
  const contiguous = r.u64Number();
  return { contiguous, records: decodeChunk(r.rest()) };
}

function encodeSecurityEvent(event: SecurityEventInput): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(FORMAT_1).u64(event.atMs);
  writeString(w, event.kind);
  w.u8(event.detail !== undefined ? 1 : 0);
  if (event.detail !== undefined) writeString(w, event.detail);
  return w.finish();
}

function decodeSecurityEvent(id: number, bytes: Uint8Array): SecurityEventEntry {
  const r = new ByteReader(bytes);
  if (r.u8() !== FORMAT_1) throw new DecodeError('unsupported-version', 'unknown security event format');
  const atMs = r.u64Number();
  const kind = readString(r);
  const hasDetail = r.u8();
  if (hasDetail > 1) throw new DecodeError('out-of-range', 'bad detail flag');
  const detail = hasDetail === 1 ? readString(r) : undefined;
  r.end();
  return { id, kind, atMs, ...(detail !== undefined ? { detail } : {}) };
}

/** Decodes an opened plaintext; a failure after authentication is still an integrity failure. */
function decodeOpened<T>(store: VaultStoreName, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof DecodeError) throw new VaultIntegrityError('malformed', store, 'a stored value opened but does not decode');
    throw error;
  }
}

/** The latest record of each code (highest seq), from `previous` and `records`, in seq order. */
function mergeLatest(previous: readonly ReadingRecord[], records: readonly ReadingRecord[]): ReadingRecord[] {
  const byCode = new Map<number, ReadingRecord>();
  for (const r of [...previous, ...records]) {
    const known = byCode.get(r.code);
    if (known === undefined || r.seq > known.seq) byCode.set(r.code, r);
  }
  return [...byCode.values()].sort((a, b) => a.seq - b.seq);
}

/** Distinct hour buckets of the records, ascending. */
function bucketsOf(records: readonly ReadingRecord[]): number[] {
  return [...new Set(records.map((r) => timeBucket(r.timeMs)))].sort((a, b) => a - b);
}

function checkContiguous(ledger: SensorLedger): number {
  const c = ledger?.contiguous;
  if (!Number.isSafeInteger(c) || c < 0) throw new RangeError('ledger.contiguous must be a non-negative integer');
  return c;
}

function checkTime(ms: number, what: string): number {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`${what} must be a non-negative integer of ms`);
  return ms;
}

function checkName(name: string, what: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new RangeError(`${what} must be a non-empty string`);
  return name;
}

function errorName(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'name' in error ? (error as { name: unknown }).name : undefined;
}

const defaultRandom: Random = (n) => crypto.getRandomValues(new Uint8Array(n));

function copyKey(key: Uint8Array | undefined, what: string): Uint8Array | undefined {
  if (key === undefined) return undefined;
  if (!(key instanceof Uint8Array) || key.length !== KEY_LEN) throw new RangeError(`${what} must be ${KEY_LEN} bytes`);
  return key.slice();
}

type WriteTx<N extends VaultStoreName> = IDBPTransaction<VaultSchema, N[], 'readwrite'>;

// ── the store ───────────────────────────────────────────────────────────────────────────────────

export class VaultStore {
  private recordKey: Uint8Array | undefined;
  private indexKey: Uint8Array | undefined;
  private readonly storagePublicKey: Uint8Array | undefined;
  private readonly random: Random;
  private readonly onOpenValue: ((store: VaultStoreName) => void) | undefined;
  /** Per-sensor (and security-log) write queues: read-modify-write steps never interleave. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    readonly db: VaultDb,
    keys: VaultKeys,
    options: VaultStoreOptions = {},
  ) {
    this.recordKey = copyKey(keys.recordKey, 'the record key');
    this.indexKey = copyKey(keys.indexKey, 'the index key');
    this.storagePublicKey = copyKey(keys.storagePublicKey, 'the storage public key');
    this.random = options.random ?? defaultRandom;
    this.onOpenValue = options.onOpenValue;
  }

  /** Opens (creating or migrating) the database `name` and wraps it. */
  static async open(keys: VaultKeys, options: VaultStoreOptions & { readonly name?: string } = {}): Promise<VaultStore> {
    return new VaultStore(await openVaultDb(options.name ?? VAULT_DB_NAME), keys, options);
  }

  /** True when RK and IK are present (everything but `putReadingsSealed` needs them). */
  get unlocked(): boolean {
    return this.recordKey !== undefined && this.indexKey !== undefined;
  }

  /** Wipes this store's copies of RK and IK; `putReadingsSealed` and `meta` keep working. */
  lock(): void {
    wipe(this.recordKey, this.indexKey);
    this.recordKey = undefined;
    this.indexKey = undefined;
  }

  /** `lock()`, then closes the database connection. */
  close(): void {
    this.lock();
    this.db.close();
  }

  // ── pseudonymous fields (§2.3) ────────────────────────────────────────────────────────────

  devicePseudonym(deviceId: Uint8Array): string {
    if (!(deviceId instanceof Uint8Array) || deviceId.length === 0) throw new RangeError('a device id is a non-empty byte array');
    return devicePseudonym(this.requireIndexKey(), deviceId);
  }

  timeBucket(ms: number): number {
    return timeBucket(ms);
  }

  // ── readings (§2.4, §3.2) ─────────────────────────────────────────────────────────────────

  /**
   * Stores `records` of a sensor (any order; a repeated seq is stored once) and its ledger, in
   * one transaction over `readings` and `sensors`: on resolve both are committed, on reject
   * neither is. A `QuotaExceededError` from the browser is rethrown as is.
   */
  async putReadings(deviceId: Uint8Array, records: readonly ReadingRecord[], ledger: SensorLedger, outbox: readonly OutboxRow[] = []): Promise<void> {
    const pseudonym = this.devicePseudonym(deviceId);
    const contiguous = checkContiguous(ledger);
    const chunks = splitIntoChunks(records);
    const plaintexts = chunks.map((chunk) => encodeChunk(chunk)); // validates every record first
    await this.exclusive(pseudonym, async () => {
      const previous = await this.readSensorState(pseudonym);
      // Everything is sealed here, before the write transaction exists.
      const rows = chunks.map((chunk, i) => {
        const key: [string, number] = [pseudonym, (chunk[0] as ReadingRecord).seq];
        return chunkRow(pseudonym, chunk, this.seal('readings', key, plaintexts[i] as Uint8Array));
      });
      const state: SensorState = { contiguous, latest: mergeLatest(previous?.latest ?? [], chunks.flat()) };
      const sensorRow: SensorRow = { pseudonym, value: this.seal('sensors', pseudonym, encodeSensorState(state)) };
      await this.write(['readings', 'sensors', 'outbox'], (tx, ops) => {
        const readings = tx.objectStore('readings');
        for (const row of rows) ops.push(readings.put(row));
        ops.push(tx.objectStore('sensors').put(sensorRow));
        // The sealed batches of these readings (outbox.ts) commit with them or not at all.
        for (const row of outbox) ops.push(tx.objectStore('outbox').put(row));
      });
    });
  }

  /**
   * Locked mode (§3.3): stores `records` sealed to the storage public key, each chunk carrying
   * `ledger`, flagged `sealed: true`. Needs only the storage public key, and the sensor's
   * pseudonym, which the worker keeps for the sensors streaming when it locked (IK is gone).
   * No records: nothing is written (the ledger travels inside the chunks).
   */
  async putReadingsSealed(pseudonym: string, records: readonly ReadingRecord[], ledger: SensorLedger, outbox: readonly OutboxRow[] = []): Promise<void> {
    if (!isPseudonym(pseudonym)) throw new RangeError('not a device pseudonym');
    const contiguous = checkContiguous(ledger);
    const publicKey = this.storagePublicKey;
    if (publicKey === undefined) throw new VaultLockedError('storage-public-key');
    const chunks = splitIntoChunks(records);
    if (chunks.length === 0) return;
    const rows = chunks.map((chunk) => {
      const key: [string, number] = [pseudonym, (chunk[0] as ReadingRecord).seq];
      const value = sealToPublicKey(publicKey, 'readings', canonicalKey(key), encodeLockedChunk(contiguous, encodeChunk(chunk)), this.random);
      const row = chunkRow(pseudonym, chunk, value);
      return { ...row, sealed: true as const, sealedBucket: row.bucketTo };
    });
    await this.write(['readings', 'outbox'], (tx, ops) => {
      const store = tx.objectStore('readings');
      for (const row of rows) ops.push(store.put(row));
      for (const row of outbox) ops.push(tx.objectStore('outbox').put(row));
    });
  }

  /**
   * After unlock: opens every chunk written while locked with the storage secret key and writes
   * it again under RK, and moves the ledger and latest values it carried into the `sensors` row.
   * A row is replaced only if it is still the sealed row that was opened. Resolves with the
   * number of chunks re-encrypted; a sealed chunk that fails to open rejects with
   * `VaultIntegrityError` (the others of its batch stay sealed).
   */
  async resealLockedChunks(storageSecretKey: Uint8Array): Promise<number> {
    this.requireRecordKey();
    const keys = await this.db.getAllKeysFromIndex('readings', 'by-sealed');
    let resealed = 0;
    for (let i = 0; i < keys.length; i += RESEAL_BATCH) {
      resealed += await this.resealBatch(storageSecretKey, keys.slice(i, i + RESEAL_BATCH));
    }
    return resealed;
  }

  private async resealBatch(storageSecretKey: Uint8Array, keys: readonly [string, number][]): Promise<number> {
    const tx = this.db.transaction('readings');
    const rows = await Promise.all(keys.map((key) => tx.store.get(key)));
    await tx.done;
    const bySensor = new Map<string, { row: ChunkRow; records: ReadingRecord[]; contiguous: number }[]>();
    for (const row of rows) {
      if (row === undefined || row.sealed !== true) continue; // already re-encrypted elsewhere
      this.onOpenValue?.('readings');
      const plaintext = openWithSecretKey(storageSecretKey, 'readings', canonicalKey([row.pseudonym, row.firstSeq]), row.value);
      const { contiguous, records } = decodeOpened('readings', () => decodeLockedChunk(plaintext));
      checkChunkMatchesRow(row, records);
      const list = bySensor.get(row.pseudonym) ?? [];
      list.push({ row, records, contiguous });
      bySensor.set(row.pseudonym, list);
    }
    let resealed = 0;
    for (const [pseudonym, opened] of bySensor) {
      resealed += await this.exclusive(pseudonym, async () => {
        const previous = await this.readSensorState(pseudonym);
        const replacements = opened.map(({ row, records }) => ({
          sealed: row,
          row: chunkRow(pseudonym, records, this.seal('readings', [pseudonym, row.firstSeq], encodeChunk(records))),
        }));
        const state: SensorState = {
          contiguous: Math.max(previous?.contiguous ?? 0, ...opened.map((o) => o.contiguous)),
          latest: mergeLatest(previous?.latest ?? [], opened.flatMap((o) => o.records)),
        };
        const sensorRow: SensorRow = { pseudonym, value: this.seal('sensors', pseudonym, encodeSensorState(state)) };
        let count = 0;
        await this.write(['readings', 'sensors'], (wtx, ops) => {
          const store = wtx.objectStore('readings');
          for (const { sealed, row } of replacements) {
            ops.push(
              store.get([sealed.pseudonym, sealed.firstSeq]).then((current) => {
                // Only IndexedDB requests inside: the transaction stays active.
                if (current?.sealed !== true || !(current.value instanceof Uint8Array) || !equalBytes(current.value, sealed.value)) return;
                count++;
                return store.put(row);
              }),
            );
          }
          ops.push(wtx.objectStore('sensors').put(sensorRow));
        });
        return count;
      });
    }
    return resealed;
  }

  /**
   * The readings of a sensor with `fromMs ≤ timeMs ≤ toMs`, each seq once, sorted by (time, seq).
   * Opens only the chunks with a record in one of the hours of the range; chunks still sealed
   * from a locked period are not readable until `resealLockedChunks`.
   */
  async readings(deviceId: Uint8Array, fromMs: number, toMs: number): Promise<ReadingRecord[]> {
    if (Number.isNaN(fromMs) || Number.isNaN(toMs)) throw new RangeError('time range is NaN');
    const pseudonym = this.devicePseudonym(deviceId);
    this.requireRecordKey();
    if (fromMs > toMs) return [];
    const range = IDBKeyRange.bound([pseudonym, timeBucket(fromMs)], [pseudonym, timeBucket(toMs)]);
    const tx = this.db.transaction('readings');
    const keys = await tx.store.index('by-bucket').getAllKeys(range);
    const unique = new Map<number, [string, number]>();
    for (const key of keys) unique.set(key[1], key);
    const rows = await Promise.all([...unique.values()].map((key) => tx.store.get(key)));
    await tx.done;
    const bySeq = new Map<number, ReadingRecord>();
    for (const row of rows) {
      if (row === undefined) continue;
      if (row.sealed === true) {
        // Not readable before `resealLockedChunks`; but a row under RK flagged sealed is not hidden.
        if (!(row.value instanceof Uint8Array) || row.value[0] !== PUBLIC_KEY_FORMAT) {
          throw new VaultIntegrityError('mismatch', 'readings', 'a chunk flagged sealed is not sealed');
        }
        continue;
      }
      for (const record of this.openChunk(row)) {
        if (record.timeMs >= fromMs && record.timeMs <= toMs && !bySeq.has(record.seq)) bySeq.set(record.seq, record);
      }
    }
    return [...bySeq.values()].sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq);
  }

  /** The stored record with the highest seq of each measurement code (from the sensor's row). */
  async latest(deviceId: Uint8Array): Promise<Map<number, ReadingRecord>> {
    const state = await this.readSensorState(this.devicePseudonym(deviceId));
    return new Map((state?.latest ?? []).map((r) => [r.code, r]));
  }

  /** The stored ledger of a sensor; after an unlock, call `resealLockedChunks` first. */
  async sensorLedger(deviceId: Uint8Array): Promise<SensorLedger | undefined> {
    const state = await this.readSensorState(this.devicePseudonym(deviceId));
    return state === undefined ? undefined : { contiguous: state.contiguous };
  }

  // ── bonds ─────────────────────────────────────────────────────────────────────────────────

  async putBond(bond: StoredBond): Promise<void> {
    const pseudonym = this.devicePseudonym(bond.deviceId);
    const value = this.seal('bonds', pseudonym, encodeBond(bond));
    await this.write(['bonds'], (tx, ops) => {
      ops.push(tx.objectStore('bonds').put({ pseudonym, value }));
    });
  }

  async bond(deviceId: Uint8Array): Promise<StoredBond | undefined> {
    const pseudonym = this.devicePseudonym(deviceId);
    const row = await this.db.get('bonds', pseudonym);
    return row === undefined ? undefined : this.openBond(row.pseudonym, row.value);
  }

  async bonds(): Promise<StoredBond[]> {
    this.requireIndexKey();
    const rows = await this.db.getAll('bonds');
    return rows.map((row) => this.openBond(row.pseudonym, row.value));
  }

  /** Deletes the bond and the sensor's ledger row; its readings too with `purgeReadings`. */
  async deleteBond(deviceId: Uint8Array, options: DeleteBondOptions = {}): Promise<void> {
    const pseudonym = this.devicePseudonym(deviceId);
    await this.exclusive(pseudonym, () =>
      this.write(['bonds', 'sensors', 'readings'], (tx, ops) => {
        ops.push(tx.objectStore('bonds').delete(pseudonym));
        ops.push(tx.objectStore('sensors').delete(pseudonym));
        if (options.purgeReadings === true) {
          ops.push(tx.objectStore('readings').delete(IDBKeyRange.bound([pseudonym, -Infinity], [pseudonym, Infinity])));
        }
      }),
    );
  }

  private openBond(pseudonym: string, value: unknown): StoredBond {
    const bond = decodeOpened('bonds', () => decodeBond(this.open('bonds', pseudonym, value)));
    if (devicePseudonym(this.requireIndexKey(), bond.deviceId) !== pseudonym) {
      throw new VaultIntegrityError('mismatch', 'bonds', 'a bond does not belong to its row');
    }
    return bond;
  }

  // ── secrets ───────────────────────────────────────────────────────────────────────────────

  async putSecret(name: string, bytes: Uint8Array): Promise<void> {
    checkName(name, 'a secret name');
    if (!(bytes instanceof Uint8Array)) throw new RangeError('a secret is a byte array');
    const value = this.seal('secrets', name, bytes);
    await this.write(['secrets'], (tx, ops) => {
      ops.push(tx.objectStore('secrets').put({ name, value }));
    });
  }

  async getSecret(name: string): Promise<Uint8Array | undefined> {
    checkName(name, 'a secret name');
    this.requireRecordKey();
    const row = await this.db.get('secrets', name);
    return row === undefined ? undefined : this.open('secrets', name, row.value);
  }

  async deleteSecret(name: string): Promise<void> {
    await this.db.delete('secrets', checkName(name, 'a secret name'));
  }

  // ── security log ──────────────────────────────────────────────────────────────────────────

  async addSecurityEvent(event: SecurityEventInput): Promise<void> {
    checkName(event.kind, 'a security event kind');
    checkTime(event.atMs, 'atMs');
    if (event.detail !== undefined && typeof event.detail !== 'string') throw new RangeError('detail must be a string');
    const plaintext = encodeSecurityEvent(event);
    const bucket = timeBucket(event.atMs);
    await this.exclusive('\u0000security', async () => {
      for (let attempt = 1; ; attempt++) {
        const cursor = await this.db.transaction('security').store.openKeyCursor(null, 'prev');
        const id = (cursor?.key ?? 0) + 1;
        const value = this.seal('security', id, plaintext);
        try {
          await this.write(['security'], (tx, ops) => {
            ops.push(tx.objectStore('security').add({ id, bucket, value }));
          });
          return;
        } catch (error) {
          // Another connection took this id first: seal for the next one.
          if (errorName(error) !== 'ConstraintError' || attempt >= SECURITY_ADD_ATTEMPTS) throw error;
        }
      }
    });
  }

  /** Events with `fromMs ≤ atMs ≤ toMs` (both optional), in time order. */
  async securityEvents(fromMs?: number, toMs?: number): Promise<SecurityEventEntry[]> {
    this.requireRecordKey();
    const from = fromMs ?? -Infinity;
    const to = toMs ?? Infinity;
    if (Number.isNaN(from) || Number.isNaN(to)) throw new RangeError('time range is NaN');
    if (from > to) return [];
    const rows = await this.db.getAllFromIndex('security', 'by-bucket', IDBKeyRange.bound(timeBucket(from), timeBucket(to)));
    return rows
      .map((row) => decodeOpened('security', () => decodeSecurityEvent(row.id, this.open('security', row.id, row.value))))
      .filter((e) => e.atMs >= from && e.atMs <= to)
      .sort((a, b) => a.atMs - b.atMs || a.id - b.id);
  }

  // ── meta (clear) ──────────────────────────────────────────────────────────────────────────

  /** A value of `meta`, stored in clear: only what is not secret (§1.1, §2.1). */
  async getMeta(name: string): Promise<MetaValue | undefined> {
    return this.db.get('meta', checkName(name, 'a meta name'));
  }

  async putMeta(name: string, value: MetaValue): Promise<void> {
    await this.db.put('meta', value, checkName(name, 'a meta name'));
  }

  async deleteMeta(name: string): Promise<void> {
    await this.db.delete('meta', checkName(name, 'a meta name'));
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────

  private requireRecordKey(): Uint8Array {
    if (this.recordKey === undefined) throw new VaultLockedError('record-key');
    return this.recordKey;
  }

  private requireIndexKey(): Uint8Array {
    if (this.indexKey === undefined) throw new VaultLockedError('index-key');
    return this.indexKey;
  }

  /** Seals under RK, fetching the key at the moment of use (a `lock()` in between is seen). */
  private seal(store: VaultStoreName, key: VaultKey, plaintext: Uint8Array): Uint8Array {
    return sealValue(this.requireRecordKey(), store, canonicalKey(key), plaintext, this.random);
  }

  private open(store: VaultStoreName, key: VaultKey, value: unknown): Uint8Array {
    const recordKey = this.requireRecordKey();
    this.onOpenValue?.(store);
    return openValue(recordKey, store, canonicalKey(key), value);
  }

  private openChunk(row: ChunkRow): ReadingRecord[] {
    const plaintext = this.open('readings', [row.pseudonym, row.firstSeq], row.value);
    const records = decodeOpened('readings', () => decodeChunk(plaintext));
    checkChunkMatchesRow(row, records);
    return records;
  }

  private async readSensorState(pseudonym: string): Promise<SensorState | undefined> {
    this.requireRecordKey();
    const row = await this.db.get('sensors', pseudonym);
    if (row === undefined) return undefined;
    const plaintext = this.open('sensors', pseudonym, row.value);
    return decodeOpened('sensors', () => decodeSensorState(plaintext));
  }

  /**
   * One readwrite transaction: `body` only issues requests (pushing their promises to `ops`);
   * it must not await anything. If `body` throws, the transaction is aborted so that requests
   * already issued are rolled back; a failed request or commit rejects with its own error.
   */
  private async write<N extends VaultStoreName>(names: N[], body: (tx: WriteTx<N>, ops: Promise<unknown>[]) => void): Promise<void> {
    const tx = this.db.transaction(names, 'readwrite');
    const ops: Promise<unknown>[] = [];
    try {
      body(tx, ops);
    } catch (error) {
      for (const op of ops) op.catch(() => undefined);
      tx.done.catch(() => undefined);
      try {
        tx.abort();
      } catch {
        // already finished or aborting
      }
      throw error;
    }
    try {
      await Promise.all([...ops, tx.done]);
    } catch (first) {
      // A failed step must not leave the others to commit.
      try {
        tx.abort();
      } catch {
        // already aborted or finished
      }
      // When the browser aborts the transaction itself (QuotaExceededError at commit), the
      // requests still pending fail with a mere AbortError: report the cause, untouched.
      const cause = await tx.done.then(
        () => undefined,
        (error: unknown) => error,
      );
      throw errorName(first) === 'AbortError' && cause !== undefined && errorName(cause) !== 'AbortError' ? cause : first;
    }
  }

  /** Runs `fn` after every earlier task of the same queue has settled. */
  private async exclusive<T>(queue: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(queue) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.queues.set(queue, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.queues.get(queue) === tail) this.queues.delete(queue);
    }
  }
}

function chunkRow(pseudonym: string, records: readonly ReadingRecord[], value: Uint8Array): ChunkRow {
  const buckets = bucketsOf(records);
  return {
    pseudonym,
    firstSeq: (records[0] as ReadingRecord).seq,
    bucketFrom: buckets[0] as number,
    bucketTo: buckets[buckets.length - 1] as number,
    bucketKeys: buckets.map((b): BucketKey => [pseudonym, b]),
    value,
  };
}

/** An opened chunk must be the one its row describes: first seq and clear buckets. */
function checkChunkMatchesRow(row: ChunkRow, records: readonly ReadingRecord[]): void {
  const buckets = bucketsOf(records);
  const keys = Array.isArray(row.bucketKeys) ? row.bucketKeys : [];
  const matches =
    records[0]?.seq === row.firstSeq &&
    row.bucketFrom === buckets[0] &&
    row.bucketTo === buckets[buckets.length - 1] &&
    keys.length === buckets.length &&
    keys.every((k, i) => Array.isArray(k) && k[0] === row.pseudonym && k[1] === buckets[i]);
  if (!matches) throw new VaultIntegrityError('mismatch', 'readings', 'a chunk does not match its row');
}
