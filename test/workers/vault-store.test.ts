import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/core/bytes.js';
import { hmacSha256, x25519KeyPair } from '../../src/core/primitives.js';
import { encodeFloat, encodeRecordBytes, MDC, RecordFlags, type Float11073, type ReadingRecord } from '../../src/core/readings.js';
import { openVaultDb, SCHEMA_VERSION, VAULT_STORE_NAMES, type ChunkRow, type VaultDb, type VaultStoreName } from '../../workers/vault/db.js';
import type { PipelineStorage } from '../../workers/vault/pipeline.js';
import { canonicalKey, openValue, VaultIntegrityError } from '../../workers/vault/sealed-value.js';
import { VaultLockedError, VaultStore, type StoredBond, type VaultStoreOptions } from '../../workers/vault/vault-store.js';
import { deterministicRandom } from '../support/deterministic-random.js';

// ── fixtures ────────────────────────────────────────────────────────────────────────────────────

const HOUR = 3_600_000;
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a bucket boundary
const rk = deterministicRandom('vault-record-key')(32);
const ik = deterministicRandom('vault-index-key')(32);
const storageKeys = x25519KeyPair(deterministicRandom('vault-storage-key'));

const DEVICE_A = fromHex('A1B2C3D4E5F60718');
const DEVICE_B = fromHex('0F1E2D3C4B5A6978');

function bondFor(deviceId: Uint8Array, extra: Partial<Pick<StoredBond, 'name' | 'patient'>> = {}): StoredBond {
  const random = deterministicRandom(`bond-${toHex(deviceId)}`);
  return {
    deviceId,
    staticKey: random(32),
    certificate: concatBytes(utf8('CERT'), deviceId, random(120)),
    manufacturer: 'Vitalock Medical',
    model: 'Zephyr-Q7 Thermo',
    serial: 'SN-93QX-7712-KV',
    notAfter: 2_000_000_000,
    hubLabel: 'Ward seven tablet',
    ...extra,
  };
}

function numeric(seq: number, timeMs: number, mantissa: number, exponent = -1, code: number = MDC.TEMP_BODY): ReadingRecord {
  return { seq, timeMs, code, unit: MDC.DIM_DEGC, flags: 0, value: { kind: 1, value: { mantissa, exponent } } };
}

/** `count` heart rates, one a minute from `t0`, seqs from `firstSeq`. */
function heartRates(firstSeq: number, count: number, t0: number): ReadingRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: firstSeq + i,
    timeMs: t0 + i * 60_000,
    code: MDC.ECG_HEART_RATE,
    unit: MDC.DIM_BEAT_PER_MIN,
    flags: 0,
    value: { kind: 1 as const, value: { mantissa: 60 + ((firstSeq + i) % 40), exponent: 0 } },
  }));
}

let dbCounter = 0;
const openDbs: VaultDb[] = [];

async function freshDb(): Promise<{ db: VaultDb; name: string }> {
  const name = `vault-store-test-${++dbCounter}-${Date.now()}`;
  const db = await openVaultDb(name);
  openDbs.push(db);
  return { db, name };
}

async function unlockedStore(options: VaultStoreOptions = {}): Promise<{ store: VaultStore; db: VaultDb; name: string }> {
  const { db, name } = await freshDb();
  const store = new VaultStore(db, { recordKey: rk, indexKey: ik, storagePublicKey: storageKeys.publicKey }, { random: deterministicRandom(name), ...options });
  return { store, db, name };
}

function pseudonymOf(deviceId: Uint8Array): string {
  return toHex(hmacSha256(ik, deviceId).subarray(0, 16));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

async function integrityFailure(promise: Promise<unknown>): Promise<VaultIntegrityError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(VaultIntegrityError);
  return error as VaultIntegrityError;
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const db of openDbs.splice(0)) db.close();
});

// ── schema ──────────────────────────────────────────────────────────────────────────────────────

describe('schema and migrations (vault §2.1)', () => {
  it('opening at version 1 creates every store and index', async () => {
    const { db } = await freshDb();
    expect(db.version).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(1);
    expect([...db.objectStoreNames].sort()).toEqual([...VAULT_STORE_NAMES].sort());
    const tx = db.transaction([...VAULT_STORE_NAMES]);
    const describeStore = (name: VaultStoreName) => {
      const s = tx.objectStore(name);
      const indexes = Object.fromEntries(
        [...s.indexNames].map((n) => {
          const index = s.index(n as never) as unknown as IDBIndex;
          return [n, { keyPath: index.keyPath, multiEntry: index.multiEntry, unique: index.unique }];
        }),
      );
      return { keyPath: s.keyPath, autoIncrement: s.autoIncrement, indexes };
    };
    expect(describeStore('meta')).toEqual({ keyPath: null, autoIncrement: false, indexes: {} });
    expect(describeStore('secrets')).toEqual({ keyPath: 'name', autoIncrement: false, indexes: {} });
    expect(describeStore('bonds')).toEqual({ keyPath: 'pseudonym', autoIncrement: false, indexes: {} });
    expect(describeStore('sensors')).toEqual({ keyPath: 'pseudonym', autoIncrement: false, indexes: {} });
    expect(describeStore('readings')).toEqual({
      keyPath: ['pseudonym', 'firstSeq'],
      autoIncrement: false,
      indexes: {
        'by-bucket': { keyPath: 'bucketKeys', multiEntry: true, unique: false },
        'by-sealed': { keyPath: 'sealedBucket', multiEntry: false, unique: false },
      },
    });
    expect(describeStore('security')).toEqual({
      keyPath: 'id',
      autoIncrement: true,
      indexes: { 'by-bucket': { keyPath: 'bucket', multiEntry: false, unique: false } },
    });
    expect(describeStore('outbox')).toEqual({
      keyPath: 'batchId',
      autoIncrement: false,
      indexes: { 'by-created-bucket': { keyPath: 'createdBucket', multiEntry: false, unique: false } },
    });
    await tx.done;
  });

  it('reopening an existing version-1 database keeps its data (no migration runs again)', async () => {
    const { store, db, name } = await unlockedStore();
    await store.putMeta('failed-attempts', 2);
    await store.putSecret('hub-identity', Uint8Array.of(1, 2, 3));
    db.close();
    const again = new VaultStore(await openVaultDb(name), { recordKey: rk, indexKey: ik });
    openDbs.push(again.db);
    expect(await again.getMeta('failed-attempts')).toBe(2);
    expect(await again.getSecret('hub-identity')).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('VaultStore.open opens (creating) the named database', async () => {
    const name = `vault-store-open-${Date.now()}`;
    const store = await VaultStore.open({ recordKey: rk, indexKey: ik }, { name, random: deterministicRandom(name) });
    openDbs.push(store.db);
    expect(store.db.name).toBe(name);
    expect(store.db.version).toBe(SCHEMA_VERSION);
    await store.putSecret('s', Uint8Array.of(7));
    expect(await store.getSecret('s')).toEqual(Uint8Array.of(7));
  });

  it('pseudonyms and buckets follow §2.3', async () => {
    const { store } = await unlockedStore();
    expect(store.devicePseudonym(DEVICE_A)).toBe(pseudonymOf(DEVICE_A));
    expect(store.devicePseudonym(DEVICE_A)).toMatch(/^[0-9a-f]{32}$/);
    expect(store.devicePseudonym(DEVICE_A)).not.toBe(store.devicePseudonym(DEVICE_B));
    expect([store.timeBucket(0), store.timeBucket(HOUR - 1), store.timeBucket(HOUR), store.timeBucket(T0)]).toEqual([0, 0, 1, T0 / HOUR]);
  });

  it('satisfies the pipeline’s storage interface', async () => {
    const { store } = await unlockedStore();
    const storage: PipelineStorage = store;
    expect(storage).toBe(store);
  });
});

// ── round trips ─────────────────────────────────────────────────────────────────────────────────

describe('round trips', () => {
  it('meta: plain values in clear, bytes included', async () => {
    const { store } = await unlockedStore();
    const wrap = { id: 'pass-1', kind: 'passphrase', kdf: { m: 19456, t: 2, p: 1 }, salt: Uint8Array.of(9, 8, 7), createdAt: T0, label: null };
    await store.putMeta('wrap:pass-1', wrap);
    await store.putMeta('auto-lock-minutes', 5);
    expect(await store.getMeta('wrap:pass-1')).toEqual(wrap);
    expect(await store.getMeta('auto-lock-minutes')).toBe(5);
    expect(await store.getMeta('missing')).toBeUndefined();
    await store.deleteMeta('auto-lock-minutes');
    expect(await store.getMeta('auto-lock-minutes')).toBeUndefined();
  });

  it('secrets', async () => {
    const { store } = await unlockedStore();
    const secret = deterministicRandom('hub-identity')(32);
    await store.putSecret('hub-identity', secret);
    expect(await store.getSecret('hub-identity')).toEqual(secret);
    expect(await store.getSecret('storage-secret-key')).toBeUndefined();
    await store.deleteSecret('hub-identity');
    expect(await store.getSecret('hub-identity')).toBeUndefined();
  });

  it('bonds: the SensorBond with the user’s fields; delete keeps readings unless purged', async () => {
    const { store, db } = await unlockedStore();
    const a = bondFor(DEVICE_A, { name: 'Bedroom thermometer', patient: 'patient-4711' });
    const b = bondFor(DEVICE_B);
    await store.putBond(a);
    await store.putBond(b);
    expect(await store.bond(DEVICE_A)).toEqual(a);
    const bOut = await store.bond(DEVICE_B);
    expect(bOut).toEqual(b);
    expect(bOut !== undefined && 'name' in bOut).toBe(false);
    const byId = (x: StoredBond, y: StoredBond) => toHex(x.deviceId).localeCompare(toHex(y.deviceId));
    expect((await store.bonds()).sort(byId)).toEqual([a, b].sort(byId));
    await store.putBond({ ...a, name: 'Renamed' });
    expect((await store.bond(DEVICE_A))?.name).toBe('Renamed');

    await store.putReadings(DEVICE_A, heartRates(1, 5, T0), { contiguous: 5 });
    await store.putReadings(DEVICE_B, heartRates(1, 5, T0), { contiguous: 5 });
    await store.deleteBond(DEVICE_A);
    expect(await store.bond(DEVICE_A)).toBeUndefined();
    expect(await store.sensorLedger(DEVICE_A)).toBeUndefined();
    expect(await store.readings(DEVICE_A, T0, T0 + HOUR)).toHaveLength(5);

    await store.deleteBond(DEVICE_B, { purgeReadings: true });
    expect(await store.bonds()).toEqual([]);
    expect(await store.readings(DEVICE_B, T0, T0 + HOUR)).toEqual([]);
    expect(await db.count('readings')).toBe(1);
  });

  it('readings, ledger and latest values of a sensor', async () => {
    const { store } = await unlockedStore();
    expect(await store.sensorLedger(DEVICE_A)).toBeUndefined();
    expect((await store.latest(DEVICE_A)).size).toBe(0);
    const bp: ReadingRecord = {
      seq: 3,
      timeMs: T0 + 30_000,
      code: MDC.PRESS_BLD_NONINV,
      unit: MDC.DIM_MMHG,
      flags: RecordFlags.Questionable,
      value: {
        kind: 2,
        components: [
          { code: MDC.PRESS_BLD_NONINV_SYS, value: { mantissa: 118, exponent: 0 } },
          { code: MDC.PRESS_BLD_NONINV_DIA, value: { mantissa: 76, exponent: 0 } },
          { code: MDC.PRESS_BLD_NONINV_MEAN, value: 'NRes' },
        ],
      },
    };
    const ecg: ReadingRecord = {
      seq: 4,
      timeMs: T0 + 10_000,
      code: MDC.ECG_ELEC_POTL_II,
      unit: MDC.DIM_MILLI_VOLT,
      flags: 0,
      value: { kind: 3, intervalUs: 4000, scale: { mantissa: 5, exponent: -3 }, samples: Int16Array.from([1, -2, 300, -400]) },
    };
    const batch = [numeric(1, T0 + 20_000, 366), numeric(2, T0 + 20_000, 367), bp, ecg];
    await store.putReadings(DEVICE_A, batch, { contiguous: 4 });
    expect(await store.readings(DEVICE_A, T0, T0 + HOUR)).toEqual([ecg, batch[0], batch[1], bp]);
    expect(await store.sensorLedger(DEVICE_A)).toEqual({ contiguous: 4 });
    await store.putReadings(DEVICE_A, [numeric(5, T0 + 40_000, 371)], { contiguous: 5 });
    expect(await store.sensorLedger(DEVICE_A)).toEqual({ contiguous: 5 });
    const latest = await store.latest(DEVICE_A);
    expect([...latest.keys()].sort()).toEqual([MDC.TEMP_BODY, MDC.PRESS_BLD_NONINV, MDC.ECG_ELEC_POTL_II].sort());
    expect(latest.get(MDC.TEMP_BODY)).toEqual(numeric(5, T0 + 40_000, 371));
    expect(latest.get(MDC.PRESS_BLD_NONINV)).toEqual(bp);
    expect(await store.readings(DEVICE_B, 0, Infinity)).toEqual([]);
    // No records: the ledger alone moves (e.g. after the sensor reported records kept elsewhere).
    await store.putReadings(DEVICE_A, [], { contiguous: 9 });
    expect(await store.sensorLedger(DEVICE_A)).toEqual({ contiguous: 9 });
    expect((await store.latest(DEVICE_A)).get(MDC.TEMP_BODY)?.seq).toBe(5);
  });

  it('security events, in time order, by range', async () => {
    const { store } = await unlockedStore();
    await store.addSecurityEvent({ kind: 'unlock-failed', atMs: T0 + 2 * HOUR, detail: 'Wrong passphrase (4th attempt).' });
    await store.addSecurityEvent({ kind: 'replay-rejected', atMs: T0 });
    await store.addSecurityEvent({ kind: 'tamper', atMs: T0 + 5 * HOUR, detail: 'Case opened.' });
    const all = await store.securityEvents();
    expect(all).toEqual([
      { id: 2, kind: 'replay-rejected', atMs: T0 },
      { id: 1, kind: 'unlock-failed', atMs: T0 + 2 * HOUR, detail: 'Wrong passphrase (4th attempt).' },
      { id: 3, kind: 'tamper', atMs: T0 + 5 * HOUR, detail: 'Case opened.' },
    ]);
    expect((await store.securityEvents(T0 + 1, T0 + 2 * HOUR)).map((e) => e.id)).toEqual([1]);
    expect((await store.securityEvents(T0 + 3 * HOUR)).map((e) => e.id)).toEqual([3]);
    expect((await store.securityEvents(undefined, T0)).map((e) => e.id)).toEqual([2]);
  });

  it('security events written concurrently each get their own id', async () => {
    const { store } = await unlockedStore();
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.addSecurityEvent({ kind: `k${i}`, atMs: T0 + i })));
    expect((await store.securityEvents()).map((e) => e.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a security id taken by another connection (another tab) is retried with the next one', async () => {
    const { store, db } = await unlockedStore();
    await store.addSecurityEvent({ kind: 'first', atMs: T0 });
    const otherTab = new VaultStore(db, { recordKey: rk, indexKey: ik }, { random: deterministicRandom('other-tab') });
    const add = vi.spyOn(IDBObjectStore.prototype, 'add');
    // Both read "last id = 1" before either writes; the loser gets ConstraintError and tries id 3.
    await Promise.all([
      store.addSecurityEvent({ kind: 'this-tab', atMs: T0 + 1 }),
      otherTab.addSecurityEvent({ kind: 'other-tab', atMs: T0 + 2 }),
    ]);
    expect(add.mock.calls.length).toBeGreaterThan(2);
    const events = await store.securityEvents();
    expect(events.map((e) => [e.id, e.kind])).toEqual([
      [1, 'first'],
      [events[1]?.kind === 'this-tab' ? 2 : 3, 'this-tab'],
      [events[1]?.kind === 'this-tab' ? 3 : 2, 'other-tab'],
    ]);
  });
});

// ── readings: chunks, ranges, duplicates ────────────────────────────────────────────────────────

describe('readings (vault §2.4, §3.2)', () => {
  it('a large batch is split into chunks of at most 512, all returned', async () => {
    const { store, db } = await unlockedStore();
    const records = heartRates(1, 1100, T0);
    await store.putReadings(DEVICE_A, records, { contiguous: 1100 });
    const rows = await db.getAll('readings');
    expect(rows.map((r) => r.firstSeq)).toEqual([1, 513, 1025]);
    expect(await store.readings(DEVICE_A, T0, T0 + 1100 * 60_000)).toEqual(records);
  });

  it('range queries open only the chunks with a record in the range (bounds inclusive)', async () => {
    let opened = 0;
    const { store } = await unlockedStore({ onOpenValue: (s) => void (s === 'readings' && opened++) });
    // Five chunks, one per hour, ten readings each (one every six minutes).
    for (let h = 0; h < 5; h++) {
      const records = Array.from({ length: 10 }, (_, i) => numeric(h * 10 + i + 1, T0 + h * HOUR + i * 360_000, 360 + i));
      await store.putReadings(DEVICE_A, records, { contiguous: h * 10 + 10 });
    }
    // A chunk whose records lie far apart (one taken before the clock was set, at time 0 + 10 min).
    await store.putReadings(DEVICE_A, [numeric(51, 600_000, 370), numeric(52, T0 + 9 * HOUR, 371)], { contiguous: 52 });
    // Another sensor in the same hours: never opened.
    await store.putReadings(DEVICE_B, heartRates(1, 300, T0), { contiguous: 300 });

    const count = async (from: number, to: number): Promise<{ opened: number; seqs: number[] }> => {
      opened = 0;
      const records = await store.readings(DEVICE_A, from, to);
      return { opened, seqs: records.map((r) => r.seq) };
    };
    expect(await count(T0 + 2 * HOUR, T0 + 3 * HOUR - 1)).toEqual({ opened: 1, seqs: [21, 22, 23, 24, 25, 26, 27, 28, 29, 30] });
    expect(await count(T0 + 2 * HOUR + 360_000, T0 + 2 * HOUR + 720_000)).toEqual({ opened: 1, seqs: [22, 23] });
    expect(await count(T0 + HOUR + 50 * 60_000, T0 + 3 * HOUR + 10 * 60_000)).toEqual({ opened: 3, seqs: [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32] });
    // Hours 5–8 hold nothing of this sensor, though the far-apart chunk spans them.
    expect(await count(T0 + 5 * HOUR, T0 + 9 * HOUR - 1)).toEqual({ opened: 0, seqs: [] });
    expect(await count(T0 + 9 * HOUR, T0 + 9 * HOUR)).toEqual({ opened: 1, seqs: [52] });
    expect(await count(0, HOUR)).toEqual({ opened: 1, seqs: [51] });
    expect(await count(T0 + HOUR, T0)).toEqual({ opened: 0, seqs: [] });
  });

  it('sorts by (time, seq) even when seq order and time order differ', async () => {
    const { store } = await unlockedStore();
    const records = [numeric(1, T0 + 5000, 361), numeric(2, T0 + 1000, 362), numeric(3, T0 + 5000, 363), numeric(4, T0, 364)];
    await store.putReadings(DEVICE_A, records, { contiguous: 4 });
    expect((await store.readings(DEVICE_A, T0, T0 + HOUR)).map((r) => r.seq)).toEqual([4, 2, 1, 3]);
  });

  it('a record stored twice is returned once; the same batch written twice is stored once', async () => {
    const { store, db } = await unlockedStore();
    await store.putReadings(DEVICE_A, heartRates(1, 10, T0), { contiguous: 10 });
    await store.putReadings(DEVICE_A, heartRates(1, 10, T0), { contiguous: 10 });
    expect(await db.count('readings')).toBe(1);
    // After a restart the sensor resends 5…15 (5…10 were stored but not acknowledged).
    await store.putReadings(DEVICE_A, heartRates(5, 11, T0 + 4 * 60_000), { contiguous: 15 });
    expect(await db.count('readings')).toBe(2);
    const records = await store.readings(DEVICE_A, T0, T0 + HOUR);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    // Duplicates inside one batch are stored once.
    await store.putReadings(DEVICE_A, [...heartRates(16, 3, T0 + 20 * 60_000), ...heartRates(16, 3, T0 + 20 * 60_000)], { contiguous: 18 });
    expect((await store.readings(DEVICE_A, T0, T0 + HOUR)).length).toBe(18);
  });

  it('refuses invalid records and ledgers before writing anything', async () => {
    const { store, db } = await unlockedStore();
    await expect(store.putReadings(DEVICE_A, [numeric(0, T0, 1)], { contiguous: 0 })).rejects.toThrow(RangeError);
    await expect(store.putReadings(DEVICE_A, [numeric(1, -1, 1)], { contiguous: 0 })).rejects.toThrow(RangeError);
    await expect(store.putReadings(DEVICE_A, [numeric(1, T0, 1)], { contiguous: -1 })).rejects.toThrow(RangeError);
    expect(await db.count('readings')).toBe(0);
    expect(await db.count('sensors')).toBe(0);
  });
});

// ── atomicity and quota ─────────────────────────────────────────────────────────────────────────

describe('the chunk and the ledger commit together', () => {
  const originalPut = IDBObjectStore.prototype.put;

  function failPutsTo(storeName: string, fail: (store: IDBObjectStore, value: unknown, key?: IDBValidKey) => IDBRequest): void {
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (this.name === storeName) return fail(this, value, key);
      return originalPut.call(this, value, key);
    });
  }

  it('a ledger put refused at once (a bad key) leaves neither chunk nor ledger', async () => {
    const { store, db } = await unlockedStore();
    failPutsTo('sensors', (s, value) => originalPut.call(s, { ...(value as object), pseudonym: undefined }));
    const error = await rejection(store.putReadings(DEVICE_A, heartRates(1, 600, T0), { contiguous: 600 }));
    expect((error as DOMException).name).toBe('DataError');
    vi.restoreAllMocks();
    expect(await db.count('readings')).toBe(0);
    expect(await db.count('sensors')).toBe(0);
  });

  it('a ledger put that fails in the database rolls the chunks back and keeps the previous state', async () => {
    const { store, db } = await unlockedStore();
    await store.putReadings(DEVICE_A, heartRates(1, 10, T0), { contiguous: 10 });
    // The second put fails asynchronously: `add` over the existing row → ConstraintError.
    failPutsTo('sensors', (s, value) => s.add(value));
    const error = await rejection(store.putReadings(DEVICE_A, heartRates(11, 10, T0 + HOUR), { contiguous: 20 }));
    expect((error as DOMException).name).toBe('ConstraintError');
    vi.restoreAllMocks();
    expect((await db.getAll('readings')).map((r) => r.firstSeq)).toEqual([1]);
    expect(await store.sensorLedger(DEVICE_A)).toEqual({ contiguous: 10 });
    expect((await store.latest(DEVICE_A)).get(MDC.ECG_HEART_RATE)?.seq).toBe(10);
    // And the retry goes through.
    await store.putReadings(DEVICE_A, heartRates(11, 10, T0 + HOUR), { contiguous: 20 });
    expect(await store.sensorLedger(DEVICE_A)).toEqual({ contiguous: 20 });
  });

  it('QuotaExceededError raised by the browser on a put is rethrown untouched, nothing stored', async () => {
    const { store, db } = await unlockedStore();
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    failPutsTo('readings', () => {
      throw quota;
    });
    const error = await rejection(store.putReadings(DEVICE_A, heartRates(1, 5, T0), { contiguous: 5 }));
    expect(error).toBe(quota);
    vi.restoreAllMocks();
    expect(await db.count('readings')).toBe(0);
    expect(await db.count('sensors')).toBe(0);
  });

  it('QuotaExceededError aborting the transaction (at commit) is the error reported, not AbortError', async () => {
    const { store, db } = await unlockedStore();
    failPutsTo('sensors', (s, value, key) => {
      const request = originalPut.call(s, value, key);
      // What a browser does when the commit does not fit: abort the transaction with this error.
      (s.transaction as unknown as { _abort(name: string): void })._abort('QuotaExceededError');
      return request;
    });
    const error = await rejection(store.putReadings(DEVICE_A, heartRates(1, 5, T0), { contiguous: 5 }));
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('QuotaExceededError');
    vi.restoreAllMocks();
    expect(await db.count('readings')).toBe(0);
    expect(await db.count('sensors')).toBe(0);
  });
});

// ── tampering ───────────────────────────────────────────────────────────────────────────────────

describe('a value moved to another row or store is detected', () => {
  it('chunk A’s value under chunk B’s key', async () => {
    const { store, db } = await unlockedStore();
    await store.putReadings(DEVICE_A, heartRates(1, 10, T0), { contiguous: 10 });
    await store.putReadings(DEVICE_A, heartRates(11, 10, T0 + 20 * 60_000), { contiguous: 20 });
    const [a, b] = (await db.getAll('readings')) as [ChunkRow, ChunkRow];
    await db.put('readings', { ...b, value: a.value });
    expect((await integrityFailure(store.readings(DEVICE_A, T0, T0 + HOUR))).reason).toBe('auth-failed');
  });

  it('a chunk of one sensor under another sensor’s key', async () => {
    const { store, db } = await unlockedStore();
    await store.putReadings(DEVICE_A, heartRates(1, 10, T0), { contiguous: 10 });
    await store.putReadings(DEVICE_B, heartRates(1, 10, T0), { contiguous: 10 });
    const a = await db.get('readings', [pseudonymOf(DEVICE_A), 1]);
    const b = await db.get('readings', [pseudonymOf(DEVICE_B), 1]);
    await db.put('readings', { ...(b as ChunkRow), value: (a as ChunkRow).value });
    await integrityFailure(store.readings(DEVICE_B, T0, T0 + HOUR));
    expect(await store.readings(DEVICE_A, T0, T0 + HOUR)).toHaveLength(10);
  });

  it('a bond under another bond’s key', async () => {
    const { store, db } = await unlockedStore();
    await store.putBond(bondFor(DEVICE_A));
    await store.putBond(bondFor(DEVICE_B));
    const a = await db.get('bonds', pseudonymOf(DEVICE_A));
    await db.put('bonds', { pseudonym: pseudonymOf(DEVICE_B), value: a?.value as Uint8Array });
    await integrityFailure(store.bond(DEVICE_B));
    await integrityFailure(store.bonds());
  });

  it('values moved across stores under the same key', async () => {
    const { store, db } = await unlockedStore();
    await store.putBond(bondFor(DEVICE_A));
    await store.putReadings(DEVICE_A, heartRates(1, 3, T0), { contiguous: 3 });
    const p = pseudonymOf(DEVICE_A);
    // The sensors row (same key, the pseudonym) copied over the bond…
    const sensor = await db.get('sensors', p);
    await db.put('bonds', { pseudonym: p, value: sensor?.value as Uint8Array });
    await integrityFailure(store.bond(DEVICE_A));
    // …and a bond into the secrets store.
    await store.putBond(bondFor(DEVICE_B));
    const bond = await db.get('bonds', pseudonymOf(DEVICE_B));
    await db.put('secrets', { name: 'x', value: bond?.value as Uint8Array });
    await integrityFailure(store.getSecret('x'));
  });

  it('two security events swapped', async () => {
    const { store, db } = await unlockedStore();
    await store.addSecurityEvent({ kind: 'a', atMs: T0 });
    await store.addSecurityEvent({ kind: 'b', atMs: T0 + 1 });
    const [one, two] = await db.getAll('security');
    await db.put('security', { ...one!, value: two!.value });
    await db.put('security', { ...two!, value: one!.value });
    await integrityFailure(store.securityEvents());
  });

  it('a tampered ledger row, a tampered clear bucket index, a wrong record key', async () => {
    const { store, db, name } = await unlockedStore();
    await store.putReadings(DEVICE_A, heartRates(1, 10, T0), { contiguous: 10 });
    const p = pseudonymOf(DEVICE_A);
    const chunk = (await db.get('readings', [p, 1])) as ChunkRow;

    const wrongKey = new VaultStore(db, { recordKey: deterministicRandom('wrong')(32), indexKey: ik }, { random: deterministicRandom(name) });
    await integrityFailure(wrongKey.readings(DEVICE_A, T0, T0 + HOUR));
    await integrityFailure(wrongKey.sensorLedger(DEVICE_A));

    // Someone moves the chunk to another hour in the clear index: caught once it is opened.
    await db.put('readings', { ...chunk, bucketKeys: [[p, T0 / HOUR + 3]], bucketFrom: T0 / HOUR + 3, bucketTo: T0 / HOUR + 3 });
    expect((await integrityFailure(store.readings(DEVICE_A, T0 + 3 * HOUR, T0 + 4 * HOUR))).reason).toBe('mismatch');
    await db.put('readings', chunk);

    // A normal chunk flagged sealed, to hide it from reads: refused, not skipped.
    await db.put('readings', { ...chunk, sealed: true, sealedBucket: chunk.bucketTo });
    expect((await integrityFailure(store.readings(DEVICE_A, T0, T0 + HOUR))).reason).toBe('mismatch');
    await db.put('readings', chunk);

    const sensor = await db.get('sensors', p);
    const flipped = (sensor?.value as Uint8Array).slice();
    flipped[30] = (flipped[30] as number) ^ 1;
    await db.put('sensors', { pseudonym: p, value: flipped });
    await integrityFailure(store.sensorLedger(DEVICE_A));
    await integrityFailure(store.latest(DEVICE_A));
    // A write that needs the ledger row refuses too, rather than overwrite it blindly.
    await integrityFailure(store.putReadings(DEVICE_A, heartRates(11, 1, T0), { contiguous: 11 }));
  });
});

// ── nothing in clear ────────────────────────────────────────────────────────────────────────────

interface Dump {
  readonly strings: string[];
  readonly bytes: Uint8Array;
}

/** Every key and value of every store, read with plain idb (no schema), as strings and bytes. */
async function rawDump(name: string): Promise<Dump> {
  const db = await openDB(name);
  const strings: string[] = [];
  const blobs: Uint8Array[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      strings.push(value);
      blobs.push(utf8(value), Uint8Array.of(0));
    } else if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
      strings.push(String(value));
    } else if (value instanceof Uint8Array) {
      blobs.push(value, Uint8Array.of(0));
    } else if (ArrayBuffer.isView(value)) {
      blobs.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), Uint8Array.of(0));
    } else if (value instanceof ArrayBuffer) {
      blobs.push(new Uint8Array(value), Uint8Array.of(0));
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        strings.push(k);
        visit(v);
      }
    } else {
      throw new Error(`unexpected value in the database: ${typeof value}`);
    }
  };
  for (const storeName of db.objectStoreNames) {
    strings.push(storeName);
    let cursor = await db.transaction(storeName).store.openCursor();
    while (cursor) {
      visit(cursor.key);
      visit(cursor.value);
      cursor = await cursor.continue();
    }
  }
  db.close();
  return { strings, bytes: concatBytes(...blobs) };
}

function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function u32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v);
  return out;
}

describe('no device id, serial, name or reading value in clear (vault §2.3)', () => {
  it('a raw dump of the whole database holds only pseudonyms, buckets and ciphertext', async () => {
    const { store, name } = await unlockedStore();
    const bond = bondFor(DEVICE_A, { name: 'Leopoldine bedside thermometer', patient: 'patient-Quirinus-4711' });
    await store.putBond(bond);
    await store.putBond(bondFor(DEVICE_B, { name: 'Spare' }));
    // Distinctive values: 7654.321 °C, 8123.456, −7654.32 and a waveform no ciphertext would repeat.
    const values: Float11073[] = [
      { mantissa: 7_654_321, exponent: -3 },
      { mantissa: 8_123_456, exponent: -3 },
      { mantissa: -765_432, exponent: -2 },
    ];
    const samples = Int16Array.from([12345, -23456, 31111, -1111, 22222, -3333]);
    const records: ReadingRecord[] = [
      ...values.map((value, i) => ({ seq: i + 1, timeMs: T0 + i * 1000, code: MDC.TEMP_BODY, unit: MDC.DIM_DEGC, flags: 0, value: { kind: 1 as const, value } })),
      { seq: 4, timeMs: T0 + 4000, code: MDC.ECG_ELEC_POTL_II, unit: MDC.DIM_MILLI_VOLT, flags: 0, value: { kind: 3, intervalUs: 4000, scale: { mantissa: 5, exponent: -3 }, samples } },
    ];
    await store.putReadings(DEVICE_A, records, { contiguous: 4 });
    await store.putReadings(DEVICE_A, heartRates(5, 700, T0 + HOUR), { contiguous: 704 });
    await new VaultStore(store.db, { storagePublicKey: storageKeys.publicKey }, { random: deterministicRandom('locked') }).putReadingsSealed(
      pseudonymOf(DEVICE_A),
      [{ ...(records[0] as ReadingRecord), seq: 705, timeMs: T0 + 3 * HOUR }],
      { contiguous: 705 },
    );
    await store.addSecurityEvent({ kind: 'paired', atMs: T0, detail: `Paired with ${bond.model}, serial ${bond.serial}.` });
    await store.putSecret('storage-secret-key', storageKeys.secretKey);
    await store.putMeta('storage-public-key', storageKeys.publicKey);

    const dump = await rawDump(name);
    const text = dump.strings.join('\n');
    const idHex = toHex(DEVICE_A);
    for (const secret of [bond.serial, bond.name as string, bond.patient as string, bond.model, 'Spare', 'Ward seven', idHex.toUpperCase(), idHex.toLowerCase(), toHex(DEVICE_B), toHex(DEVICE_B).toUpperCase()]) {
      expect(text.toLowerCase()).not.toContain(secret.toLowerCase());
      expect(containsBytes(dump.bytes, utf8(secret))).toBe(false);
    }
    for (const id of [DEVICE_A, DEVICE_B]) expect(containsBytes(dump.bytes, id)).toBe(false);
    for (const secret of [bond.certificate, bond.staticKey, storageKeys.secretKey]) expect(containsBytes(dump.bytes, secret.subarray(0, 12))).toBe(false);
    for (const value of values) {
      expect(containsBytes(dump.bytes, u32(encodeFloat(value)))).toBe(false);
      expect(text).not.toMatch(/7654\.321|8123\.456|7654\.32|7654321|8123456|765432/);
    }
    expect(containsBytes(dump.bytes, new Uint8Array(samples.buffer))).toBe(false);
    const bigEndianSamples = concatBytes(...Array.from(samples, (s) => Uint8Array.of((s >> 8) & 0xff, s & 0xff)));
    expect(containsBytes(dump.bytes, bigEndianSamples)).toBe(false);
    for (const record of records) expect(containsBytes(dump.bytes, encodeRecordBytes(record).subarray(0, 13))).toBe(false);

    // What is there: field and store names, pseudonyms, numbers (buckets, seqs, ids), and the
    // names chosen for secrets, batches and meta entries.
    const allowed = new Set<string>([
      ...VAULT_STORE_NAMES,
      'name',
      'value',
      'pseudonym',
      'firstSeq',
      'bucketFrom',
      'bucketTo',
      'bucketKeys',
      'sealed',
      'sealedBucket',
      'id',
      'bucket',
      'batchId',
      'createdBucket',
      'storage-secret-key',
      'batch-1',
      'storage-public-key',
      'true',
    ]);
    for (const s of dump.strings) {
      if (allowed.has(s) || /^[0-9a-f]{32}$/.test(s) || /^\d+$/.test(s)) continue;
      throw new Error(`unexpected clear string in the database: ${JSON.stringify(s)}`);
    }
    expect(dump.strings).toContain(pseudonymOf(DEVICE_A));
  });
});

// ── locked mode ─────────────────────────────────────────────────────────────────────────────────

describe('readings stored while locked (vault §3.3)', () => {
  async function lockedFixture() {
    const fx = await unlockedStore();
    await fx.store.putReadings(DEVICE_A, heartRates(1, 10, T0), { contiguous: 10 });
    const locked = new VaultStore(fx.db, { storagePublicKey: storageKeys.publicKey }, { random: deterministicRandom('locked-mode') });
    const p = fx.store.devicePseudonym(DEVICE_A);
    return { ...fx, locked, p };
  }

  it('are sealed, unreadable with the record key, and readable after resealLockedChunks', async () => {
    const { store, db, locked, p } = await lockedFixture();
    const during = [...heartRates(11, 600, T0 + 10 * 60_000), numeric(611, T0 + 2 * HOUR, 372)];
    await locked.putReadingsSealed(p, during, { contiguous: 611 });

    const sealedRows = (await db.getAll('readings')).filter((r) => r.sealed === true);
    expect(sealedRows.map((r) => r.firstSeq)).toEqual([11, 523]);
    for (const row of sealedRows) {
      expect(row.sealedBucket).toBe(row.bucketTo);
      expect(() => openValue(rk, 'readings', canonicalKey([row.pseudonym, row.firstSeq]), row.value)).toThrow(VaultIntegrityError);
    }
    // Not readable yet, and the ledger is the one from before the lock.
    expect((await store.readings(DEVICE_A, T0, T0 + 3 * HOUR)).map((r) => r.seq)).toEqual(heartRates(1, 10, T0).map((r) => r.seq));
    expect(await store.sensorLedger(DEVICE_A)).toEqual({ contiguous: 10 });
    // A locked store has no record key: it cannot write or read normally.
    await expect(locked.putReadings(DEVICE_A, heartRates(700, 1, T0), { contiguous: 700 })).rejects.toBeInstanceOf(VaultLockedError);
    await expect(locked.readings(DEVICE_A, 0, Infinity)).rejects.toBeInstanceOf(VaultLockedError);
    await expect(store.resealLockedChunks(x25519KeyPair(deterministicRandom('not-it')).secretKey)).rejects.toBeInstanceOf(VaultIntegrityError);

    expect(await store.resealLockedChunks(storageKeys.secretKey)).toBe(2);
    expect((await db.getAll('readings')).some((r) => r.sealed === true || 'sealedBucket' in r)).toBe(false);
    expect(await db.countFromIndex('readings', 'by-sealed')).toBe(0);
    const byTime = [...heartRates(1, 10, T0), ...during].sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq);
    expect(await store.readings(DEVICE_A, T0, T0 + 12 * HOUR)).toEqual(byTime);
    expect(await store.sensorLedger(DEVICE_A)).toEqual({ contiguous: 611 });
    expect((await store.latest(DEVICE_A)).get(MDC.TEMP_BODY)?.seq).toBe(611);
    expect((await store.latest(DEVICE_A)).get(MDC.ECG_HEART_RATE)?.seq).toBe(610);
    expect(await store.resealLockedChunks(storageKeys.secretKey)).toBe(0);
  });

  it('lock() wipes the store’s keys: only sealed writes remain possible', async () => {
    const { store, db } = await unlockedStore();
    const p = store.devicePseudonym(DEVICE_A);
    store.lock();
    expect(store.unlocked).toBe(false);
    await expect(store.putReadings(DEVICE_A, heartRates(1, 1, T0), { contiguous: 1 })).rejects.toBeInstanceOf(VaultLockedError);
    await expect(store.getSecret('x')).rejects.toBeInstanceOf(VaultLockedError);
    await store.putReadingsSealed(p, heartRates(1, 3, T0), { contiguous: 3 });
    expect(await db.countFromIndex('readings', 'by-sealed')).toBe(1);
    expect(await store.getMeta('anything')).toBeUndefined();
  });

  it('a sealed row replaced meanwhile is left alone (replaced only if still the one opened)', async () => {
    const { db, locked, p, name } = await lockedFixture();
    await locked.putReadingsSealed(p, heartRates(11, 5, T0 + HOUR), { contiguous: 15 });
    // What a newer locked write at the same key would leave (another sealed value).
    const otherName = `${name}-scratch`;
    const scratch = await openVaultDb(otherName);
    openDbs.push(scratch);
    await new VaultStore(scratch, { storagePublicKey: storageKeys.publicKey }, { random: deterministicRandom('other') }).putReadingsSealed(
      p,
      heartRates(11, 7, T0 + HOUR),
      { contiguous: 17 },
    );
    const replacement = (await scratch.get('readings', [p, 11])) as ChunkRow;

    let replaced = false;
    const unlocked = new VaultStore(
      db,
      { recordKey: rk, indexKey: ik },
      {
        random: deterministicRandom('reseal'),
        onOpenValue: (s) => {
          if (s === 'readings' && !replaced) {
            replaced = true;
            void db.put('readings', replacement); // its transaction is created before the reseal's write
          }
        },
      },
    );
    expect(await unlocked.resealLockedChunks(storageKeys.secretKey)).toBe(0);
    const row = (await db.get('readings', [p, 11])) as ChunkRow;
    expect(row.sealed).toBe(true);
    expect(toHex(row.value)).toBe(toHex(replacement.value));
    // The next pass re-encrypts the newer one.
    expect(await unlocked.resealLockedChunks(storageKeys.secretKey)).toBe(1);
    expect((await unlocked.readings(DEVICE_A, T0, T0 + 2 * HOUR)).map((r) => r.seq)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    expect(await unlocked.sensorLedger(DEVICE_A)).toEqual({ contiguous: 17 });
  });
});
