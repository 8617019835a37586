/**
 * The sealed outbox (protocol §11; workers/vault/outbox.ts) on fake-indexeddb: sealing, order,
 * the uploader's API, and atomicity with the readings — a failed transaction leaves neither the
 * readings nor their batch. The whole worker path (sensor → pipeline → outbox, locked and
 * unlocked) is in outbox-service.test.ts.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { issueCertificate } from '../../src/core/certificate.js';
import { issueIngestionKeyList, verifyIngestionKeyList } from '../../src/core/ingestion-keys.js';
import { ed25519KeyPair, x25519KeyPair } from '../../src/core/primitives.js';
import { MDC, type ReadingRecord } from '../../src/core/readings.js';
import { MAX_BATCH_RECORDS, openSealedBatch, readSealedHeader } from '../../src/core/sealed-batch.js';
import { openVaultDb, type VaultDb } from '../../workers/vault/db.js';
import { acceptIngestionKeyList, hubIdFor, OutboxQueue, OutboxSealer } from '../../workers/vault/outbox.js';
import { VaultStore } from '../../workers/vault/vault-store.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('outbox.test');
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const deployment = ed25519KeyPair(random);
const ingestion = x25519KeyPair(random);
const nextKey = x25519KeyPair(random);
const ca = ed25519KeyPair(random);
const DEVICE = fromHex('A1B2C3D4E5F60718');
const certificate = issueCertificate(ca.secretKey, {
  deviceId: DEVICE,
  model: 'VL-M1',
  serial: 'VL-7',
  staticKey: x25519KeyPair(random).publicKey,
  signingKey: ed25519KeyPair(random).publicKey,
  notBefore: T0 / 1000 - 86_400,
  notAfter: T0 / 1000 + 365 * 86_400,
}).bytes;
const keyListBytes = issueIngestionKeyList(deployment.secretKey, 3, [
  { publicKey: ingestion.publicKey, notBefore: T0 / 1000 - 3600, notAfter: T0 / 1000 + 3600 },
  { publicKey: nextKey.publicKey, notBefore: T0 / 1000 + 1800, notAfter: T0 / 1000 + 86_400 },
]);
const keyList = verifyIngestionKeyList(keyListBytes, { deploymentPublicKey: deployment.publicKey, minListVersion: 0 });
const rk = random(32);
const ik = random(32);
const checkpoint = { seq: 100, head: random(32), signature: random(64) };

function readings(first: number, count: number): ReadingRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: first + i,
    timeMs: T0 + (first + i) * 1000,
    code: MDC.TEMP_BODY,
    unit: MDC.DIM_DEGC,
    flags: 0,
    value: { kind: 1 as const, value: { mantissa: 360 + ((first + i) % 20), exponent: -1 } },
  }));
}

let dbCount = 0;
const open: VaultDb[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const db of open.splice(0)) db.close();
});

async function setUp(nowMs = T0) {
  const db = await openVaultDb(`outbox-test-${++dbCount}`);
  open.push(db);
  let now = nowMs;
  const stale = vi.fn();
  const sealer = new OutboxSealer({ keyList, hubId: hubIdFor(x25519KeyPair(random).publicKey), random, now: () => now, onStaleKeys: stale });
  const store = new VaultStore(db, { recordKey: rk, indexKey: ik, storagePublicKey: x25519KeyPair(random).publicKey }, { random });
  return { db, sealer, store, queue: new OutboxQueue(db), stale, setNow: (ms: number) => (now = ms) };
}

describe('sealing a chunk', () => {
  it('one batch per chunk: the records once each in seq order, the certificate and the checkpoints', async () => {
    const { sealer } = await setUp();
    const records = [...readings(1, 120), ...readings(50, 10)].reverse();
    const [row, ...rest] = sealer.seal(DEVICE, certificate, records, [checkpoint, checkpoint]);
    expect(rest).toEqual([]);
    const batch = openSealedBatch(row!.value, ingestion.secretKey);
    expect(batch.records.map((r) => r.record.seq)).toEqual(readings(1, 120).map((r) => r.seq));
    expect(batch.records[0]!.record).toEqual(readings(1, 1)[0]);
    expect(batch.checkpoints).toEqual([checkpoint]);
    expect(batch.certificate).toEqual(certificate);
    expect(toHex(batch.batchId)).toBe(row!.batchId);
    expect(row).toMatchObject({ createdAtMs: T0, createdBucket: T0, size: row!.value.length, attempts: 0 });
  });

  it('a large chunk becomes several batches, checkpoints with the last; creation order is strict', async () => {
    const { sealer } = await setUp();
    const rows = sealer.seal(DEVICE, certificate, readings(1, MAX_BATCH_RECORDS + 10), [checkpoint]);
    expect(rows).toHaveLength(2);
    expect(rows[1]!.createdBucket).toBe(rows[0]!.createdBucket + 1);
    expect(openSealedBatch(rows[0]!.value, ingestion.secretKey).checkpoints).toEqual([]);
    expect(openSealedBatch(rows[1]!.value, ingestion.secretKey).checkpoints).toEqual([checkpoint]);
  });

  it('seals to the key valid now with the latest start, and to the latest-ending key (reported once) when the list is stale', async () => {
    const { sealer, setNow, stale } = await setUp();
    expect(readSealedHeader(sealer.seal(DEVICE, certificate, readings(1, 1), [])[0]!.value).keyId).toEqual(keyList.keys[0]!.keyId);
    setNow(T0 + 1800_000);
    expect(readSealedHeader(sealer.seal(DEVICE, certificate, readings(2, 1), [])[0]!.value).keyId).toEqual(keyList.keys[1]!.keyId);
    setNow(T0 + 2 * 86_400_000);
    expect(readSealedHeader(sealer.seal(DEVICE, certificate, readings(3, 1), [])[0]!.value).keyId).toEqual(keyList.keys[1]!.keyId);
    sealer.seal(DEVICE, certificate, readings(4, 1), []);
    expect(stale).toHaveBeenCalledTimes(1);
  });

  it('nothing in a row opens with the vault keys, and no reading is in clear', async () => {
    const { sealer } = await setUp();
    const [row] = sealer.seal(DEVICE, certificate, readings(1, 5), []);
    const clear = toHex(row!.value);
    expect(clear).not.toContain(toHex(DEVICE));
    expect(() => openSealedBatch(row!.value, rk)).toThrow();
    expect(() => openSealedBatch(row!.value, ik)).toThrow();
  });
});

describe('the outbox with the readings (one transaction)', () => {
  it('putReadings commits the chunk and its batch together; take is oldest first; ack removes', async () => {
    const { sealer, store, queue, setNow } = await setUp();
    await store.putReadings(DEVICE, readings(1, 10), { contiguous: 10 }, sealer.seal(DEVICE, certificate, readings(1, 10), []));
    setNow(T0 + 5000);
    await store.putReadings(DEVICE, readings(11, 10), { contiguous: 20 }, sealer.seal(DEVICE, certificate, readings(11, 10), []));
    setNow(T0 + 10_000);
    await store.putReadings(DEVICE, readings(21, 10), { contiguous: 30 }, sealer.seal(DEVICE, certificate, readings(21, 10), []));
    expect(await queue.stats()).toEqual({ pending: 3, oldestCreatedAtMs: T0 });
    const taken = await queue.take(2);
    expect(taken.map((e) => e.createdAtMs)).toEqual([T0, T0 + 5000]);
    expect(openSealedBatch(taken[1]!.sealed, ingestion.secretKey).records[0]!.record.seq).toBe(11);
    await queue.recordAttempt([taken[0]!.batchId]);
    expect((await queue.take(1))[0]!.attempts).toBe(1);
    await queue.ack([taken[0]!.batchId, taken[1]!.batchId, 'f'.repeat(32)]);
    expect(await queue.stats()).toEqual({ pending: 1, oldestCreatedAtMs: T0 + 10_000 });
    await expect(queue.ack(['not-an-id'])).rejects.toThrow(RangeError);
  });

  it('locked: the sealed chunk and its batch commit together, and the outbox still drains', async () => {
    const { sealer, store, queue, db } = await setUp();
    const pseudonym = store.devicePseudonym(DEVICE);
    store.lock();
    await store.putReadingsSealed(pseudonym, readings(1, 10), { contiguous: 10 }, sealer.seal(DEVICE, certificate, readings(1, 10), []));
    expect((await queue.take(10)).length).toBe(1);
    expect(await db.count('readings')).toBe(1);
  });

  for (const failing of ['outbox', 'readings'] as const) {
    it(`crash atomicity: a failure writing the ${failing} store leaves neither readings nor batch`, async () => {
      const { sealer, store, queue, db } = await setUp();
      const put = IDBObjectStore.prototype.put;
      vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
        if (this.name === failing) throw new DOMException('simulated crash', 'UnknownError');
        return put.apply(this, args);
      });
      await expect(store.putReadings(DEVICE, readings(1, 10), { contiguous: 10 }, sealer.seal(DEVICE, certificate, readings(1, 10), []))).rejects.toThrow();
      vi.restoreAllMocks();
      expect(await db.count('readings')).toBe(0);
      expect(await db.count('sensors')).toBe(0);
      expect(await queue.stats()).toEqual({ pending: 0 });
    });
  }

  it('crash atomicity: a transaction aborted after every request was issued commits nothing', async () => {
    const { sealer, store, queue, db } = await setUp();
    const transaction = db.transaction.bind(db);
    vi.spyOn(db, 'transaction').mockImplementation(((...args: Parameters<VaultDb['transaction']>) => {
      const tx = transaction(...args);
      if (args[1] === 'readwrite') {
        // The tab dies mid-commit. (idb's own `done` promise of this transaction rejects too.)
        tx.done.catch(() => undefined);
        queueMicrotask(() => tx.abort());
      }
      return tx;
    }) as VaultDb['transaction']);
    await expect(store.putReadings(DEVICE, readings(1, 10), { contiguous: 10 }, sealer.seal(DEVICE, certificate, readings(1, 10), []))).rejects.toThrow();
    vi.restoreAllMocks();
    expect(await db.count('readings')).toBe(0);
    expect(await queue.stats()).toEqual({ pending: 0 });
  });
});

describe('the key list at start (§11.3)', () => {
  it('is verified, its version kept, and an older list refused afterwards (rollback)', async () => {
    const { db } = await setUp();
    const newer = issueIngestionKeyList(deployment.secretKey, 4, [{ publicKey: ingestion.publicKey, notBefore: 1, notAfter: 2_000_000_000 }]);
    expect((await acceptIngestionKeyList(db, newer, deployment.publicKey)).listVersion).toBe(4);
    await expect(acceptIngestionKeyList(db, keyListBytes, deployment.publicKey)).rejects.toMatchObject({ reason: 'rollback' });
    await expect(acceptIngestionKeyList(db, newer, ca.publicKey)).rejects.toMatchObject({ reason: 'bad-signature' });
  });
});
