/// <reference lib="dom" />
/**
 * Bench-only worker: the two ceilings the vault pipeline is read against (bench/README.md,
 * suite `worker`), measured in a dedicated worker of the same page as the vault worker, so the
 * same browser, the same origin's IndexedDB and the same kind of thread.
 *
 * - **Raw IndexedDB puts**: rows shaped exactly like the vault's `readings` rows (`ChunkRow`: the
 *   clear pseudonym, first seq, buckets and bucket keys, and a value of random bytes — as
 *   incompressible as ciphertext — of the size the pipeline's rows were measured to have) in a
 *   database with the vault's own schema and indexes (`openVaultDb`). Each transaction is what one
 *   pipeline flush writes: `rowsPerTx` `readings` puts plus one `sensors` put, through `idb`, all
 *   requests issued synchronously and then awaited with `tx.done`. `writers` loops run at once,
 *   each with one transaction in flight (the pipeline writes one batch at a time per sensor). No
 *   reads, no encoding, no encryption: only the storage.
 * - **Raw AEAD opens**: `xchacha20poly1305(key, nonce, ad).decrypt(value)` from @noble/ciphers, a
 *   new cipher instance per call, on a ciphertext of the pipeline's chunk size with an AD of the
 *   vault's length for a `readings` row (docs/vault.md §2.2).
 *
 * Nothing here touches the vault's database or keys.
 */
import * as Comlink from 'comlink';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { openVaultDb, type ChunkRow, type VaultDb } from '../../workers/vault/db.js';
import { canonicalKey, SEALED_VALUE_OVERHEAD, VALUE_AD_LABEL } from '../../workers/vault/sealed-value.js';

export interface IdbParams {
  readonly dbName: string;
  readonly writers: number;
  readonly rowsPerTx: number;
  /** Byte length of each `readings` row's value. */
  readonly valueBytes: number;
  /** Byte length of the `sensors` row's value. */
  readonly sensorBytes: number;
}

export interface IdbSample {
  readonly rows: number;
  readonly transactions: number;
  readonly elapsedMs: number;
}

export interface OpenSample {
  readonly opens: number;
  readonly elapsedMs: number;
}

/** Distinct values per writer, reused round-robin (IndexedDB copies each one anyway). */
const VALUE_POOL = 16;
const HOUR_MS = 3_600_000;

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)));
  return out;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

interface Writer {
  readonly pseudonym: string;
  readonly values: Uint8Array[];
  readonly sensorValue: Uint8Array;
  nextSeq: number;
  nextValue: number;
}

let idb: { db: VaultDb; params: IdbParams; writers: Writer[] } | undefined;
let open: { key: Uint8Array; nonce: Uint8Array; ad: Uint8Array; ciphertext: Uint8Array; plaintextBytes: number } | undefined;
let sink = 0;

async function writeOne(db: VaultDb, w: Writer, rowsPerTx: number, bucket: number): Promise<void> {
  const tx = db.transaction(['readings', 'sensors'], 'readwrite');
  const readings = tx.objectStore('readings');
  const ops: Promise<unknown>[] = [];
  for (let i = 0; i < rowsPerTx; i++) {
    const row: ChunkRow = {
      pseudonym: w.pseudonym,
      firstSeq: w.nextSeq,
      bucketFrom: bucket,
      bucketTo: bucket,
      bucketKeys: [[w.pseudonym, bucket]],
      value: w.values[w.nextValue] as Uint8Array,
    };
    w.nextSeq += 512;
    w.nextValue = (w.nextValue + 1) % w.values.length;
    ops.push(readings.put(row));
  }
  ops.push(tx.objectStore('sensors').put({ pseudonym: w.pseudonym, value: w.sensorValue }));
  await Promise.all([...ops, tx.done]);
}

const api = {
  async prepareIdb(params: IdbParams): Promise<void> {
    idb?.db.close();
    const db = await openVaultDb(params.dbName);
    const writers: Writer[] = Array.from({ length: params.writers }, () => ({
      pseudonym: hex(randomBytes(16)),
      values: Array.from({ length: VALUE_POOL }, () => randomBytes(params.valueBytes)),
      sensorValue: randomBytes(params.sensorBytes),
      nextSeq: 1,
      nextValue: 0,
    }));
    idb = { db, params, writers };
  },

  /** Every writer commits transactions back to back until `ms` have passed; then all finish. */
  async idbSample(ms: number): Promise<IdbSample> {
    if (idb === undefined) throw new Error('prepareIdb first');
    const { db, params, writers } = idb;
    const bucket = Math.floor(Date.now() / HOUR_MS);
    let rows = 0;
    let transactions = 0;
    const t0 = performance.now();
    const deadline = t0 + ms;
    await Promise.all(
      writers.map(async (w) => {
        while (performance.now() < deadline) {
          await writeOne(db, w, params.rowsPerTx, bucket);
          rows += params.rowsPerTx;
          transactions++;
        }
      }),
    );
    return { rows, transactions, elapsedMs: performance.now() - t0 };
  },

  /** Closes and deletes the baseline database. */
  async dropIdb(): Promise<void> {
    if (idb === undefined) return;
    const name = idb.params.dbName;
    idb.db.close();
    idb = undefined;
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  },

  /** A ciphertext of a `valueBytes` vault value (format byte and nonce not included), and its AD. */
  prepareOpen(valueBytes: number): { plaintextBytes: number; adBytes: number } {
    const plaintextBytes = Math.max(1, valueBytes - SEALED_VALUE_OVERHEAD);
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    // The AD of a `readings` row (§2.2): label ‖ store ‖ 0x00 ‖ canonical [pseudonym, firstSeq] ‖ u16 version.
    const label = new TextEncoder().encode(`${VALUE_AD_LABEL}readings`);
    const ck = canonicalKey([hex(randomBytes(16)), 1_234_567]);
    const ad = new Uint8Array(label.length + 1 + ck.length + 2);
    ad.set(label, 0);
    ad.set(ck, label.length + 1);
    ad[ad.length - 1] = 1;
    const ciphertext = xchacha20poly1305(key, nonce, ad).encrypt(randomBytes(plaintextBytes));
    open = { key, nonce, ad, ciphertext, plaintextBytes };
    return { plaintextBytes, adBytes: ad.length };
  },

  /** Opens the same ciphertext again and again for at least `ms`. */
  openSample(ms: number): OpenSample {
    if (open === undefined) throw new Error('prepareOpen first');
    const { key, nonce, ad, ciphertext } = open;
    let opens = 0;
    let acc = 0;
    const t0 = performance.now();
    let elapsed: number;
    do {
      for (let i = 0; i < 8; i++) acc ^= xchacha20poly1305(key, nonce, ad).decrypt(ciphertext)[0] as number;
      opens += 8;
      elapsed = performance.now() - t0;
    } while (elapsed < ms);
    sink ^= acc;
    return { opens, elapsedMs: elapsed };
  },

  sink: () => sink,
};

export type BaselineApi = typeof api;

Comlink.expose(api);
