/// <reference lib="webworker" />
/**
 * Demo mode's simulated sensors (docs/protocol.md §2.1, §8; the app's demo mode): the reference
 * sensor — `SensorDevice`, its record store and the vitals simulator — in a dedicated worker of
 * its own, speaking the link of `src/core/demo-link.ts` to the page. The page relays fragments
 * to the vault worker exactly as it does for a Bluetooth sensor; only the link differs.
 *
 * Every simulated sensor is manufactured under the "Vitalock Simulator" root, whose key comes
 * from a public seed: these are simulations, not medical devices, and the app says so.
 *
 * The sensors' "flash" is IndexedDB (`vitalock-simulator`): identity, bonds and the record
 * counters, so a sensor survives a reload of the page and reconnects with Noise KK. A real sensor
 * never reuses a sequence number; to keep that promise across a reload, records are sent only
 * once the counters that cover them are saved (write before send). The keys stored there are a
 * simulated device's own, in clear, as on the simulator CLI's data folder.
 */
import { fromHex, toHex } from '../../src/core/bytes.js';
import { deviceIdHex } from '../../src/core/certificate.js';
import {
  DEMO_CA_NAME,
  DEMO_CA_SEED,
  parsePageToSimulator,
  type DemoProfile,
  type DemoSensorLabel,
  type PageToSimulator,
  type SimulatorToPage,
} from '../../src/core/demo-link.js';
import { ed25519PublicKey, sha256 } from '../../src/core/primitives.js';
import type { HubBond } from '../bond-list.js';
import { SensorDevice, type SensorConnection } from '../device.js';
import { deviceLabel, identityFromJson, identityToJson, manufactureDevice, type DeviceIdentityJson, type ManufacturerCa } from '../identity.js';
import { VitalsSimulator } from '../vitals.js';

declare const self: DedicatedWorkerGlobalScope;

/** How often the simulated sensors measure (and their protocol timers run). */
const TICK_MS = 50;
/**
 * Demo rates: every vital shows up within a minute of pairing. The ECG goes in short records
 * (100 ms) so the numerics it holds back (vitals.ts: record timing) reach the screen quickly.
 */
const DEMO_RATES = { heartRateMs: 1000, spo2Ms: 1000, respiratoryRateMs: 4000, temperatureMs: 10_000, bloodPressureMs: 30_000, ecgHz: 250, ecgSamplesPerRecord: 25 };
const DB_NAME = 'vitalock-simulator';
const STORE = 'sensors';

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const demoSecret = sha256(new TextEncoder().encode(DEMO_CA_SEED));
const ca: ManufacturerCa = { name: DEMO_CA_NAME, secretKey: demoSecret, publicKey: ed25519PublicKey(demoSecret) };

/** One sensor's row in the simulator's flash. */
interface SavedSensor {
  readonly deviceId: string;
  readonly identity: DeviceIdentityJson;
  readonly profile: DemoProfile;
  readonly bonds: readonly { hubStatic: string; hubLabel: string; bondedAtMs: number; lastUsedMs: number }[];
  readonly lastSeq: number;
  readonly chainHead: string;
}

interface Sim {
  readonly deviceId: string;
  readonly device: SensorDevice;
  readonly profile: DemoProfile;
  readonly vitals: VitalsSimulator;
  /** Highest seq whose counters are saved: nothing above it is sent. */
  savedSeq: number;
  connection: { readonly conn: string; readonly c: SensorConnection; drainScheduled: boolean } | undefined;
}

const sims = new Map<string, Sim>();
const byConn = new Map<string, Sim>();

// ── flash (IndexedDB) ───────────────────────────────────────────────────────────────────────────

let dbPromise: Promise<IDBDatabase> | undefined;

function db(): Promise<IDBDatabase> {
  dbPromise ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'deviceId' });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new Error('the simulator could not open its storage'));
  });
  return dbPromise;
}

async function transaction(mode: IDBTransactionMode, body: (store: IDBObjectStore) => void): Promise<void> {
  const tx = (await db()).transaction(STORE, mode);
  body(tx.objectStore(STORE));
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('simulator storage failed'));
    tx.onabort = () => reject(tx.error ?? new Error('simulator storage aborted'));
  });
}

async function loadSaved(): Promise<SavedSensor[]> {
  const rows: SavedSensor[] = [];
  await transaction('readonly', (store) => {
    const request = store.getAll();
    request.onsuccess = () => rows.push(...(request.result as SavedSensor[]));
  });
  return rows;
}

function toSaved(sim: Sim): SavedSensor {
  const counters = sim.device.store.counters;
  return {
    deviceId: sim.deviceId,
    identity: identityToJson(sim.device.identity),
    profile: sim.profile,
    bonds: sim.device.bonds.list().map((b) => ({ hubStatic: toHex(b.hubStatic), hubLabel: b.hubLabel, bondedAtMs: b.bondedAtMs, lastUsedMs: b.lastUsedMs })),
    lastSeq: counters.lastSeq,
    chainHead: toHex(counters.chainHead),
  };
}

let saving: Promise<void> | undefined;
let saveAgain = false;

/** Saves every sensor (one transaction), then lets the records it covers go out. */
function save(): void {
  if (saving !== undefined) {
    saveAgain = true;
    return;
  }
  const snapshot = [...sims.values()].map((sim) => ({ sim, row: toSaved(sim) }));
  saving = transaction('readwrite', (store) => {
    for (const { row } of snapshot) store.put(row);
  }).then(
    () => {
      for (const { sim, row } of snapshot) {
        sim.savedSeq = Math.max(sim.savedSeq, row.lastSeq);
        if (sim.connection !== undefined) scheduleDrain(sim);
      }
    },
    () => undefined,
  );
  void saving.finally(() => {
    saving = undefined;
    if (saveAgain) {
      saveAgain = false;
      save();
    }
  });
}

// ── sensors ─────────────────────────────────────────────────────────────────────────────────────

function powerOn(identityJson: DeviceIdentityJson, profile: DemoProfile, saved?: SavedSensor): Sim {
  const identity = identityFromJson(identityJson);
  const deviceId = deviceIdHex(identity.deviceId);
  const existing = sims.get(deviceId);
  if (existing !== undefined) return existing;
  const resume = saved ? { lastSeq: saved.lastSeq, chainHead: fromHex(saved.chainHead) } : undefined;
  const device = new SensorDevice({ identity, random, clock: () => Date.now(), ...(resume ? { resume } : {}) });
  if (saved) device.bonds.restore(saved.bonds.map((b): HubBond => ({ ...b, hubStatic: fromHex(b.hubStatic) })));
  // A simulated sensor nobody has paired with is in pairing mode whenever it is on.
  if (device.bonds.size === 0) device.policy.openWindow(device.monotonicNow());
  const vitals = new VitalsSimulator({ seed: deviceId, startMs: device.deviceTime(), profile, rates: DEMO_RATES });
  const sim: Sim = { deviceId, device, profile, vitals, savedSeq: saved?.lastSeq ?? 0, connection: undefined };
  device.onEvent((e) => {
    if (e.type === 'paired' || e.type === 'unbonded') save();
    if (e.type === 'unbonded' && device.bonds.size === 0) device.policy.openWindow(device.monotonicNow());
  });
  sims.set(deviceId, sim);
  return sim;
}

function label(sim: Sim): DemoSensorLabel {
  const printed = deviceLabel(sim.device.identity);
  return { deviceId: sim.deviceId, name: printed.name, model: sim.device.identity.model, serial: sim.device.identity.serial, setupCode: printed.setupCode, qr: printed.qr, profile: sim.profile };
}

let restored: Promise<void> | undefined;

/** Powers on every sensor kept from an earlier visit (once). */
function restore(): Promise<void> {
  restored ??= loadSaved().then((rows) => {
    for (const row of rows) powerOn(row.identity, row.profile, row);
  });
  return restored;
}

function post(message: SimulatorToPage, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

/** Posts every queued `data` fragment of the sensor's connection, on the next task, if saved. */
function scheduleDrain(sim: Sim): void {
  const link = sim.connection;
  if (link === undefined || link.drainScheduled) return;
  link.drainScheduled = true;
  setTimeout(() => {
    link.drainScheduled = false;
    if (sim.connection !== link) return;
    // Write before send: records not yet covered by saved counters wait for the save.
    if (sim.savedSeq < sim.device.store.lastSeq) return;
    const fragments: Uint8Array[] = [];
    for (let f = link.c.takeFragment(); f !== undefined; f = link.c.takeFragment()) {
      fragments.push(f.byteOffset === 0 && f.byteLength === f.buffer.byteLength ? f : f.slice());
    }
    if (fragments.length > 0) post({ type: 'notify', conn: link.conn, fragments, sentAtMs: Date.now() }, fragments.map((f) => f.buffer as ArrayBuffer));
  }, 0);
}

function disconnect(sim: Sim, reason: string): void {
  const link = sim.connection;
  if (link === undefined) return;
  sim.connection = undefined;
  byConn.delete(link.conn);
  link.c.disconnect();
  post({ type: 'disconnected', conn: link.conn, reason });
}

function tick(): void {
  let recorded = false;
  for (const sim of sims.values()) {
    const readings = sim.vitals.advance(sim.device.deviceTime());
    if (readings.length > 0 && sim.device.record(readings) > 0) recorded = true;
    sim.connection?.c.tick();
  }
  if (recorded) save();
}

async function handle(m: PageToSimulator): Promise<void> {
  switch (m.type) {
    case 'add': {
      await restore();
      const identity = manufactureDevice({ ca, random, nowMs: Date.now(), model: 'VL-SIM simulated monitor' });
      const sim = powerOn(identityToJson(identity), m.profile);
      save();
      post({ type: 'sensors', request: m.request, sensors: [label(sim)] });
      break;
    }
    case 'list':
      await restore();
      post({ type: 'sensors', request: m.request, sensors: [...sims.values()].map(label) });
      break;
    case 'connect': {
      await restore();
      const sim = sims.get(m.deviceId);
      if (sim === undefined) {
        post({ type: 'disconnected', conn: m.conn, reason: 'no such simulated sensor' });
        return;
      }
      if (sim.connection !== undefined) disconnect(sim, 'replaced by a new connection');
      const c = sim.device.connect(m.attMtu);
      sim.connection = { conn: m.conn, c, drainScheduled: false };
      byConn.set(m.conn, sim);
      c.onFragmentReady(() => scheduleDrain(sim));
      post({ type: 'connected', conn: m.conn });
      break;
    }
    case 'write': {
      const sim = byConn.get(m.conn);
      const link = sim?.connection;
      if (sim === undefined || link === undefined || link.conn !== m.conn) return;
      const bondsBefore = sim.device.bonds.size;
      link.c.receiveFragment(m.fragment);
      // UNBOND closes the sensor's end of the connection (device.ts): tell the page.
      if (sim.device.bonds.size < bondsBefore && !link.c.isOpen) disconnect(sim, 'unbonded');
      break;
    }
    case 'disconnect': {
      const sim = byConn.get(m.conn);
      byConn.delete(m.conn);
      // The page ended it (it knows): no `disconnected` back.
      if (sim !== undefined && sim.connection?.conn === m.conn) {
        sim.connection.c.disconnect();
        sim.connection = undefined;
      }
      break;
    }
    case 'remove': {
      const sim = sims.get(m.deviceId);
      if (sim !== undefined) {
        disconnect(sim, 'the simulated sensor was removed');
        sims.delete(m.deviceId);
      }
      await transaction('readwrite', (store) => store.delete(m.deviceId));
      break;
    }
  }
}

self.onmessage = (event: MessageEvent<unknown>) => {
  let message: PageToSimulator;
  try {
    message = parsePageToSimulator(event.data);
  } catch {
    return; // Not ours, or malformed: a real sensor ignores a garbled write too.
  }
  handle(message).catch((err: unknown) => {
    if ('request' in message) post({ type: 'failed', request: message.request, message: err instanceof Error ? err.message : 'the simulator failed' });
  });
};

setInterval(tick, TICK_MS);
