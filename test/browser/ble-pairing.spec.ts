/**
 * Pairing over real Web Bluetooth (issue 4 §1, §5): Chromium's emulated adapter, the app's
 * adapter (src/app/bluetooth/), the real vault worker and IndexedDB; the reference sensor plays
 * the peripheral from the test process (support/ble-emulation.ts).
 */
import { formatSetupCode, generatePasscode } from '../../src/core/setup-code.js';
import { createManufacturerCa } from '../../sensor/identity.js';
import { FIRST_LOCKOUT_MS, FREE_ATTEMPTS } from '../../sensor/pairing-policy.js';
import { chooseSensor, createTestSensor, expect, oneTo, openBleApp, pairSensor, test } from './support/ble-fixtures.js';

const ADDRESS = '09:09:09:09:0A:10';

test('pair with the right setup code: readings go from the sensor, over GATT, into the vault', async ({ page, ble }) => {
  const sensor = createTestSensor();
  const peripheral = await ble.addSensor(sensor.device, { address: ADDRESS });
  await openBleApp(page, sensor.trustRoot, [peripheral]);
  const link = await pairSensor(page, ble, sensor, peripheral);
  expect(peripheral.subscribed).toBe(true);

  sensor.record(300);
  await expect.poll(() => sensor.device.store.held, { timeout: 20_000 }).toBe(0); // all acknowledged after commit
  expect(await page.evaluate((id) => window.bleApp.historySeqs(id), sensor.deviceId)).toEqual(oneTo(300));

  const stats = await page.evaluate((l) => window.bleApp.link(l), link);
  expect(stats).toMatchObject({ state: 'connected', connected: true });
  expect(stats.stats.connects).toBe(1);
  expect(stats.stats.notified).toBeGreaterThan(100); // 300 readings at 17-byte chunks
  expect(peripheral.stats.notified).toBe(stats.stats.notified);
  expect(peripheral.stats.connections).toBe(1);
  expect(ble.errors).toEqual([]);
  console.log(`  ${peripheral.stats.writes} writes to control, ${peripheral.stats.notified} notifications, ${peripheral.stats.emptyReads} empty pull reads`);
});

/** A well-formed setup code (valid check digit) that is not this sensor's. */
function wrongSetupCode(right: string): string {
  for (;;) {
    const passcode = generatePasscode((n) => crypto.getRandomValues(new Uint8Array(n)));
    const code = formatSetupCode(passcode);
    if (code !== right) return code;
  }
}

test('a wrong setup code: a plain-language failure; after the limit the sensor locks pairing out, then lets the right code in', async ({ page, ble }) => {
  const sensor = createTestSensor();
  const peripheral = await ble.addSensor(sensor.device, { address: ADDRESS });
  await openBleApp(page, sensor.trustRoot, [peripheral]);
  const link = await chooseSensor(page, ble, ADDRESS);
  const policy = sensor.device.policy;
  policy.openWindow(sensor.device.monotonicNow());
  const pair = (code: string) => page.evaluate(([l, c]) => window.bleApp.pair(l, c), [link, code] as const);
  /** The sensor counted it (PAIR_3 did not authenticate, §4.5) and its FAIL went out. */
  const sensorCounted = async (failures: number) => {
    await expect.poll(() => policy.failures).toBe(failures);
    await expect.poll(() => peripheral.connection?.queuedFragments).toBe(0);
  };

  const malformed = await pair('1234-5678-0');
  expect(malformed).toMatchObject({ ok: false, failure: 'setup-code' });
  for (let attempt = 1; attempt <= FREE_ATTEMPTS; attempt++) {
    const outcome = await pair(wrongSetupCode(sensor.setupCode));
    expect(outcome).toEqual({ ok: false, failure: 'pairing-failed', message: expect.stringMatching(/check the setup code/) as unknown as string });
    await sensorCounted(attempt);
  }
  // The limit is reached: the sensor refuses pairing for FIRST_LOCKOUT_MS, even with the right code,
  // and the refusal looks exactly like a wrong code (no oracle, §4.6).
  expect(policy.refusal(sensor.device.monotonicNow())).toBe('locked-out');
  expect(await pair(sensor.setupCode)).toMatchObject({ ok: false, failure: 'pairing-failed' });
  await sensorCounted(FREE_ATTEMPTS); // a refused attempt is not counted again
  expect(sensor.device.bonds.size).toBe(0);

  sensor.advanceClock(FIRST_LOCKOUT_MS);
  expect(policy.refusal(sensor.device.monotonicNow())).toBeUndefined();
  expect(await pair(sensor.setupCode)).toEqual({ ok: true, deviceId: sensor.deviceId });
  expect(sensor.device.bonds.size).toBe(1);
  const kinds = await page.evaluate(() => window.bleApp.securityKinds());
  expect(kinds.filter((k) => k === 'pairing-failed').length).toBe(FREE_ATTEMPTS + 1);
  expect(kinds).toContain('paired');
  expect(ble.errors).toEqual([]);
});

test('forged certificates are refused, with the reason: a tampered one, and one from an untrusted maker', async ({ page, ble }) => {
  const trustedMaker = createManufacturerCa('Vitalock Medical', (n) => crypto.getRandomValues(new Uint8Array(n)));
  // Same maker's key, but the model name in the certificate was altered after signing.
  const tampered = createTestSensor({
    ca: trustedMaker,
    forgeCertificate: (genuine) => {
      const forged = genuine.slice();
      forged[18] = (forged[18] as number) ^ 0x0e; // first byte of the model string (§6.1): 'V' → 'X'
      return forged;
    },
  });
  // A certificate that verifies, but under a CA the app does not trust.
  const impostor = createTestSensor();
  const a = await ble.addSensor(tampered.device, { address: ADDRESS });
  const b = await ble.addSensor(impostor.device, { address: '09:09:09:09:0B:20' });
  await openBleApp(page, tampered.trustRoot, [a, b]);

  for (const [sensor, peripheral, reason] of [
    [tampered, a, 'bad-signature'],
    [impostor, b, 'unknown-issuer'],
  ] as const) {
    const link = await chooseSensor(page, ble, peripheral.address);
    sensor.device.policy.openWindow(sensor.device.monotonicNow());
    const outcome = await page.evaluate(([l, c]) => window.bleApp.pair(l, c), [link, sensor.setupCode] as const);
    expect(outcome).toEqual({ ok: false, failure: 'certificate', reason, message: expect.stringContaining(`could not prove who made it (${reason})`) as unknown as string });
    expect(sensor.device.bonds.size).toBe(0);
  }
  const kinds = await page.evaluate(() => window.bleApp.securityKinds());
  expect(kinds).toEqual(expect.arrayContaining(['certificate-bad-signature', 'certificate-unknown-issuer']));
  expect(kinds).not.toContain('paired');
  expect(ble.errors).toEqual([]);
});
