/**
 * The secure channel end to end: the reference sensor and the hub session, over an in-memory
 * link that drops, delays, duplicates and reorders fragments and can be cut.
 */
import { describe, expect, it } from 'vitest';
import { deviceIdHex } from '../../src/core/certificate.js';
import { encodeRecordBytes, type ReadingRecord } from '../../src/core/readings.js';
import { deterministicRandom } from '../support/deterministic-random.js';
import { heartRates, pairInWorld, reconnectInWorld } from '../support/fixtures.js';
import { LossyLink } from '../support/lossy-link.js';
import { TestHub } from '../support/test-hub.js';
import { makeWorld } from '../support/world.js';

describe('secure channel end to end', () => {
  it('pairs with the right code, bonds both sides, then reconnects with KK', () => {
    const world = makeWorld({ seed: 'pair-then-kk' });
    const { hub, device, identity } = world;
    pairInWorld(world);
    const bond = hub.bonds.get(deviceIdHex(identity.deviceId));
    expect(bond).toBeDefined();
    expect(bond?.serial).toBe(identity.serial);
    expect(bond?.manufacturer).toBe('Vitalock Medical');
    expect(device.bonds.size).toBe(1);
    expect(hub.statuses.length).toBeGreaterThan(0);

    // A new connection (the old one is cut): reconnect with Noise_KK on the bond.
    reconnectInWorld(world, bond!);
    expect(hub.failures).toEqual([]);
    expect(hub.opened).toBe(2);
  });

  it('streams 100 000 readings through drops, duplicates, reordering and a cut link: each stored exactly once, freed only when stored', () => {
    const world = makeWorld({ seed: 'stream-100k', storeCapacity: 200_000 });
    const { sim, hub, device, identity } = world;
    pairInWorld(world);
    const bond = hub.bonds.get(deviceIdHex(identity.deviceId))!;
    const faults = { drop: 0.003, duplicate: 0.01, reorder: 0.01, minDelayMs: 1, maxDelayMs: 4 };
    const { link } = world.connect(faults, 11);
    hub.reconnect(bond);

    // The sensor must never free a record the hub has not committed.
    const violations: number[] = [];
    device.onEvent((e) => {
      if (e.type === 'acknowledged') {
        for (let seq = 1; seq <= e.upTo; seq++) if (!hub.stored.has(seq)) violations.push(seq);
      }
    });

    const TOTAL = 100_000;
    const produced: Uint8Array[] = [];
    let made = 0;
    const t0 = sim.now();
    sim.every(10, () => {
      const batch = heartRates(made, Math.min(100, TOTAL - made), t0);
      const before = device.store.lastSeq;
      device.record(batch);
      for (let seq = before + 1; seq <= device.store.lastSeq; seq++) {
        produced[seq] = encodeRecordBytes(device.store.from(seq, 1)[0] as ReadingRecord);
      }
      made += batch.length;
      return made < TOTAL;
    });

    // Timers of both ends, and a driver that reconnects whenever the link or the session is lost.
    let reconnects = 0;
    let current = link;
    sim.every(50, () => {
      hub.tick();
      if (!current.isOpen || hub.state === 'failed' || hub.state === 'disconnected') {
        reconnects++;
        current = world.connect(faults, 100 + reconnects).link;
        hub.reconnect(bond);
      }
    });
    // Cut the link in the middle of the stream.
    sim.after(4_000, () => current.cut());

    const done = (): boolean => made === TOTAL && hub.stored.size === TOTAL && device.store.held === 0;
    const finished = sim.run(sim.now() + 600_000, done);
    if (!finished) {
      const failures = hub.failures.map((f) => f.kind).join(',');
      const security = countBy(hub.security);
      throw new Error(
        `stream did not complete: made ${made}, stored ${hub.stored.size}, held ${device.store.held}, ` +
          `contiguous ${device.store.firstSeq - 1}, hub ${hub.state}, reconnects ${reconnects}, failures [${failures}], security ${JSON.stringify(security)}`,
      );
    }

    expect(violations).toEqual([]);
    expect(reconnects).toBeGreaterThanOrEqual(1);
    for (let seq = 1; seq <= TOTAL; seq++) {
      const stored = hub.stored.get(seq);
      if (stored === undefined || !equal(stored, produced[seq] as Uint8Array)) throw new Error(`record ${seq} differs`);
    }
    expect([...hub.stored.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(hub.verifyCheckpoints(bond, identity.signingKey.publicKey)).toBeGreaterThanOrEqual(TOTAL / 100 - 50);
    expect(link.stats.dropped + current.stats.dropped).toBeGreaterThan(0);
  });
});

describe('two hubs bonded to one sensor', () => {
  it('records one hub has acknowledged are reported unavailable to the other, which then streams on', () => {
    const world = makeWorld({ seed: 'two-hubs' });
    const { sim, hub, device, identity, trustStore } = world;
    pairInWorld(world);
    device.record(heartRates(0, 500, sim.now()));
    expect(sim.run(sim.now() + 10_000, () => hub.stored.size === 500 && device.store.held === 0)).toBe(true);
    world.connect(); // hub A's connection ends (it is cut)
    hub.linkClosed();

    // Hub B (a second tablet) pairs; the sensor has already freed 1..500.
    const hubB = new TestHub({ sim, random: deterministicRandom('hub-b'), trustStore, label: 'Patient phone' });
    const connection = device.connect();
    const link = new LossyLink(sim, connection, hubB);
    hubB.attach((f) => link.write(f));
    device.policy.openWindow(sim.now());
    hubB.pair(identity.passcode);
    expect(sim.run(sim.now() + 5_000, () => hubB.isOpen)).toBe(true);
    expect(device.bonds.size).toBe(2);
    device.record(heartRates(500, 300, sim.now()));
    sim.every(50, () => hubB.tick());
    expect(sim.run(sim.now() + 20_000, () => hubB.stored.size === 300 && device.store.held === 0)).toBe(true);
    expect(hubB.unavailable).toEqual([{ from: 1, to: 500 }]);
    expect([...hubB.stored.keys()].sort((a, b) => a - b)[0]).toBe(501);
  });
});

function countBy(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
