/**
 * Notifications stall while the link stays up (the Android failure of docs/protocol.md §2.1): the
 * adapter's watchdog notices the silence after NOTIFICATION_STALL_MS and pulls `data` with reads
 * until one comes back empty; the readings arrive all the same. A stall that begins while the
 * link is idle is caught by the idle poll.
 */
import { NOTIFICATION_STALL_MS } from '../../src/core/gatt.js';
import { createTestSensor, expect, oneTo, openBleApp, pairSensor, test } from './support/ble-fixtures.js';

const ADDRESS = '09:09:09:09:0A:10';
/** Shortened from IDLE_POLL_MS (10 s) to keep the spec short; the unit tests cover the default. */
const IDLE_POLL_MS = 3_000;

test('notifications stall: the watchdog pulls with reads, every reading arrives, and a stall that starts while idle is caught by the idle poll', async ({ page, ble }) => {
  const sensor = createTestSensor();
  const peripheral = await ble.addSensor(sensor.device, { address: ADDRESS });
  await openBleApp(page, sensor.trustRoot, [peripheral], `?idlePollMs=${IDLE_POLL_MS}`);
  const link = await pairSensor(page, ble, sensor, peripheral);
  const stats = async () => (await page.evaluate((l) => window.bleApp.link(l), link)).stats;

  // 1. Stalls just after the hub wrote (pairing): the watchdog is armed.
  peripheral.stallNotifications();
  const notifiedBefore = peripheral.stats.notified;
  const stalledAt = Date.now();
  sensor.record(200);
  await expect.poll(() => sensor.device.store.held, { timeout: 15_000 }).toBe(0);
  const firstMs = Date.now() - stalledAt;
  expect(peripheral.stats.notified).toBe(notifiedBefore); // nothing came as a notification
  const afterStall = await stats();
  expect(afterStall.stalls).toBeGreaterThanOrEqual(1);
  expect(afterStall.pulled).toBeGreaterThan(20);
  expect(firstMs).toBeGreaterThanOrEqual(NOTIFICATION_STALL_MS - 100);
  expect(await page.evaluate((id) => window.bleApp.historySeqs(id), sensor.deviceId)).toEqual(oneTo(200));

  // 2. Idle (the pulls came back empty), then readings with notifications still stalled.
  await expect.poll(() => peripheral.stats.emptyReads, { timeout: 10_000 }).toBeGreaterThan(0);
  const idleAt = Date.now();
  sensor.record(100);
  await expect.poll(() => sensor.device.store.held, { timeout: 15_000 }).toBe(0);
  const idleMs = Date.now() - idleAt;
  expect(peripheral.stats.notified).toBe(notifiedBefore);
  expect(await page.evaluate((id) => window.bleApp.historySeqs(id), sensor.deviceId)).toEqual(oneTo(300));

  // 3. Notifications work again: they carry the stream, the pulls stop.
  peripheral.stallNotifications(false);
  const pulledBefore = (await stats()).pulled;
  sensor.record(100);
  await expect.poll(() => sensor.device.store.held, { timeout: 15_000 }).toBe(0);
  expect(peripheral.stats.notified).toBeGreaterThan(notifiedBefore + 20);
  expect((await stats()).pulled).toBe(pulledBefore);
  expect(await page.evaluate((id) => window.bleApp.historySeqs(id), sensor.deviceId)).toEqual(oneTo(400));
  expect(ble.errors).toEqual([]);
  console.log(`  stalled stream stored in ${firstMs} ms (${afterStall.pulled} fragments pulled), idle stall in ${idleMs} ms`);
});
