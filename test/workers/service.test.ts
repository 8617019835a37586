/**
 * The vault service end to end in Node: keyring + encrypted store (fake-indexeddb) + pipeline,
 * with the reference sensor over an in-memory link. The same service runs in Chromium with real
 * IndexedDB in test/browser.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { deviceIdHex } from '../../src/core/certificate.js';
import { toHex } from '../../src/core/bytes.js';
import { formatSetupCode } from '../../src/core/setup-code.js';
import { SensorDevice } from '../../sensor/device.js';
import type { ViewBatch } from '../../workers/vault/pipeline.js';
import { VaultService, type VaultState } from '../../workers/vault/service.js';
import { deterministicRandom, recordingRandom } from '../support/deterministic-random.js';
import { DeviceLink } from '../support/device-link.js';
import { heartRates, manufacturedSensor } from '../support/fixtures.js';
import { driveAsync, Sim, simScheduler } from '../support/sim.js';

const CHEAP_ARGON2 = { m: 64, t: 1, p: 1 } as const;
let dbCount = 0;



async function setUp(seed: string) {
  const sim = new Sim();
  const { random, draws } = recordingRandom(seed);
  const sensorRandom = deterministicRandom(`${seed}/sensor`);
  const { identity, ca } = manufacturedSensor(sensorRandom, sim.now());
  const device = new SensorDevice({ identity, random: sensorRandom, clock: sim.now, storeCapacity: 100_000 });
  const toPage: unknown[] = [];
  const views: ViewBatch[] = [];
  const states: VaultState[] = [];
  const late: { service?: VaultService } = {};
  const link = new DeviceLink(sim, device, () => late.service!);
  const service = await VaultService.start({
    random,
    scheduler: simScheduler(sim),
    trustRoots: [{ name: ca.name, publicKey: ca.publicKey }],
    hubLabel: 'Ward 3 tablet',
    dbName: `vault-service-${dbCount++}`,
    unsafeArgon2ForTests: CHEAP_ARGON2,
    events: {
      write: (_link, fragment) => link.write(fragment),
      view: (batch) => {
        views.push(batch);
        toPage.push(batch);
      },
      vault: (state) => {
        states.push(state);
        toPage.push(state);
      },
    },
  });
  late.service = service;
  return { sim, service, device, identity, draws, toPage, views, states, connect: () => link.connect() };
}

describe('vault service', () => {
  it('first run → pair → readings stored; lock keeps recording (sealed); unlock shows the whole history', async () => {
    const t = await setUp('service-flow');
    expect(t.service.state()).toMatchObject({ exists: false, unlocked: false });
    const { recoveryCode } = await t.service.create('correct horse battery staple');
    expect(recoveryCode).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){5}$/);
    expect(t.service.state()).toMatchObject({ exists: true, unlocked: true });

    t.device.policy.openWindow(t.sim.now());
    t.connect();
    expect(t.service.pair('link-1', { setupCode: '1234-5678-4' })).toEqual({ ok: false, problem: 'trivial' });
    expect(t.service.pair('link-1', { setupCode: '1234-567' })).toEqual({ ok: false, problem: 'length' });
    expect(t.service.pair('link-1', { setupCode: formatSetupCode(t.identity.passcode) })).toEqual({ ok: true });
    expect(await driveAsync(t.sim, 5_000, () => t.views.some((v) => v.sensors.some((s) => s.state === 'open')))).toBe(true);
    const id = deviceIdHex(t.identity.deviceId);
    expect((await t.service.bonds()).map((b) => b.serial)).toEqual([t.identity.serial]);

    const start = t.sim.now();
    t.device.record(heartRates(0, 1_000, start));
    expect(await driveAsync(t.sim, 10_000, () => t.device.store.held === 0, 2)).toBe(true);

    // Locked: the stream goes on, readings are sealed to the storage key, still acknowledged.
    t.service.lock();
    expect(t.service.state().unlocked).toBe(false);
    t.device.record(heartRates(1_000, 1_000, start));
    expect(await driveAsync(t.sim, 10_000, () => t.device.store.held === 0, 2)).toBe(true);
    await expect(t.service.history(id, start, start + 1e9)).rejects.toThrow(/locked/);

    expect((await t.service.unlockWithPassphrase('wrong one')).ok).toBe(false);
    expect((await t.service.unlockWithPassphrase('correct horse battery staple')).ok).toBe(true);
    const history = await t.service.history(id, start - 1, start + 1e9);
    expect(history.map((r) => r.seq)).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
    expect(history[0]).toMatchObject({ label: 'Heart rate', unit: '/min', value: '40' });
    const log = (await t.service.securityLog()).map((e) => e.kind);
    expect(log).toEqual(expect.arrayContaining(['paired', 'locked', 'unlocked']));

    // Unlocking with the recovery code works too.
    t.service.lock();
    expect((await t.service.unlockWithRecoveryCode(recoveryCode)).ok).toBe(true);
    t.service.dispose();
  });

  it('nothing posted to the page contains key material', async () => {
    const t = await setUp('service-no-keys');
    await t.service.create('correct horse battery staple');
    t.device.policy.openWindow(t.sim.now());
    t.connect();
    t.service.pair('link-1', { setupCode: formatSetupCode(t.identity.passcode) });
    await driveAsync(t.sim, 5_000, () => t.views.some((v) => v.sensors.some((s) => s.state === 'open')));
    t.device.record(heartRates(0, 500, t.sim.now()));
    await driveAsync(t.sim, 10_000, () => t.device.store.held === 0, 2);
    const id = deviceIdHex(t.identity.deviceId);
    // Everything the page can ever receive: events, and what the API returns.
    const returned: unknown[] = [
      t.service.state(),
      await t.service.bonds(),
      await t.service.latest(id),
      await t.service.history(id, 0, Number.MAX_SAFE_INTEGER),
      await t.service.securityLog(),
    ];
    t.service.lock();
    returned.push(t.service.state());
    const posted = serialise([...t.toPage, ...returned]);
    // Every secret the worker holds comes from these draws (VK, hub identity, storage key,
    // ephemerals, salts, nonces): none of them, in any 16-byte window, may appear.
    const secrets = t.draws.filter((d) => d.length >= 16).map((d) => toHex(d).slice(0, 32));
    expect(secrets.length).toBeGreaterThan(5);
    for (const s of secrets) expect(posted.includes(s)).toBe(false);
    expect(posted).toContain(t.identity.serial); // the check would see data if it were there
    t.service.dispose();
  });
});

/** Every byte array in `value` as hex, every string as is, joined: what a leak would look like. */
function serialise(value: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) out.push(toHex(v));
    else if (typeof v === 'string') out.push(v.toLowerCase(), v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v instanceof Map) [...v.entries()].forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
    else out.push(String(v));
  };
  walk(value);
  return out.join('|');
}
