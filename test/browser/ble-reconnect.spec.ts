/**
 * The link drops mid-stream (issue 4 §1, §5): the app's adapter reconnects by itself (backoff with
 * jitter), fetches the service again, the vault reconnects with Noise KK and backfills; history
 * has every reading once. Then the sensor stays out of range for a while: the retries back off
 * and succeed when it comes back.
 */
import { OFFLINE_AFTER_ATTEMPTS } from '../../src/app/bluetooth/web-bluetooth-link.js';
import { chooseSensor, createTestSensor, expect, oneTo, openBleApp, test, type TestSensor } from './support/ble-fixtures.js';

const ADDRESS = '09:09:09:09:0A:10';
const TOTAL = 1_500;

/** Measures `perTick` readings every `intervalMs` until `total` exist, whoever is connected. */
function measure(sensor: TestSensor, total: number, perTick: number, intervalMs: number): Promise<void> {
  return new Promise((done) => {
    const timer = setInterval(() => {
      sensor.record(Math.min(perTick, total - sensor.device.store.lastSeq));
      if (sensor.device.store.lastSeq >= total) {
        clearInterval(timer);
        done();
      }
    }, intervalMs);
  });
}

test('link dropped mid-stream, then out of range for a while: reconnects by itself (KK), backfills, history 1..N with no gap and no duplicate', async ({ page, ble }) => {
  const sensor = createTestSensor();
  let acked = 0;
  sensor.device.onEvent((e) => {
    if (e.type === 'acknowledged') acked = e.upTo;
  });
  const peripheral = await ble.addSensor(sensor.device, { address: ADDRESS, attMtu: 247 });
  await openBleApp(page, sensor.trustRoot, [peripheral]);
  const link = await chooseSensor(page, ble, ADDRESS);
  sensor.device.policy.openWindow(sensor.device.monotonicNow());
  expect(await page.evaluate(([l, c]) => window.bleApp.pair(l, c), [link, sensor.setupCode] as const)).toMatchObject({ ok: true });

  const measured = measure(sensor, TOTAL, 15, 40);
  await expect.poll(() => acked, { timeout: 20_000 }).toBeGreaterThanOrEqual(200);

  // 1. The link drops mid-stream; the sensor is still in range.
  const cut = { acked, lastSeq: sensor.device.store.lastSeq };
  await peripheral.dropLink();
  await expect.poll(() => page.evaluate((l) => window.bleApp.resumedCount(l), link), { timeout: 10_000 }).toBe(1);
  expect(cut.acked).toBeLessThan(TOTAL);
  console.log(`  dropped with ${cut.acked} of ${cut.lastSeq} acknowledged`);

  // 2. Out of range: every attempt fails, the retries back off, and after OFFLINE_AFTER_ATTEMPTS
  // the link says 'offline' and watches for the sensor's advertisements.
  await expect.poll(() => acked, { timeout: 20_000 }).toBeGreaterThan(cut.lastSeq);
  peripheral.goOutOfRange();
  await peripheral.dropLink();
  await expect.poll(() => page.evaluate((l) => window.bleApp.link(l).state, link), { timeout: 15_000 }).toBe('offline');
  expect(peripheral.stats.refusedConnections).toBe(OFFLINE_AFTER_ATTEMPTS);
  // Back in range: its advertisement triggers the reconnect at once, not after the backoff.
  peripheral.comeBackInRange();
  const backAt = Date.now();
  await peripheral.advertise();
  await expect.poll(() => page.evaluate((l) => window.bleApp.resumedCount(l), link), { timeout: 15_000 }).toBe(2);
  const reconnectMs = Date.now() - backAt;
  expect(peripheral.stats.refusedConnections).toBe(OFFLINE_AFTER_ATTEMPTS);

  await measured;
  await expect.poll(() => sensor.device.store.held, { timeout: 20_000 }).toBe(0);
  expect(acked).toBe(TOTAL);
  expect(await page.evaluate((id) => window.bleApp.historySeqs(id), sensor.deviceId)).toEqual(oneTo(TOTAL));

  const states = await page.evaluate((l) => window.bleApp.states(l), link);
  expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected', 'reconnecting', 'offline', 'connected']);
  const reasons = await page.evaluate((l) => window.bleApp.stateReasons(l), link);
  expect(reasons[0]).toMatch(/out of range/);
  const after = await page.evaluate((l) => window.bleApp.link(l), link);
  expect(after.stats.connects).toBe(3);
  // Each reconnect discovered the new GATT table and subscribed again (old objects are invalid).
  expect(peripheral.stats.subscriptions).toBe(3);
  expect(peripheral.stats.connections).toBe(3);
  expect(ble.errors).toEqual([]);
  console.log(`  back in range → session open again in ${reconnectMs} ms (advertisement); ${peripheral.stats.notified} notifications, ${after.stats.pulled} pulled`);
});
