import { describe, expect, it } from 'vitest';
import { chainStart, chainNext, verifyCheckpoint } from '../../src/core/checkpoint.js';
import { ed25519KeyPair } from '../../src/core/primitives.js';
import { MDC, encodeRecordBytes } from '../../src/core/readings.js';
import { SensorDevice } from '../../sensor/device.js';
import { createManufacturerCa, manufactureDevice } from '../../sensor/identity.js';
import { RecordStore, type Measurement } from '../../sensor/record-store.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('record-store');
const deviceId = random(8);
const signing = ed25519KeyPair(random);

function m(i: number): Measurement {
  return { timeMs: 1_700_000_000_000 + i, code: MDC.RESP_RATE, unit: MDC.DIM_RESP_PER_MIN, flags: 0, value: { kind: 1, value: { mantissa: 12 + (i % 8), exponent: 0 } } };
}

describe('sensor record store (§8.3, §8.4)', () => {
  it('numbers records from 1, serves them from any seq, and frees only what an ACK covers', () => {
    const store = new RecordStore(deviceId, signing.secretKey, 1_000);
    for (let i = 0; i < 250; i++) store.append(m(i));
    expect([store.firstSeq, store.lastSeq, store.held]).toEqual([1, 250, 250]);
    expect(store.from(100, 3).map((r) => r.seq)).toEqual([100, 101, 102]);
    expect(store.acknowledge(120)).toBe(120);
    expect([store.firstSeq, store.held]).toEqual([121, 130]);
    // An ACK for less than what is already freed, or beyond what exists, frees nothing extra.
    expect(store.acknowledge(50)).toBe(0);
    expect(store.acknowledge(10_000)).toBe(130);
    expect(store.held).toBe(0);
    // Records asked for below what is held come from the oldest held.
    store.append(m(251));
    expect(store.from(1, 10).map((r) => r.seq)).toEqual([251]);
  });

  it('refuses new records when full instead of overwriting unacknowledged ones', () => {
    const store = new RecordStore(deviceId, signing.secretKey, 10);
    for (let i = 0; i < 10; i++) expect(store.append(m(i))).toBeDefined();
    expect(store.isFull).toBe(true);
    expect(store.append(m(10))).toBeUndefined();
    expect(store.from(1, 100).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    store.acknowledge(5);
    expect(store.append(m(10))?.seq).toBe(11);
  });

  it('signs a checkpoint over the chain head every 100 records', () => {
    const store = new RecordStore(deviceId, signing.secretKey, 1_000);
    let head = chainStart(deviceId);
    for (let i = 0; i < 300; i++) head = chainNext(head, encodeRecordBytes(store.append(m(i))!));
    const checkpoints = store.checkpointsBetween(1, 300);
    expect(checkpoints.map((c) => c.seq)).toEqual([100, 200, 300]);
    expect(checkpoints[2]!.head).toEqual(head);
    for (const c of checkpoints) expect(verifyCheckpoint(signing.publicKey, deviceId, c)).toBe(true);
    store.acknowledge(150);
    expect(store.checkpointsBetween(1, 300).map((c) => c.seq)).toEqual([200, 300]);
  });

  it('after a restart, sequence numbers go on (never reused) and the chain continues from its head', () => {
    const before = new RecordStore(deviceId, signing.secretKey, 1_000);
    let head = chainStart(deviceId);
    for (let i = 0; i < 150; i++) head = chainNext(head, encodeRecordBytes(before.append(m(i))!));
    const after = new RecordStore(deviceId, signing.secretKey, 1_000, before.counters);
    expect(after.held).toBe(0);
    expect(after.firstSeq).toBe(151);
    for (let i = 150; i < 200; i++) head = chainNext(head, encodeRecordBytes(after.append(m(i))!));
    const [checkpoint] = after.checkpointsBetween(1, 200);
    expect(checkpoint?.seq).toBe(200);
    expect(checkpoint?.head).toEqual(head);
    expect(verifyCheckpoint(signing.publicKey, deviceId, checkpoint!)).toBe(true);
  });
});

describe('sensor device status', () => {
  it('reports a battery that drains with time powered on, and the tamper flag', () => {
    let now = 1_700_000_000_000;
    const ca = createManufacturerCa('Vitalock Medical', random);
    const device = new SensorDevice({ identity: manufactureDevice({ ca, random, nowMs: now }), random, clock: () => now, batteryLifeMs: 100 * 3_600_000 });
    expect(device.status().battery).toBe(100);
    now += 25 * 3_600_000;
    expect(device.status().battery).toBe(75);
    expect(device.status().flags.tamper).toBe(false);
    device.tamper = true;
    expect(device.status().flags.tamper).toBe(true);
    now += 200 * 3_600_000;
    expect(device.status().battery).toBe(0);
  });
});
