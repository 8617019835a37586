/**
 * The harness page of the browser smoke suite (see harness-api.ts for the API on `window`).
 *
 * The reference sensor (`sensor/device.ts`) runs here, in the page; the hub (`HubSession`) runs in
 * a module worker (probe.worker.ts) reached through comlink. An in-page link plays the BLE
 * connection: hub writes go to `SensorConnection.receiveFragment` (the `control` characteristic),
 * and up to one data queue of fragments from `takeFragment` (the `data` notifications) goes back
 * per round trip, as transferred ArrayBuffers.
 */
import * as Comlink from 'comlink';
import { DATA_QUEUE_FRAGMENTS } from '../../../src/core/gatt.js';
import { toHex } from '../../../src/core/bytes.js';
import { MDC } from '../../../src/core/readings.js';
import { SensorDevice } from '../../../sensor/device.js';
import { createManufacturerCa, manufactureDevice } from '../../../sensor/identity.js';
import type { Measurement } from '../../../sensor/record-store.js';
import type { HarnessApi, HubStep, PrfEvaluation, PrfRegistration, StreamResult, TimerProbe } from './harness-api.js';
import type { ProbeApi } from './probe.worker.js';

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

let probe: Comlink.Remote<ProbeApi> | undefined;

function hub(): Comlink.Remote<ProbeApi> {
  probe ??= Comlink.wrap<ProbeApi>(new Worker(new URL('./probe.worker.ts', import.meta.url), { type: 'module', name: 'probe' }));
  return probe;
}

function owned(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Heart rates whose value follows from their index, so every stored value can be checked. */
function heartRates(count: number, t0: number): { measurements: Measurement[]; mantissas: number[] } {
  const mantissas = Array.from({ length: count }, (_, i) => 40 + (i % 140));
  const measurements = mantissas.map(
    (mantissa, i): Measurement => ({
      timeMs: t0 + i * 10,
      code: MDC.ECG_HEART_RATE,
      unit: MDC.DIM_BEAT_PER_MIN,
      flags: 0,
      value: { kind: 1, value: { mantissa, exponent: 0 } },
    }),
  );
  return { measurements, mantissas };
}

async function pairAndStream(options: { readings: number; dbName?: string; attMtu?: number }): Promise<StreamResult> {
  const attMtu = options.attMtu ?? 247;
  const worker = hub();
  const ca = createManufacturerCa('Vitalock Medical', randomBytes);
  const identity = manufactureDevice({ ca, random: randomBytes, nowMs: Date.now() });
  const device = new SensorDevice({ identity, random: randomBytes, clock: () => Date.now() });
  let ackedUpTo = 0;
  device.onEvent((e) => {
    if (e.type === 'acknowledged') ackedUpTo = e.upTo;
  });
  const connection = device.connect(attMtu);
  await worker.init({
    caName: ca.name,
    caPublicKey: owned(ca.publicKey),
    attMtu,
    dbName: options.dbName ?? `vitalock-probe-${toHex(randomBytes(4))}`,
  });

  const link = { toHub: 0, toSensor: 0, roundTrips: 0 };
  let last: HubStep;
  /** Moves fragments both ways until `done()`; throws when nothing moves for a while. */
  const exchange = async (what: string, done: () => boolean): Promise<void> => {
    let idle = 0;
    for (;;) {
      for (const w of last.writes) connection.receiveFragment(new Uint8Array(w));
      link.toSensor += last.writes.length;
      if (last.failures.length > 0) throw new Error(`${what}: the hub failed (${last.failures.join(', ')})`);
      if (done()) return;
      const notifications: ArrayBuffer[] = [];
      for (let f = connection.takeFragment(); f !== undefined; f = notifications.length < DATA_QUEUE_FRAGMENTS ? connection.takeFragment() : undefined) {
        notifications.push(owned(f));
      }
      link.toHub += notifications.length;
      link.roundTrips++;
      if (notifications.length > 0) {
        idle = 0;
        last = await worker.receive(Comlink.transfer(notifications, notifications));
      } else {
        if (++idle > 40) {
          throw new Error(`${what}: the link went idle (hub ${last.state}, stored ${last.stored}, sensor holds ${device.store.held}, acked ${ackedUpTo})`);
        }
        await sleep(25);
        last = await worker.tick();
      }
    }
  };

  const t0 = performance.now();
  device.policy.openWindow(Date.now());
  last = await worker.pair(identity.passcode);
  await exchange('pairing', () => last.open && connection.isOpen);
  const t1 = performance.now();

  const { measurements, mantissas } = heartRates(options.readings, Date.now());
  const recorded = device.record(measurements);
  await exchange('streaming', () => last.stored >= recorded && ackedUpTo >= recorded);
  const t2 = performance.now();

  const { writes: _writes, ...hubState } = last;
  return {
    paired: connection.isOpen,
    deviceName: device.name,
    deviceIdHex: toHex(identity.deviceId),
    recorded,
    sensorHeld: device.store.held,
    ackedUpTo,
    hub: hubState,
    fragmentsToHub: link.toHub,
    fragmentsToSensor: link.toSensor,
    roundTrips: link.roundTrips,
    pairMs: Math.round(t1 - t0),
    streamMs: Math.round(t2 - t1),
    expectedMantissas: mantissas,
    readBack: await worker.readBack(),
  };
}

// ── WebAuthn PRF ────────────────────────────────────────────────────────────────────────────────

const prfOutputs = new Map<number, Uint8Array>();
let nextHandle = 1;

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function saltOf(label: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', new TextEncoder().encode(`vitalock-test-salt:${label}`));
}

function bytesOf(source: BufferSource | undefined): Uint8Array | undefined {
  if (source === undefined) return undefined;
  return source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
}

async function prfRegister(): Promise<PrfRegistration> {
  const credential = (await navigator.credentials.create({
    publicKey: {
      rp: { name: 'Vitalock browser tests', id: location.hostname },
      user: { id: randomBytes(16), name: 'nurse@vitalock.test', displayName: 'Test nurse' },
      challenge: randomBytes(32),
      pubKeyCredParams: [
        { type: 'public-key', alg: -7 },
        { type: 'public-key', alg: -8 },
        { type: 'public-key', alg: -257 },
      ],
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      extensions: { prf: { eval: { first: await saltOf('registration') } } },
    },
  })) as PublicKeyCredential | null;
  if (credential === null) throw new Error('navigator.credentials.create returned null');
  const prf = credential.getClientExtensionResults().prf;
  return {
    credentialId: base64url(new Uint8Array(credential.rawId)),
    prfEnabled: prf?.enabled,
    createFirstLength: bytesOf(prf?.results?.first)?.byteLength,
  };
}

async function prfEvaluate(credentialId: string, salt: string): Promise<PrfEvaluation> {
  const assertion = (await navigator.credentials.get({
    publicKey: {
      rpId: location.hostname,
      challenge: randomBytes(32),
      allowCredentials: [{ type: 'public-key', id: fromBase64url(credentialId) }],
      userVerification: 'required',
      extensions: { prf: { eval: { first: await saltOf(salt) } } },
    },
  })) as PublicKeyCredential | null;
  if (assertion === null) throw new Error('navigator.credentials.get returned null');
  const first = bytesOf(assertion.getClientExtensionResults().prf?.results?.first);
  const handle = nextHandle++;
  if (first !== undefined) prfOutputs.set(handle, first.slice());
  return { handle, firstLength: first?.byteLength };
}

function prfSame(a: number, b: number): boolean {
  const x = prfOutputs.get(a);
  const y = prfOutputs.get(b);
  if (x === undefined || y === undefined) throw new Error('unknown PRF output handle');
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

// ── timers (for page.clock) ─────────────────────────────────────────────────────────────────────

const pageTimer: { startedAt: number | undefined; firedAt: number | undefined } = { startedAt: undefined, firedAt: undefined };

const api: HarnessApi = {
  info: () => ({
    crossOriginIsolated: globalThis.crossOriginIsolated,
    isSecureContext: globalThis.isSecureContext,
    userAgent: navigator.userAgent,
    hasBluetooth: 'bluetooth' in navigator && navigator.bluetooth !== undefined,
    hasIndexedDb: typeof indexedDB !== 'undefined',
    hasPublicKeyCredential: typeof PublicKeyCredential !== 'undefined',
  }),
  worker: {
    boot: () => hub().ping(),
    startTimer: (ms) => hub().startTimer(ms),
    timer: () => hub().timer(),
  },
  pairAndStream,
  prf: { register: prfRegister, evaluate: prfEvaluate, same: prfSame },
  timers: {
    startTimer(ms: number): void {
      pageTimer.firedAt = undefined;
      pageTimer.startedAt = Date.now();
      setTimeout(() => {
        pageTimer.firedAt = Date.now();
      }, ms);
    },
    timer: (): TimerProbe => ({ ...pageTimer, now: Date.now() }),
  },
};

window.harness = api;
window.harnessReady = true;
