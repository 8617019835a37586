/**
 * The vault pipeline with the reference sensor over an in-memory link, on a virtual clock, with
 * an in-memory store whose commits take time and can fail (docs/vault.md §3).
 */
import { describe, expect, it } from 'vitest';
import { deviceIdHex } from '../../src/core/certificate.js';
import type { SensorBond } from '../../src/core/hub-channel.js';
import { x25519KeyPair } from '../../src/core/primitives.js';
import { encodeRecordBytes, type ReadingRecord } from '../../src/core/readings.js';
import { passcodeToPrs } from '../../src/core/setup-code.js';
import { SensorDevice } from '../../sensor/device.js';
import { Pipeline, VIEW_INTERVAL_MS, type PipelineStorage, type SecurityLogEntry, type ViewBatch } from '../../workers/vault/pipeline.js';
import { deterministicRandom } from '../support/deterministic-random.js';
import { DeviceLink } from '../support/device-link.js';
import { heartRates, manufacturedSensor } from '../support/fixtures.js';
import { driveAsync, Sim, simScheduler } from '../support/sim.js';

/** An in-memory store: commits take `commitMs` of virtual time and can be made to fail. */
class MemoryStorage implements PipelineStorage {
  readonly records = new Map<string, Map<number, Uint8Array>>();
  readonly ledgers = new Map<string, number>();
  readonly bonds: SensorBond[] = [];
  readonly events: SecurityLogEntry[] = [];
  failWith: string | undefined;
  writes = 0;

  constructor(
    private readonly sim: Sim,
    private readonly commitMs = 3,
  ) {}

  putReadings(deviceId: Uint8Array, records: readonly ReadingRecord[], ledger: { contiguous: number }): Promise<void> {
    const encoded = records.map((r) => [r.seq, encodeRecordBytes(r)] as const);
    return new Promise((resolve, reject) => {
      this.sim.after(this.commitMs, () => {
        if (this.failWith) {
          reject(Object.assign(new Error('write failed'), { name: this.failWith }));
          return;
        }
        const key = deviceIdHex(deviceId);
        const rows = this.records.get(key) ?? new Map<number, Uint8Array>();
        for (const [seq, bytes] of encoded) rows.set(seq, bytes);
        this.records.set(key, rows);
        this.ledgers.set(key, ledger.contiguous);
        this.writes++;
        resolve();
      });
    });
  }

  async sensorLedger(deviceId: Uint8Array): Promise<{ contiguous: number } | undefined> {
    const c = this.ledgers.get(deviceIdHex(deviceId));
    return c === undefined ? undefined : { contiguous: c };
  }

  async putBond(bond: SensorBond): Promise<void> {
    this.bonds.push(bond);
  }

  async addSecurityEvent(event: SecurityLogEntry): Promise<void> {
    this.events.push(event);
  }
}


function setUp(seed: string, storage?: (sim: Sim) => MemoryStorage) {
  const sim = new Sim();
  const random = deterministicRandom(seed);
  const { identity, trustStore } = manufacturedSensor(random, sim.now());
  const device = new SensorDevice({ identity, random, clock: sim.now, storeCapacity: 200_000 });
  const store = storage ? storage(sim) : new MemoryStorage(sim);
  const hubKey = x25519KeyPair(random);
  const views: ViewBatch[] = [];
  const makePipeline = () =>
    new Pipeline({
      identity: hubKey,
      trustStore,
      random,
      hubLabel: 'Ward 3 tablet',
      storage: store,
      scheduler: simScheduler(sim),
      write: (_link, fragment) => link.write(fragment),
      view: (batch) => views.push(batch),
    });
  let pipeline = makePipeline();
  const link = new DeviceLink(sim, device, () => pipeline);
  return {
    sim,
    device,
    identity,
    store,
    views,
    get pipeline() {
      return pipeline;
    },
    connect: () => link.connect(),
    /** The worker is terminated (everything in memory is gone) and started again. */
    restartWorker(): void {
      pipeline.dispose();
      link.disconnect();
      pipeline = makePipeline();
    },
  };
}

async function pair(t: ReturnType<typeof setUp>): Promise<SensorBond> {
  t.device.policy.openWindow(t.sim.now());
  t.connect();
  t.pipeline.pair('link-1', passcodeToPrs(t.identity.passcode));
  expect(await driveAsync(t.sim, 5_000, () => t.store.bonds.length === 1 && t.views.some((v) => v.sensors.some((s) => s.state === 'open')))).toBe(true);
  return t.store.bonds[0]!;
}

describe('vault pipeline', () => {
  it('stores every reading once and acknowledges only what is committed; the page gets ≤ 20 messages a second', async () => {
    const t = setUp('pipeline-stream');
    await pair(t);
    const violations: number[] = [];
    t.device.onEvent((e) => {
      if (e.type !== 'acknowledged') return;
      const rows = t.store.records.get(deviceIdHex(t.identity.deviceId));
      for (let s = 1; s <= e.upTo; s++) if (!rows?.has(s)) violations.push(s);
    });
    const viewsBefore = t.views.length;
    const start = t.sim.now();
    // 20 000 readings over 2 s of virtual time: 10 000 a second, far above any vital-sign rate.
    for (let i = 0; i < 20; i++) t.sim.after(i * 100, () => t.device.record(heartRates(i * 1_000, 1_000, start)));
    const rows = () => t.store.records.get(deviceIdHex(t.identity.deviceId))?.size ?? 0;
    expect(await driveAsync(t.sim, 60_000, () => rows() === 20_000 && t.device.store.held === 0)).toBe(true);
    expect(violations).toEqual([]);
    await driveAsync(t.sim, 2 * VIEW_INTERVAL_MS, () => false); // the last view batch
    const elapsed = t.sim.now() - start;
    const messages = t.views.length - viewsBefore;
    expect(messages).toBeLessThanOrEqual(Math.ceil(elapsed / VIEW_INTERVAL_MS) + 1);
    expect(t.views.reduce((n, v) => n + v.count, 0)).toBe(20_000);
    // Batched: far fewer storage transactions than readings.
    expect(t.store.writes).toBeLessThan(2_000);
  });

  it('when storage is full it stops acknowledging, says so, loses nothing, and resumes when space is freed', async () => {
    const t = setUp('pipeline-quota');
    await pair(t);
    t.store.failWith = 'QuotaExceededError';
    t.device.record(heartRates(0, 3_000, t.sim.now()));
    await driveAsync(t.sim, 3_000, () => false);
    expect(t.pipeline.isStorageFull).toBe(true);
    expect(t.device.store.held).toBe(3_000); // nothing acknowledged, so the sensor keeps all of it
    expect(t.store.events.some((e) => e.kind === 'storage-full')).toBe(true);
    expect(t.views.at(-1)?.storageFull).toBe(true);
    t.store.failWith = undefined;
    t.pipeline.retryStorage();
    const rows = () => t.store.records.get(deviceIdHex(t.identity.deviceId))?.size ?? 0;
    expect(await driveAsync(t.sim, 30_000, () => rows() === 3_000 && t.device.store.held === 0)).toBe(true);
    await driveAsync(t.sim, 2 * VIEW_INTERVAL_MS, () => false);
    expect(t.views.at(-1)?.storageFull).toBe(false);
  });

  it('a worker terminated mid-stream loses nothing: after restart, backfill fills history with no gap and no duplicate', async () => {
    const t = setUp('pipeline-restart');
    const bond = await pair(t);
    const start = t.sim.now();
    for (let i = 0; i < 10; i++) t.sim.after(i * 50, () => t.device.record(heartRates(i * 500, 500, start)));
    const rows = () => t.store.records.get(deviceIdHex(t.identity.deviceId))?.size ?? 0;
    await driveAsync(t.sim, 10_000, () => rows() > 1_500);
    t.restartWorker(); // in the middle of the stream, with writes in flight
    const atRestart = rows();
    expect(atRestart).toBeLessThan(5_000);
    await driveAsync(t.sim, 500, () => false);
    t.connect();
    await t.pipeline.reconnect('link-1', bond);
    expect(await driveAsync(t.sim, 60_000, () => rows() === 5_000 && t.device.store.held === 0)).toBe(true);
    const seqs = [...t.store.records.get(deviceIdHex(t.identity.deviceId))!.keys()].sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 5_000 }, (_, i) => i + 1));
    expect(t.store.ledgers.get(deviceIdHex(t.identity.deviceId))).toBe(5_000);
  });

  it('a failed pairing and rejected frames go to the security log', async () => {
    const t = setUp('pipeline-security');
    t.device.policy.openWindow(t.sim.now());
    t.connect();
    t.pipeline.pair('link-1', passcodeToPrs(t.identity.passcode === '13572468' ? '24681357' : '13572468'));
    expect(await driveAsync(t.sim, 5_000, () => t.store.events.length > 0)).toBe(true);
    expect(t.store.events.map((e) => e.kind)).toContain('pairing-failed');
    await driveAsync(t.sim, 2 * VIEW_INTERVAL_MS, () => false);
    expect(t.views.at(-1)?.sensors[0]?.failure).toEqual({ kind: 'pairing-failed' });
    // A forged frame (a fresh counter, a tag that cannot verify) on an open session.
    await pair(t);
    const forged = new Uint8Array(44);
    forged.set([0x42, 0, 1, 0x10, 0, 0, 0, 0, 0, 0, 0, 200]);
    t.pipeline.receive('link-1', forged);
    expect(t.store.events.map((e) => e.kind)).toContain('frame-rejected');
  });
});
