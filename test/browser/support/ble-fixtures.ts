/**
 * For the Bluetooth specs (test/browser/ble-*.spec.ts): reference sensors made for one test, the
 * `ble` fixture (this test's emulation, `ble-emulation.ts`), and helpers that drive
 * pages/ble-app.html — the app's Web Bluetooth adapter wired to the real vault worker.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { toHex } from '../../../src/core/bytes.js';
import { MDC } from '../../../src/core/readings.js';
import { formatSetupCode } from '../../../src/core/setup-code.js';
import { SensorDevice } from '../../../sensor/device.js';
import { createManufacturerCa, manufactureDevice, type DeviceIdentity, type ManufacturerCa } from '../../../sensor/identity.js';
import type { Measurement } from '../../../sensor/record-store.js';
import { BleEmulation, type EmulatedSensor } from './ble-emulation.js';

/** A reference sensor made for one test, with a clock the test can move forward. */
export interface TestSensor {
  readonly device: SensorDevice;
  readonly identity: DeviceIdentity;
  /** The manufacturer CA the app trusts (name, Ed25519 public key hex), as `startVault` takes it. */
  readonly trustRoot: { readonly name: string; readonly publicKey: string };
  readonly setupCode: string;
  /** The device id as the vault names it (upper-case hex). */
  readonly deviceId: string;
  /** Moves the sensor's oscillator forward (handshake timeout, lockout), not the page's clock. */
  advanceClock(ms: number): void;
  /** Measures `count` heart rates now (seq lastSeq + 1 …). */
  record(count: number): void;
}

export interface TestSensorOptions {
  /** The manufacturer; a new CA by default. */
  readonly ca?: ManufacturerCa;
  /** Replaces the certificate the sensor presents (a forgery). */
  readonly forgeCertificate?: (genuine: Uint8Array) => Uint8Array;
}

const random = (n: number): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(n));

export function createTestSensor(options: TestSensorOptions = {}): TestSensor {
  const ca = options.ca ?? createManufacturerCa('Vitalock Medical', random);
  const genuine = manufactureDevice({ ca, random, nowMs: Date.now() });
  const identity = options.forgeCertificate ? { ...genuine, certificate: options.forgeCertificate(genuine.certificate) } : genuine;
  let offsetMs = 0;
  const device = new SensorDevice({ identity, random, clock: () => Date.now() + offsetMs, storeCapacity: 100_000 });
  const t0 = Date.now();
  return {
    device,
    identity,
    trustRoot: { name: ca.name, publicKey: toHex(ca.publicKey) },
    setupCode: formatSetupCode(identity.passcode),
    deviceId: toHex(identity.deviceId).toUpperCase(),
    advanceClock(ms) {
      offsetMs += ms;
    },
    record(count) {
      const from = device.store.lastSeq;
      device.record(
        Array.from({ length: count }, (_, i): Measurement => ({
          timeMs: t0 + (from + i) * 1_000,
          code: MDC.ECG_HEART_RATE,
          unit: MDC.DIM_BEAT_PER_MIN,
          flags: 0,
          value: { kind: 1, value: { mantissa: 40 + ((from + i) % 140), exponent: 0 } },
        })),
      );
    },
  };
}

/** Consecutive sequence numbers from 1 to n: what a history with no gap and no duplicate is. */
export function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/**
 * `ble`: this test's emulation (powered on), stopped afterwards. One emulation per browser, and
 * Playwright runs one worker (playwright.config.ts).
 */
export const test = base.extend<{ ble: BleEmulation }>({
  ble: async ({ browser }, use) => {
    const emulation = await BleEmulation.start(browser);
    await use(emulation);
    await emulation.stop();
  },
});

export { expect };

// ── Driving pages/ble-app.html (the adapter wired to the real vault worker) ───────────────────

const PASSPHRASE = 'correct horse battery staple';

/** Opens the page, starts the vault trusting `trustRoot`, creates it, and attaches `sensors`. */
export async function openBleApp(page: Page, trustRoot: TestSensor['trustRoot'], sensors: readonly EmulatedSensor[] = [], query = ''): Promise<void> {
  await page.goto(`/ble-app.html${query}`);
  await page.waitForFunction(() => window.bleAppReady === true);
  for (const s of sensors) s.attach(page);
  await page.evaluate((r) => window.bleApp.start(r), trustRoot);
  await page.evaluate((p) => window.bleApp.create(p), PASSPHRASE);
}

/** Clicks "Add sensor", picks `address` in the chooser; returns the connected link's id. */
export async function chooseSensor(page: Page, ble: BleEmulation, address: string): Promise<string> {
  const chooser = await ble.chooser(page);
  const listed = chooser.answerNext({ select: address });
  await page.click('#add-sensor');
  expect(await listed).toContain(address);
  const outcome = await page.evaluate(() => window.bleApp.requestOutcome());
  await chooser.detach();
  if (!outcome.ok) throw new Error(`the sensor did not connect: ${outcome.kind}`);
  expect(outcome.state).toBe('connected');
  return outcome.link;
}

/** Chooses and pairs `sensor` (its pairing window opened, as its button would). */
export async function pairSensor(page: Page, ble: BleEmulation, sensor: TestSensor, peripheral: EmulatedSensor): Promise<string> {
  const link = await chooseSensor(page, ble, peripheral.address);
  sensor.device.policy.openWindow(sensor.device.monotonicNow());
  const paired = await page.evaluate(([l, code]) => window.bleApp.pair(l, code), [link, sensor.setupCode] as const);
  expect(paired).toEqual({ ok: true, deviceId: sensor.deviceId });
  return link;
}
