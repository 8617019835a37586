/**
 * Fixtures shared by the protocol tests: a manufactured sensor and the hub keys that go with it,
 * a recording `SensorPolicy`, small channel helpers (`seal`, `sendOf`), a hub session wired by
 * hand to a sensor (no link), heart-rate readings, and pairing and reconnecting inside a simulated
 * world. Everything is drawn from the `Random` or seed given, in a fixed order, so the same seed
 * always gives the same keys and the same messages.
 */
import { expect } from 'vitest';
import { utf8 } from '../../src/core/bytes.js';
import { deviceIdHex } from '../../src/core/certificate.js';
import { chunkSizeForMtu } from '../../src/core/framing.js';
import type { HubEvent, SensorBond } from '../../src/core/hub-channel.js';
import { HubSession, type HubOutput } from '../../src/core/hub-session.js';
import type { AppMessage } from '../../src/core/messages.js';
import { x25519KeyPair, type KeyPair, type Random } from '../../src/core/primitives.js';
import { MDC } from '../../src/core/readings.js';
import type { SensorChannel, SensorEvent, SensorPolicy } from '../../src/core/sensor-channel.js';
import { TrustStore } from '../../src/core/trust-store.js';
import { SensorDevice, type SensorConnection } from '../../sensor/device.js';
import { createManufacturerCa, manufactureDevice, type DeviceIdentity, type ManufacturerCa } from '../../sensor/identity.js';
import type { Measurement } from '../../sensor/record-store.js';
import { deterministicRandom } from './deterministic-random.js';
import type { Faults } from './lossy-link.js';
import type { World } from './world.js';

// ── a manufactured sensor and its hubs ──────────────────────────────────────────────────────────

export interface ManufacturedSensor {
  readonly ca: ManufacturerCa;
  readonly identity: DeviceIdentity;
  /** A hub's trust store holding (only) `ca`. */
  readonly trustStore: TrustStore;
}

/** A "Vitalock Medical" CA and a sensor identity it issued at `nowMs`, both drawn from `random`, and a trust store holding the CA. */
export function manufacturedSensor(random: Random, nowMs: number): ManufacturedSensor {
  const ca = createManufacturerCa('Vitalock Medical', random);
  const identity = manufactureDevice({ ca, random, nowMs });
  return { ca, identity, trustStore: new TrustStore([{ name: ca.name, publicKey: ca.publicKey }]) };
}

export interface ChannelFixture {
  readonly identity: DeviceIdentity;
  readonly trustStore: TrustStore;
  readonly hubKey: KeyPair;
  /** Another bonded hub, tried first by KK (§5: the sensor tries each bond). */
  readonly otherHubKey: KeyPair;
}

/** A sensor identity issued at `nowMs`, a trust store for its CA, and two hub keys, all from `deterministicRandom(seed)`. */
export function channelFixture(seed: string, nowMs: number): ChannelFixture {
  const random = deterministicRandom(seed);
  const { identity, trustStore } = manufacturedSensor(random, nowMs);
  return { identity, trustStore, hubKey: x25519KeyPair(random), otherHubKey: x25519KeyPair(random) };
}

// ── a recording sensor policy ───────────────────────────────────────────────────────────────────

export interface RecordingPolicy extends SensorPolicy {
  /** The name of every policy method called, in order. */
  readonly calls: string[];
  count(name: keyof SensorPolicy): number;
}

/** A SensorPolicy stub: always lets pairing proceed with the passcode's PRS, bonds `fx`'s two hubs, and records every call. */
export function recordingPolicy(fx: ChannelFixture): RecordingPolicy {
  const calls: string[] = [];
  const prs = utf8(fx.identity.passcode);
  return {
    calls,
    count: (name) => calls.filter((c) => c === name).length,
    beginPairingAttempt: () => {
      calls.push('beginPairingAttempt');
      return prs.slice();
    },
    pairingAttemptFailed: () => void calls.push('pairingAttemptFailed'),
    paired: () => void calls.push('paired'),
    bondedHubKeys: () => {
      calls.push('bondedHubKeys');
      return [fx.otherHubKey.publicKey, fx.hubKey.publicKey];
    },
    reconnected: () => void calls.push('reconnected'),
  };
}

// ── channel messages ────────────────────────────────────────────────────────────────────────────

/** The sensor's frame for `message` (its session must not have expired). */
export function seal(sensor: SensorChannel, message: AppMessage, nowMs: number): Uint8Array {
  const frame = sensor.send(message, nowMs);
  if (frame === undefined) throw new Error('the sensor’s session has expired');
  return frame;
}

/** The message of the first `send` among a hub's or a sensor's events; throws, naming the events, when there is none. */
export function sendOf(events: readonly (HubEvent | SensorEvent)[]): Uint8Array {
  const send = events.find((e) => e.type === 'send');
  if (send?.type !== 'send') throw new Error(`no send among ${events.map((e) => e.type).join(', ')}`);
  return send.message;
}

// ── a hub session wired to a sensor by hand ────────────────────────────────────────────────────

export interface SessionRigOptions {
  readonly identity: DeviceIdentity;
  readonly trustStore: TrustStore;
  /** Shared by the sensor and the hub. */
  readonly random: Random;
  /** The hub's static key; when absent, drawn from `random` once the sensor is built. */
  readonly hubKey?: KeyPair;
  /** The rig's clock starts here. */
  readonly nowMs: number;
  readonly storeCapacity: number;
  readonly attMtu?: number;
  readonly hubLabel?: string;
}

export interface SessionRig {
  readonly device: SensorDevice;
  readonly connection: SensorConnection;
  readonly hub: HubSession;
  /** The time both ends see; tests may move it. */
  readonly clock: { now: number };
  /** Every hub output that is not a write (writes go to the sensor). */
  readonly outputs: HubOutput[];
  /** Seqs the hub has stored. */
  readonly stored: Set<number>;
  /** Applies hub outputs: writes to the sensor, commits at once. */
  apply(outputs: readonly HubOutput[]): void;
  /** Moves sensor fragments to the hub until nothing is queued. */
  settle(): void;
}

/** A `HubSession` and a `SensorDevice` connection wired directly (hub writes go straight to the sensor, stores commit at once), paired and open. */
export function sessionRig(options: SessionRigOptions): SessionRig {
  const { identity, random } = options;
  const attMtu = options.attMtu ?? 247;
  const clock = { now: options.nowMs };
  const device = new SensorDevice({ identity, random, clock: () => clock.now, storeCapacity: options.storeCapacity });
  const connection = device.connect(attMtu);
  const hub = new HubSession({
    identity: options.hubKey ?? x25519KeyPair(random),
    trustStore: options.trustStore,
    random,
    hubLabel: options.hubLabel ?? 'Ward 3 tablet',
    chunkSize: chunkSizeForMtu(attMtu),
  });
  const outputs: HubOutput[] = [];
  const stored = new Set<number>();
  const apply = (outs: readonly HubOutput[]): void => {
    for (const out of outs) {
      if (out.type === 'write') {
        connection.receiveFragment(out.fragment);
        continue;
      }
      outputs.push(out);
      if (out.type === 'store') {
        for (const r of out.records) stored.add(r.seq);
        apply(hub.committed(out.records.map((r) => r.seq), clock.now));
      }
    }
  };
  const settle = (): void => {
    for (let f = connection.takeFragment(); f !== undefined; f = connection.takeFragment()) apply(hub.receiveFragment(f, clock.now));
  };
  device.policy.openWindow(clock.now);
  apply(hub.pair(utf8(identity.passcode), clock.now));
  settle();
  expect(hub.isOpen).toBe(true);
  return { device, connection, hub, clock, outputs, stored, apply, settle };
}

// ── readings and worlds ─────────────────────────────────────────────────────────────────────────

/** Heart-rate readings whose value is derived from their index, so every value is checkable. */
export function heartRates(startIndex: number, count: number, t0: number): Measurement[] {
  return Array.from({ length: count }, (_, i) => ({
    timeMs: t0 + (startIndex + i) * 10,
    code: MDC.ECG_HEART_RATE,
    unit: MDC.DIM_BEAT_PER_MIN,
    flags: 0,
    value: { kind: 1, value: { mantissa: 40 + ((startIndex + i) % 140), exponent: 0 } },
  })) as Measurement[];
}

/** Pairs the world's hub with its sensor over a new connection, expecting the session open within `withinMs`; returns the hub's bond. */
export function pairInWorld(world: World, withinMs = 5_000): SensorBond {
  const { sim, device, hub, identity } = world;
  device.policy.openWindow(sim.now());
  world.connect();
  hub.pair(identity.passcode);
  expect(sim.run(sim.now() + withinMs, () => hub.isOpen)).toBe(true);
  const bond = hub.bonds.get(deviceIdHex(identity.deviceId));
  if (bond === undefined) throw new Error('the hub kept no bond');
  return bond;
}

/** Opens a new connection in the world (with `faults`, on link `seed`) and reconnects the hub over it with `bond`, expecting the session open within 5 s. */
export function reconnectInWorld(world: World, bond: SensorBond, faults?: Faults, seed?: number): ReturnType<World['connect']> {
  const connected = world.connect(faults, seed);
  world.hub.reconnect(bond);
  expect(world.sim.run(world.sim.now() + 5_000, () => world.hub.isOpen)).toBe(true);
  return connected;
}
