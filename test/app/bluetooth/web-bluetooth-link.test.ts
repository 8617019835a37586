import { describe, expect, it } from 'vitest';
import { BluetoothLinkError } from '../../../src/app/bluetooth/errors.js';
import type { LinkListener, LinkState } from '../../../src/app/bluetooth/sensor-link.js';
import { NOTIFICATION_STALL_MS } from '../../../src/core/gatt.js';
import { MIN_ATT_MTU } from '../../../src/core/framing.js';
import { CONNECT_TIMEOUT_MS, OFFLINE_AFTER_ATTEMPTS, OPERATION_TIMEOUT_MS, WebBluetoothLink } from '../../../src/app/bluetooth/web-bluetooth-link.js';
import { FakeDevice } from './fake-bluetooth.js';
import { ManualTimers } from './manual-timers.js';

/** Lets pending promise reactions run (the fake's operations resolve on microtasks). */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function setUp(options: { idlePollMs?: number } = {}) {
  const timers = new ManualTimers();
  const device = new FakeDevice();
  const fragments: number[][] = [];
  const states: [LinkState, string | undefined][] = [];
  const listener: LinkListener = {
    fragment: (_link, f) => void fragments.push([...f]),
    state: (_link, s, reason) => void states.push([s, reason]),
  };
  // Jitter pinned at its low end: delays are exactly half the cap (250, 500, 1 000 … ms).
  const link = new WebBluetoothLink(device, listener, { timers, backoff: { random: () => 0 }, idlePollMs: options.idlePollMs ?? 0 });
  /** Advances the clock in small steps, letting promises run between them. */
  const advance = async (ms: number, step = 50) => {
    for (let t = 0; t < ms; t += step) {
      timers.advance(Math.min(step, ms - t));
      await settle();
    }
  };
  return { timers, device, link, fragments, states, advance };
}

describe('WebBluetoothLink', () => {
  it('connects, subscribes to data, hands over owned copies of notifications, and writes to control in order', async () => {
    const { device, link, fragments, states } = setUp();
    await link.connect();
    expect(link.id).toBe('ble-fake-device-1');
    expect(link.deviceName).toBe('Vitalock 0A10');
    expect(link.attMtu).toBe(MIN_ATT_MTU);
    expect(states.map(([s]) => s)).toEqual(['connecting', 'connected']);
    expect(device.gatt.data?.subscribed).toBe(true);
    const shared = new Uint8Array([9, 1, 2, 3, 4]);
    device.gatt.data?.notify(shared.subarray(1));
    expect(fragments).toEqual([[1, 2, 3, 4]]);
    await Promise.all([link.write(Uint8Array.of(1)), link.write(Uint8Array.of(2)), link.write(Uint8Array.of(3))]);
    expect(device.gatt.control?.written.map((w) => w[0])).toEqual([1, 2, 3]);
  });

  it('a connect that hangs fails after the timeout with a typed error, and the attempt is aborted', async () => {
    const { device, link, advance } = setUp();
    device.gatt.connectBehaviour = 'hang';
    const attempt = link.connect();
    const outcome = attempt.catch((e: unknown) => e);
    await advance(CONNECT_TIMEOUT_MS - 100);
    expect(device.gatt.disconnectCalls).toBe(0);
    await advance(200);
    const error = await outcome;
    expect(error).toBeInstanceOf(BluetoothLinkError);
    expect((error as BluetoothLinkError).kind).toBe('connect-timeout');
    expect(device.gatt.disconnectCalls).toBe(1);
  });

  it('after a drop: reconnects by itself with backoff, fetches fresh characteristics, subscribes again', async () => {
    const { device, link, states, advance } = setUp();
    await link.connect();
    const oldControl = device.gatt.control;
    device.gatt.connectBehaviour = 'fail';
    device.gatt.drop();
    expect(link.state).toBe('reconnecting');
    await expect(link.write(Uint8Array.of(7))).rejects.toMatchObject({ kind: 'not-connected' });
    // Attempts at 250, then +500, then +1 000 ms (the low end of the jitter), all failing.
    await advance(249);
    expect(device.gatt.connectAttempts).toBe(1);
    await advance(1);
    expect(device.gatt.connectAttempts).toBe(2);
    await advance(500);
    expect(device.gatt.connectAttempts).toBe(3);
    device.gatt.connectBehaviour = 'ok';
    await advance(1_000);
    expect(device.gatt.connectAttempts).toBe(4);
    expect(link.state).toBe('connected');
    expect(device.gatt.control).not.toBe(oldControl);
    expect(device.gatt.data?.subscribed).toBe(true);
    await link.write(Uint8Array.of(8));
    expect(device.gatt.control?.written).toEqual([Uint8Array.of(8)]);
    expect(oldControl?.written).toEqual([]);
    expect(states.map(([s]) => s)).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    expect(states[2]?.[1]).toMatch(/out of range/);
    // The backoff started over: the next drop retries after the base delay again.
    device.gatt.drop();
    await advance(250);
    expect(device.gatt.connectAttempts).toBe(5);
    expect(link.state).toBe('connected');
  });

  it('out of range for long: offline after OFFLINE_AFTER_ATTEMPTS, watches advertisements, and one reconnects at once', async () => {
    const { device, link, advance } = setUp();
    await link.connect();
    device.gatt.connectBehaviour = 'fail';
    device.gatt.drop();
    await advance(250 + 500 + 1_000 + 2_000);
    expect(device.gatt.connectAttempts - 1).toBe(OFFLINE_AFTER_ATTEMPTS);
    expect(link.state).toBe('offline');
    expect(device.watching).toBe(1);
    device.gatt.connectBehaviour = 'ok';
    device.advertise();
    await advance(50);
    expect(link.state).toBe('connected');
  });

  it.each([true, false])('notifications stall: reads pull data until empty, each value delivered once (read fires the event too: %s)', async (eventOnRead) => {
    const { device, link, fragments, advance } = setUp();
    await link.connect();
    (device.gatt.data as { eventOnRead: boolean }).eventOnRead = eventOnRead;
    await link.write(Uint8Array.of(1)); // a request: data is expected now
    device.gatt.data?.readQueue.push(Uint8Array.of(1, 0, 2, 0xa), Uint8Array.of(1, 1, 2, 0xb));
    await advance(NOTIFICATION_STALL_MS - 50);
    expect(device.gatt.data?.reads).toBe(0);
    await advance(100);
    expect(device.gatt.data?.reads).toBe(3); // two fragments, then the empty read
    expect(fragments).toEqual([
      [1, 0, 2, 0xa],
      [1, 1, 2, 0xb],
    ]);
    expect(link.stats).toMatchObject({ stalls: 1, pulled: 2, notified: 0 });
    await advance(10 * NOTIFICATION_STALL_MS);
    expect(device.gatt.data?.reads).toBe(3); // settled: no idle poll in this set-up
  });

  it('an operation the stack never answers: the link is dropped and reconnected, and later writes go through', async () => {
    const { device, link, advance } = setUp();
    await link.connect();
    (device.gatt.control as { hangNext: boolean }).hangNext = true;
    const stuck = link.write(Uint8Array.of(1)).catch((e: unknown) => e);
    const queued = link.write(Uint8Array.of(2)).catch((e: unknown) => e);
    await advance(OPERATION_TIMEOUT_MS + 50);
    expect(await stuck).toMatchObject({ kind: 'gatt-failed' });
    expect(await queued).toMatchObject({ kind: 'not-connected' });
    expect(device.gatt.disconnectCalls).toBe(1);
    await advance(300);
    expect(link.state).toBe('connected');
    await link.write(Uint8Array.of(3));
    expect(device.gatt.control?.written).toEqual([Uint8Array.of(3)]);
  });

  it('close: offline for good, no more retries', async () => {
    const { device, link, advance } = setUp();
    await link.connect();
    await link.close();
    expect(link.state).toBe('offline');
    expect(device.gatt.connected).toBe(false);
    await advance(60_000, 1_000);
    expect(device.gatt.connectAttempts).toBe(1);
    await expect(link.write(Uint8Array.of(1))).rejects.toMatchObject({ kind: 'not-connected' });
  });
});
