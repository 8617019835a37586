/**
 * One simulated world for end-to-end tests of the secure channel: a manufacturer CA, a sensor
 * made by it, a hub that trusts it, a virtual clock, and lossy links between them.
 */
import { TrustStore } from '../../src/core/trust-store.js';
import type { Random } from '../../src/core/primitives.js';
import { SensorDevice, type SensorConnection } from '../../sensor/device.js';
import { createManufacturerCa, manufactureDevice, type DeviceIdentity, type ManufacturerCa } from '../../sensor/identity.js';
import { deterministicRandom } from './deterministic-random.js';
import { LossyLink, type Faults } from './lossy-link.js';
import { Sim } from './sim.js';
import { TestHub } from './test-hub.js';

export interface World {
  readonly sim: Sim;
  readonly random: Random;
  readonly ca: ManufacturerCa;
  readonly trustStore: TrustStore;
  readonly identity: DeviceIdentity;
  readonly device: SensorDevice;
  readonly hub: TestHub;
  /** Opens a new BLE connection between the hub and the device, cutting the previous one. */
  connect(faults?: Faults, seed?: number): { link: LossyLink; connection: SensorConnection };
}

export interface WorldOptions {
  readonly seed?: string;
  readonly storeCapacity?: number;
  readonly commitDelayMs?: number;
  readonly attMtu?: number;
  readonly identity?: (ca: ManufacturerCa, random: Random, nowMs: number) => DeviceIdentity;
}

export function makeWorld(options: WorldOptions = {}): World {
  const sim = new Sim();
  const random = deterministicRandom(options.seed ?? 'world');
  const ca = createManufacturerCa('Vitalock Medical', random);
  const trustStore = new TrustStore([{ name: ca.name, publicKey: ca.publicKey }]);
  const identity = options.identity ? options.identity(ca, random, sim.now()) : manufactureDevice({ ca, random, nowMs: sim.now() });
  const device = new SensorDevice({
    identity,
    random,
    clock: sim.now,
    ...(options.storeCapacity ? { storeCapacity: options.storeCapacity } : {}),
  });
  const hub = new TestHub({ sim, random, trustStore, ...(options.commitDelayMs ? { commitDelayMs: options.commitDelayMs } : {}) });
  let linkSeed = 1;
  let current: LossyLink | undefined;
  return {
    sim,
    random,
    ca,
    trustStore,
    identity,
    device,
    hub,
    connect(faults = {}, seed = linkSeed++) {
      // One BLE connection at a time between this hub and this sensor: a new one replaces the old.
      current?.cut();
      hub.linkClosed();
      const connection = device.connect(options.attMtu ?? 247);
      const link = new LossyLink(sim, connection, hub, faults, seed);
      current = link;
      hub.attach((f) => link.write(f), options.attMtu ?? 247);
      return { link, connection };
    },
  };
}
