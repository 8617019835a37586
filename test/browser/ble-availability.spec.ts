/**
 * What the app says when Bluetooth cannot be used (issue 4 §1, §5): the chooser cancelled, no
 * adapter (the emulation's `absent` central), and a browser without Web Bluetooth at all (as iOS
 * Safari and Firefox) — each a typed error or state in plain words.
 *
 * Measured, not tested: with the central `powered-off`, `getAvailability()` is still true (an
 * adapter exists) and `requestDevice` opens a chooser that never prompts — Chromium's own chooser
 * asks the user to turn Bluetooth on, and the request waits for that or for a cancel.
 */
import { linkErrorMessage } from '../../src/app/bluetooth/errors.js';
import { BleEmulation } from './support/ble-emulation.js';
import { createTestSensor, expect, openBleApp, test } from './support/ble-fixtures.js';

const ADDRESS = '09:09:09:09:0A:10';

test('the chooser cancelled: a typed error that says what to do, shown on the page, and nothing connected', async ({ page, ble }) => {
  const sensor = createTestSensor();
  const peripheral = await ble.addSensor(sensor.device, { address: ADDRESS });
  await openBleApp(page, sensor.trustRoot, [peripheral]);
  const chooser = await ble.chooser(page);
  const listed = chooser.answerNext({ cancel: true });
  await page.click('#add-sensor');
  expect(await listed).toContain(ADDRESS); // the sensor was offered, the user said no
  const outcome = await page.evaluate(() => window.bleApp.requestOutcome());
  expect(outcome).toEqual({ ok: false, kind: 'chooser-cancelled', message: linkErrorMessage('chooser-cancelled') });
  await expect(page.getByRole('alert')).toHaveText(linkErrorMessage('chooser-cancelled'));
  expect(peripheral.stats.connections).toBe(0);
  expect(chooser.prompts).toBe(1);
  expect(ble.errors).toEqual([]);
});

test('no Bluetooth adapter: availability says so, "Add sensor" fails in plain words; an adapter that appears is seen', async ({ page, browser }) => {
  const ble = await BleEmulation.start(browser, 'absent');
  try {
    const sensor = createTestSensor();
    await openBleApp(page, sensor.trustRoot);
    expect(await page.evaluate(() => window.bleApp.availability())).toBe('no-adapter');
    await page.click('#add-sensor');
    expect(await page.evaluate(() => window.bleApp.requestOutcome())).toEqual({ ok: false, kind: 'bluetooth-unavailable', message: linkErrorMessage('bluetooth-unavailable') });
    await expect(page.getByRole('alert')).toHaveText(/Bluetooth is off, or this device has no Bluetooth/);

    await ble.setCentralState('powered-on');
    expect(await page.evaluate(() => window.bleApp.availability())).toBe('available');
  } finally {
    await ble.stop();
  }
});

test('a browser without Web Bluetooth (iOS Safari, Firefox): "unsupported", and the button explains instead of failing silently', async ({ page }) => {
  // As on those browsers: no `navigator.bluetooth` at all.
  await page.addInitScript(() => {
    delete (Navigator.prototype as unknown as { bluetooth?: unknown }).bluetooth;
  });
  const sensor = createTestSensor();
  await openBleApp(page, sensor.trustRoot);
  expect(await page.evaluate(() => window.bleApp.hasWebBluetooth())).toBe(false);
  expect(await page.evaluate(() => window.bleApp.availability())).toBe('unsupported');
  await page.click('#add-sensor');
  expect(await page.evaluate(() => window.bleApp.requestOutcome())).toEqual({ ok: false, kind: 'unsupported', message: linkErrorMessage('unsupported') });
  await expect(page.getByRole('alert')).toHaveText(/history and export still work here/);
  // The vault itself still works without Bluetooth (history, export).
  expect(await page.evaluate((id) => window.bleApp.historySeqs(id), sensor.deviceId)).toEqual([]);
});
