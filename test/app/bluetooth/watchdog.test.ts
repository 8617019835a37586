import { describe, expect, it } from 'vitest';
import { NOTIFICATION_STALL_MS } from '../../../src/core/gatt.js';
import { IDLE_POLL_MS, NotificationWatchdog, type PullReason } from '../../../src/app/bluetooth/watchdog.js';
import { ManualTimers } from './manual-timers.js';

/** Without the idle poll, to see the stall logic alone. */
function setUp() {
  const timers = new ManualTimers();
  let stalls = 0;
  const watchdog = new NotificationWatchdog(timers, () => stalls++, NOTIFICATION_STALL_MS, 0);
  return { timers, watchdog, stalls: () => stalls };
}

describe('NotificationWatchdog (§2.1: no notification for 2 s while data is expected → pull)', () => {
  it('is quiet until data is expected', () => {
    const { timers, watchdog, stalls } = setUp();
    timers.advance(60_000);
    expect(stalls()).toBe(0);
    expect(watchdog.armed).toBe(false);
  });

  it('fires NOTIFICATION_STALL_MS after a write with no notification, once', () => {
    const { timers, watchdog, stalls } = setUp();
    watchdog.expect();
    timers.advance(NOTIFICATION_STALL_MS - 1);
    expect(stalls()).toBe(0);
    timers.advance(1);
    expect(stalls()).toBe(1);
    expect(watchdog.stallCount).toBe(1);
    timers.advance(60_000);
    expect(stalls()).toBe(1); // disarmed until the next expect/notification
  });

  it('each notification restarts the wait: a steady stream never stalls', () => {
    const { timers, watchdog, stalls } = setUp();
    watchdog.expect();
    for (let i = 0; i < 100; i++) {
      timers.advance(NOTIFICATION_STALL_MS - 100);
      watchdog.notified();
    }
    expect(stalls()).toBe(0);
    timers.advance(NOTIFICATION_STALL_MS);
    expect(stalls()).toBe(1); // the stream stopped: one check
  });

  it('settle (an empty pull) and stop disarm it; only one timer is ever pending', () => {
    const { timers, watchdog, stalls } = setUp();
    watchdog.expect();
    watchdog.expect();
    watchdog.notified();
    expect(timers.scheduled).toBe(1);
    watchdog.settle();
    expect(timers.scheduled).toBe(0);
    timers.advance(10_000);
    expect(stalls()).toBe(0);
    watchdog.notified();
    watchdog.stop();
    timers.advance(10_000);
    expect(stalls()).toBe(0);
  });

  it('can be re-armed from its own stall callback (the link pulls, then keeps watching)', () => {
    const timers = new ManualTimers();
    let stalls = 0;
    const watchdog: NotificationWatchdog = new NotificationWatchdog(
      timers,
      () => {
        stalls++;
        if (stalls < 3) watchdog.expect();
      },
      NOTIFICATION_STALL_MS,
      0,
    );
    watchdog.expect();
    timers.advance(10 * NOTIFICATION_STALL_MS);
    expect(stalls).toBe(3);
    expect(watchdog.armed).toBe(false);
  });

  it('a settled link is still polled every IDLE_POLL_MS (a stall that began while idle), and stop ends that too', () => {
    const timers = new ManualTimers();
    const pulls: PullReason[] = [];
    const watchdog = new NotificationWatchdog(timers, (reason) => {
      pulls.push(reason);
      watchdog.settle(); // each pull finds the queue empty
    });
    watchdog.expect();
    timers.advance(NOTIFICATION_STALL_MS);
    expect(pulls).toEqual(['stall']);
    timers.advance(3 * IDLE_POLL_MS);
    expect(pulls).toEqual(['stall', 'idle-poll', 'idle-poll', 'idle-poll']);
    expect(watchdog.stallCount).toBe(1); // idle polls are not stalls
    watchdog.notified(); // data again: back to the short stall timer
    timers.advance(NOTIFICATION_STALL_MS);
    expect(pulls.at(-1)).toBe('stall');
    watchdog.stop();
    timers.advance(10 * IDLE_POLL_MS);
    expect(pulls).toHaveLength(5);
  });
});
