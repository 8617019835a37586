/**
 * After a page load the bonded sensors come back without the chooser (issue 4 §1):
 * `getDevices()` lists the sensors this origin was granted, each link connects by itself, the
 * vault reconnects with Noise KK and backfills what the sensor measured meanwhile.
 *
 * A reload tears Chromium's Bluetooth emulation down unless another tab of the origin that has
 * used `navigator.bluetooth` stays open (docs: testing; measured: a tab that has not used it does
 * not keep it), as a real adapter would stay: the second tab is that.
 */
import { chooseSensor, createTestSensor, expect, oneTo, openBleApp, test } from './support/ble-fixtures.js';

const ADDRESS = '09:09:09:09:0A:10';
const PASSPHRASE = 'correct horse battery staple';

test('page reloaded: getDevices() finds the bonded sensor, it reconnects by itself (KK) and backfills — history 1..N', async ({ page, context, ble }) => {
  const sensor = createTestSensor();
  const peripheral = await ble.addSensor(sensor.device, { address: ADDRESS, attMtu: 247 });
  const db = `vitalock-ble-restore-${Date.now()}`;
  await openBleApp(page, sensor.trustRoot, [peripheral], `?db=${db}`);
  const link = await chooseSensor(page, ble, ADDRESS);
  sensor.device.policy.openWindow(sensor.device.monotonicNow());
  expect(await page.evaluate(([l, c]) => window.bleApp.pair(l, c), [link, sensor.setupCode] as const)).toMatchObject({ ok: true });
  sensor.record(200);
  await expect.poll(() => sensor.device.store.held, { timeout: 15_000 }).toBe(0);

  // The tab that keeps the emulation (and the origin's Bluetooth state) across the reload.
  const keeper = await context.newPage();
  await keeper.goto('/ble-app.html');
  await keeper.waitForFunction(() => window.bleAppReady === true);
  expect(await keeper.evaluate(() => window.bleApp.availability())).toBe('available');
  await page.bringToFront();
  await page.reload();
  await page.waitForFunction(() => window.bleAppReady === true);
  sensor.record(300); // measured while the app was away
  await page.evaluate((r) => window.bleApp.start(r), sensor.trustRoot);
  expect(await page.evaluate((p) => window.bleApp.unlock(p), PASSPHRASE)).toBe(true);
  expect(await page.evaluate(() => window.bleApp.canRestore())).toBe(true);
  const restored = await page.evaluate(() => window.bleApp.restore());
  expect(restored).toEqual([{ link, deviceName: sensor.device.name }]); // same device id: same link id

  await expect.poll(() => page.evaluate((l) => window.bleApp.resumedCount(l), link), { timeout: 15_000 }).toBe(1);
  await expect.poll(() => sensor.device.store.held, { timeout: 15_000 }).toBe(0);
  expect(await page.evaluate((id) => window.bleApp.historySeqs(id), sensor.deviceId)).toEqual(oneTo(500));
  expect(await page.evaluate((l) => window.bleApp.states(l), link)).toEqual(['connecting', 'connected']);
  expect(peripheral.stats.subscriptions).toBe(2);
  expect(ble.errors).toEqual([]);
  await keeper.close();
});

test('a browser without getDevices(): one tap on "Reconnect sensor" opens a chooser with just the bonded sensor; KK and backfill follow', async ({ page, context, ble }) => {
  await ble.hideGetDevices(page);
  const sensor = createTestSensor();
  const peripheral = await ble.addSensor(sensor.device, { address: ADDRESS, attMtu: 247 });
  const other = createTestSensor();
  await ble.addSensor(other.device, { address: '09:09:09:09:0B:20' });
  const db = `vitalock-ble-restore-${Date.now()}`;
  await openBleApp(page, sensor.trustRoot, [peripheral], `?db=${db}`);
  const link = await chooseSensor(page, ble, ADDRESS);
  sensor.device.policy.openWindow(sensor.device.monotonicNow());
  expect(await page.evaluate(([l, c]) => window.bleApp.pair(l, c), [link, sensor.setupCode] as const)).toMatchObject({ ok: true });
  sensor.record(100);
  await expect.poll(() => sensor.device.store.held, { timeout: 15_000 }).toBe(0);

  const keeper = await context.newPage();
  await keeper.goto('/ble-app.html');
  await keeper.waitForFunction(() => window.bleAppReady === true);
  expect(await keeper.evaluate(() => window.bleApp.availability())).toBe('available'); // it must use Bluetooth to keep it
  await page.bringToFront();
  await page.reload();
  await page.waitForFunction(() => window.bleAppReady === true);
  sensor.record(150);
  await page.evaluate((r) => window.bleApp.start(r), sensor.trustRoot);
  expect(await page.evaluate((p) => window.bleApp.unlock(p), PASSPHRASE)).toBe(true);
  expect(await page.evaluate(() => window.bleApp.canRestore())).toBe(false);
  expect(await page.evaluate(() => window.bleApp.restore())).toEqual([]);
  expect(await page.evaluate(() => window.bleApp.loadBonds())).toEqual([sensor.device.name]);

  const chooser = await ble.chooser(page);
  const listed = chooser.answerNext({ select: ADDRESS });
  await page.click('#reconnect-sensor');
  expect(await listed).toEqual([ADDRESS]); // filtered on the bonded sensor's name: one tap
  expect(await page.evaluate(() => window.bleApp.requestOutcome())).toMatchObject({ ok: true, link, state: 'connected' });
  await expect.poll(() => page.evaluate((l) => window.bleApp.resumedCount(l), link), { timeout: 15_000 }).toBe(1);
  await expect.poll(() => sensor.device.store.held, { timeout: 15_000 }).toBe(0);
  expect(await page.evaluate((id) => window.bleApp.historySeqs(id), sensor.deviceId)).toEqual(oneTo(250));
  expect(ble.errors).toEqual([]);
  await chooser.detach();
  await keeper.close();
});
