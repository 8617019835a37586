/**
 * The app's pairing screen over real Web Bluetooth (issue 4 §2, §5): the built app, Chromium's
 * emulated adapter, the reference sensor played from the test process (support/ble-emulation.ts).
 * The sensor is made under the "Vitalock Simulator" root (its key comes from the public seed), the
 * root a demo-mode build trusts — so nothing test-only is built into the app.
 *
 * - the chooser → the setup code → who the sensor is → named → live values on screen;
 * - a sensor with a forged certificate → refused, with the reason and what to do on screen.
 */
import type { Page } from '@playwright/test';
import { utf8 } from '../../src/core/bytes.js';
import { DEMO_CA_NAME, DEMO_CA_SEED } from '../../src/core/demo-link.js';
import { ed25519PublicKey, sha256 } from '../../src/core/primitives.js';
import type { ManufacturerCa } from '../../sensor/identity.js';
import { createVault, expect, expectAccessible, screenshot, test, tileReading } from './support/app-fixtures.js';
import { BleEmulation } from './support/ble-emulation.js';
import { createTestSensor, type TestSensor } from './support/ble-fixtures.js';

const demoSecret = sha256(utf8(DEMO_CA_SEED));
const SIMULATOR_CA: ManufacturerCa = { name: DEMO_CA_NAME, secretKey: demoSecret, publicKey: ed25519PublicKey(demoSecret) };

async function chooseAndType(page: Page, ble: BleEmulation, sensor: TestSensor, address: string): Promise<void> {
  await page.getByRole('link', { name: 'Pair a Bluetooth sensor' }).click();
  const chooser = await ble.chooser(page);
  const listed = chooser.answerNext({ select: address });
  await page.getByRole('button', { name: 'Choose a Bluetooth sensor' }).click();
  expect(await listed).toContain(address);
  await expect(page.getByLabel('Setup code (9 digits on the sensor’s label)')).toBeVisible({ timeout: 20_000 });
  await chooser.detach();
  sensor.device.policy.openWindow(sensor.device.monotonicNow());
  await page.getByLabel('Setup code (9 digits on the sensor’s label)').fill(sensor.setupCode);
  await page.getByRole('button', { name: 'Pair', exact: true }).click();
}

test('Bluetooth: choose the sensor, type its code, see who it is, name it, watch its values', async ({ app: page, browser }) => {
  test.setTimeout(120_000);
  const ble = await BleEmulation.start(browser);
  try {
    const sensor = createTestSensor({ ca: SIMULATOR_CA });
    const peripheral = await ble.addSensor(sensor.device, { address: '09:09:09:09:0B:01' });
    peripheral.attach(page);
    await createVault(page);
    await expect(page.getByText('This browser cannot connect to Bluetooth sensors.')).toHaveCount(0);
    await chooseAndType(page, ble, sensor, peripheral.address);
    await expect(page.getByRole('heading', { name: 'The sensor proved who it is' })).toBeVisible({ timeout: 20_000 });
    await expect(page.getByText(sensor.identity.serial)).toBeVisible();
    await page.getByLabel('Name (optional)').fill('Ward 3 bed 2');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('link', { name: 'See live values' }).click();
    sensor.record(30);
    await expect.poll(async () => (await tileReading(page, 'Heart rate'))?.value, { timeout: 20_000 }).toMatch(/^\d+$/);
    await expect.poll(() => sensor.device.store.held, { timeout: 20_000 }).toBe(0);
    await expect(page.getByText('● Connected')).toBeVisible();
    await expectAccessible(page, 'live view (Bluetooth)');
    await screenshot(page, '15-live-view-bluetooth');
    expect(ble.errors).toEqual([]);
  } finally {
    await ble.stop();
  }
});

test('Bluetooth: a sensor with a forged certificate is refused, with the reason on screen', async ({ app: page, browser }) => {
  test.setTimeout(120_000);
  const ble = await BleEmulation.start(browser);
  try {
    const sensor = createTestSensor({
      ca: SIMULATOR_CA,
      // One bit of the CA's signature flipped: the certificate no longer verifies.
      forgeCertificate: (genuine) => {
        const forged = genuine.slice();
        forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
        return forged;
      },
    });
    const peripheral = await ble.addSensor(sensor.device, { address: '09:09:09:09:0B:02' });
    peripheral.attach(page);
    await createVault(page);
    await chooseAndType(page, ble, sensor, peripheral.address);
    const problem = page.getByRole('alert');
    await expect(problem).toContainText('This sensor’s identity is forged or damaged.', { timeout: 20_000 });
    await expect(problem).toContainText('Do not use it.');
    await expect(page.getByRole('heading', { name: 'The sensor proved who it is' })).toHaveCount(0);
    await expectAccessible(page, 'pairing: forged certificate');
    await screenshot(page, '16-pairing-forged-certificate');
    await page.getByRole('link', { name: 'Security log' }).click();
    await expect(page.getByText('Sensor certificate refused')).toBeVisible();
  } finally {
    await ble.stop();
  }
});
