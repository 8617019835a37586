/**
 * The reference sensor in a tab of its own (query: `link`, the BroadcastChannel link's name), so
 * it outlives a reload of the app's tab. `window.sensorTest` gives the spec what is printed on
 * the device (setup code, device id), the manufacturer CA the app must trust, and the store.
 */
import { toHex } from '../../../src/core/bytes.js';
import { MDC } from '../../../src/core/readings.js';
import { formatSetupCode } from '../../../src/core/setup-code.js';
import { SensorDevice } from '../../../sensor/device.js';
import { createManufacturerCa, manufactureDevice } from '../../../sensor/identity.js';
import type { Measurement } from '../../../sensor/record-store.js';
import { sensorEnd } from './ble-link.js';

const random = (n: number): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(n));
const link = new URLSearchParams(location.search).get('link');
if (link === null) throw new Error('sensor.html needs ?link=');
const ca = createManufacturerCa('Vitalock Medical', random);
const identity = manufactureDevice({ ca, random, nowMs: Date.now() });
const device = new SensorDevice({ identity, random, clock: () => Date.now(), storeCapacity: 200_000 });
let acked = 0;
device.onEvent((e) => {
  if (e.type === 'acknowledged') acked = e.upTo;
});
const end = sensorEnd(link, device);
const t0 = Date.now();
let measuring = false;

function heartRates(from: number, count: number): Measurement[] {
  return Array.from(
    { length: count },
    (_, i): Measurement => ({
      timeMs: t0 + (from + i) * 10,
      code: MDC.ECG_HEART_RATE,
      unit: MDC.DIM_BEAT_PER_MIN,
      flags: 0,
      value: { kind: 1, value: { mantissa: 40 + ((from + i) % 140), exponent: 0 } },
    }),
  );
}

export const sensorApi = {
  trustRoot: () => ({ name: ca.name, publicKey: toHex(ca.publicKey) }),
  setupCode: () => formatSetupCode(identity.passcode),
  deviceId: () => toHex(identity.deviceId).toUpperCase(),
  openPairingWindow(): void {
    device.policy.openWindow(Date.now());
  },
  /** Measures `count` heart rates at once (seq from + 1 … from + count), sent as the link allows. */
  record(from: number, count: number): void {
    device.record(heartRates(from, count));
  },
  /**
   * Measures as a sensor does, over time: `perTick` readings every `intervalMs` until `count`
   * are taken, whoever is (or is not) connected.
   */
  measure(from: number, count: number, perTick: number, intervalMs: number): void {
    let taken = 0;
    measuring = true;
    const timer = setInterval(() => {
      const n = Math.min(perTick, count - taken);
      device.record(heartRates(from + taken, n));
      taken += n;
      if (taken >= count) {
        clearInterval(timer);
        measuring = false;
      }
    }, intervalMs);
  },
  state: () => ({ held: device.store.held, lastSeq: device.store.lastSeq, acked, measuring, connected: end.connection()?.isOpen ?? false, bonds: device.bonds.size }),
};

window.sensorTest = sensorApi;
window.sensorTestReady = true;
