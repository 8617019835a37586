// SyncService (workers/sync/sync-service.ts): sync never starts by itself, and only one window
// syncs at a time — a second one waits for the lock and takes over when the first stops.
import { describe, expect, it } from 'vitest';
import type { AuthStorage } from '../../../workers/sync/auth.js';
import { SyncService } from '../../../workers/sync/sync-service.js';
import { realScheduler } from '../../../workers/vault/scheduler.js';

const storage: AuthStorage = {
  loadKeyPair: async () => undefined,
  saveKeyPair: async () => undefined,
  deleteKeyPair: async () => undefined,
  saveRefreshToken: async () => undefined,
  loadRefreshToken: async () => undefined,
  deleteRefreshToken: async () => undefined,
};

/** A Web Lock stand-in: one holder, the rest queue in order. */
function fakeLock() {
  let tail: Promise<unknown> = Promise.resolve();
  return (hold: () => Promise<void>) => {
    const run = tail.then(hold);
    tail = run;
    return run;
  };
}

function service(exclusive?: (hold: () => Promise<void>) => Promise<unknown>) {
  let fetched = 0;
  const sync = new SyncService({
    origin: 'https://cloud.example',
    outbox: { take: async () => [], ack: async () => undefined, stats: async () => ({ pending: 0 }) },
    storage,
    scheduler: realScheduler(),
    random: Math.random,
    fetch: async () => {
      fetched++;
      throw new TypeError('offline');
    },
    ...(exclusive !== undefined ? { exclusive } : {}),
  });
  return { sync, fetched: () => fetched };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('sync service', () => {
  it('does nothing until started, and is signed out without a stored session', async () => {
    const { sync, fetched } = service();
    await tick();
    expect(sync.view()).toMatchObject({ enabled: false, otherWindowSyncing: false, auth: { status: 'signed-out' }, upload: { status: 'stopped' } });
    expect(fetched()).toBe(0);
    await sync.start();
    expect(sync.view().enabled).toBe(true);
    expect(sync.uploader.isRunning).toBe(true);
    sync.stop();
    expect(sync.uploader.isRunning).toBe(false);
  });

  it('one window syncs at a time; the next takes over when it stops', async () => {
    const lock = fakeLock();
    const a = service(lock).sync;
    const b = service(lock).sync;
    await a.start();
    await tick();
    await b.start();
    await tick();
    expect(a.uploader.isRunning).toBe(true);
    expect(b.uploader.isRunning).toBe(false);
    expect(b.view().otherWindowSyncing).toBe(true);
    a.stop();
    await tick();
    expect(b.uploader.isRunning).toBe(true);
    expect(b.view().otherWindowSyncing).toBe(false);
    // A window that stopped while waiting lets the lock go as soon as it gets it.
    const c = service(lock).sync;
    await c.start();
    c.stop();
    b.stop();
    await tick();
    expect(c.uploader.isRunning).toBe(false);
    await a.start();
    await tick();
    expect(a.uploader.isRunning).toBe(true);
    a.dispose();
  });
});
