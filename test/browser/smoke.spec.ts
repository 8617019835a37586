/**
 * Smoke suite of the real-browser infrastructure: Debian's Chromium loads the harness page from
 * Vite's dev server, a module worker boots, the reference sensor in the page pairs with a hub in
 * the worker and 1 000 readings land in the worker's real IndexedDB; the CDP WebAuthn virtual
 * authenticator answers the PRF extension; `page.clock` drives page timers (and, measured here,
 * not a dedicated worker's); the BluetoothEmulation domain is reachable.
 */
import { VITALOCK_SERVICE_UUID } from '../../src/core/gatt.js';
import { expect, openHarness, test } from './support/fixtures.js';

test.describe('browser smoke', () => {
  test('the harness loads without cross-origin isolation and its worker boots', async ({ harness: page }) => {
    const info = await page.evaluate(() => window.harness.info());
    expect(info.userAgent).toMatch(/Chrome\/\d+/);
    // Served without COOP/COEP: nothing here may depend on crossOriginIsolated.
    expect(info.crossOriginIsolated).toBe(false);
    expect(info.isSecureContext).toBe(true);
    expect(info.hasIndexedDb).toBe(true);
    const boot = await page.evaluate(() => window.harness.worker.boot());
    expect(boot).toMatchObject({ ready: true, hasIndexedDb: true });
  });

  test('a sensor in the page pairs with a hub in a worker; 1 000 readings land in IndexedDB', async ({ harness: page }) => {
    const result = await page.evaluate(() => window.harness.pairAndStream({ readings: 1000 }));

    expect(result.paired).toBe(true);
    expect(result.hub).toMatchObject({ open: true, state: 'open', stored: 1000, failures: [], security: [] });
    expect(result.recorded).toBe(1000);
    // Acknowledged after commit, so the sensor freed everything.
    expect(result.ackedUpTo).toBe(1000);
    expect(result.sensorHeld).toBe(0);

    const back = result.readBack;
    expect(back.count).toBe(1000);
    expect(back.deviceIds).toEqual([result.deviceIdHex]);
    expect(back.seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(back.mantissas).toEqual(result.expectedMantissas);

    console.log(
      `  pair ${result.pairMs} ms, stream 1000 readings ${result.streamMs} ms; ${result.roundTrips} round trips, ${result.fragmentsToHub} fragments to the hub, ${result.fragmentsToSensor} to the sensor, ${result.hub.transactions} IndexedDB transactions`,
    );
  });

  test('a passkey with the PRF extension on the CDP virtual authenticator', async ({ page, virtualAuthenticator }) => {
    await openHarness(page);
    const registration = await page.evaluate(() => window.harness.prf.register());
    expect(registration.prfEnabled).toBe(true);
    // Chromium may already evaluate the PRF at creation (hmac-secret-mc); when it does, 32 bytes.
    if (registration.createFirstLength !== undefined) expect(registration.createFirstLength).toBe(32);
    console.log(`  PRF at creation: ${registration.createFirstLength === undefined ? 'not evaluated' : `${registration.createFirstLength} bytes`}`);

    const { credentials } = await virtualAuthenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: virtualAuthenticator.authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]?.isResidentCredential).toBe(true);

    // Only lengths and equality leave the page, never the outputs.
    const outcome = await page.evaluate(async (id) => {
      const h = window.harness.prf;
      const a1 = await h.evaluate(id, 'vault-a');
      const a2 = await h.evaluate(id, 'vault-a');
      const b = await h.evaluate(id, 'vault-b');
      return { lengths: [a1.firstLength, a2.firstLength, b.firstLength], sameSalt: h.same(a1.handle, a2.handle), otherSalt: h.same(a1.handle, b.handle) };
    }, registration.credentialId);
    expect(outcome.lengths).toEqual([32, 32, 32]);
    expect(outcome.sameSalt).toBe(true);
    expect(outcome.otherSalt).toBe(false);
  });

  test('page.clock drives timers in the page, not in a dedicated worker', async ({ page }) => {
    const fakeStart = Date.parse('2030-01-01T00:00:00Z');
    await page.clock.install({ time: fakeStart });
    await openHarness(page);
    await page.evaluate(() => window.harness.worker.boot());
    await page.evaluate(() => window.harness.timers.startTimer(60_000));
    await page.evaluate(() => window.harness.worker.startTimer(60_000));

    expect((await page.evaluate(() => window.harness.timers.timer())).firedAt).toBeUndefined();
    await page.clock.fastForward('01:01');
    const pageTimer = await page.evaluate(() => window.harness.timers.timer());
    expect(pageTimer.firedAt).toBeDefined();
    expect((pageTimer.firedAt as number) - (pageTimer.startedAt as number)).toBeGreaterThanOrEqual(60_000);
    expect(pageTimer.now).toBeGreaterThanOrEqual(fakeStart);
    expect(pageTimer.now).toBeLessThan(fakeStart + 3_600_000);

    // The finding: the fake clock is installed in the page's realm only. A dedicated worker keeps
    // the real Date and real timers (fastForward and runFor alike) — the vault's auto-lock timer
    // in the worker cannot be driven by page.clock; it needs a clock the tests can reach.
    await page.clock.runFor(60_000);
    await page.waitForTimeout(300);
    const workerTimer = await page.evaluate(() => window.harness.worker.timer());
    expect(workerTimer.startedAt).toBeDefined();
    expect(workerTimer.firedAt).toBeUndefined();
    expect(Math.abs(workerTimer.now - Date.now())).toBeLessThan(60_000);
    expect(workerTimer.now).toBeLessThan(fakeStart);
    // Control: the worker's own (real) timers do run.
    await page.evaluate(() => window.harness.worker.startTimer(50));
    await expect.poll(async () => (await page.evaluate(() => window.harness.worker.timer())).firedAt).toBeDefined();
  });

  test('Web Bluetooth and the BluetoothEmulation domain are reachable', async ({ harness: page, bluetoothEmulation }) => {
    expect((await page.evaluate(() => window.harness.info())).hasBluetooth).toBe(true);
    await bluetoothEmulation.cdp.send('BluetoothEmulation.simulatePreconnectedPeripheral' as never, {
      address: '09:09:09:09:0A:10',
      name: 'Vitalock 0a10',
      manufacturerData: [],
      knownServiceUuids: [VITALOCK_SERVICE_UUID],
    } as never);
    const available = await page.evaluate(() => (navigator as Navigator & { bluetooth: { getAvailability(): Promise<boolean> } }).bluetooth.getAvailability());
    expect(available).toBe(true);
  });
});
