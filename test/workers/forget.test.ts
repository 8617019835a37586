/**
 * Forgetting a sensor removes the bond on both sides (protocol §8 UNBOND; vault service
 * `forget`): over the open session when connected, or on the sensor's next connection when it
 * is away — the bond stays marked until then, so the sensor never keeps a bond to a hub that no
 * longer knows it. Node, fake-indexeddb, the reference sensor over an in-memory link.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { deviceIdHex } from '../../src/core/certificate.js';
import { formatSetupCode } from '../../src/core/setup-code.js';
import { SensorDevice } from '../../sensor/device.js';
import type { ViewBatch } from '../../workers/vault/pipeline.js';
import { VaultService } from '../../workers/vault/service.js';
import { deterministicRandom } from '../support/deterministic-random.js';
import { DeviceLink } from '../support/device-link.js';
import { heartRates, manufacturedSensor } from '../support/fixtures.js';
import { driveAsync, Sim, simScheduler } from '../support/sim.js';

const CHEAP_ARGON2 = { m: 64, t: 1, p: 1 } as const;
let dbCount = 0;

async function pairedSensor(seed: string) {
  const sim = new Sim();
  const sensorRandom = deterministicRandom(`${seed}/sensor`);
  const { identity, ca } = manufacturedSensor(sensorRandom, sim.now());
  const device = new SensorDevice({ identity, random: sensorRandom, clock: sim.now, storeCapacity: 10_000 });
  const views: ViewBatch[] = [];
  const late: { service?: VaultService } = {};
  const link = new DeviceLink(sim, device, () => late.service!);
  const service = await VaultService.start({
    random: deterministicRandom(seed),
    scheduler: simScheduler(sim),
    trustRoots: [{ name: ca.name, publicKey: ca.publicKey }],
    hubLabel: 'Ward 3 tablet',
    dbName: `vault-forget-${dbCount++}`,
    unsafeArgon2ForTests: CHEAP_ARGON2,
    events: { write: (_l, f) => link.write(f), view: (b) => void views.push(b), vault: () => undefined },
  });
  late.service = service;
  await service.create('correct horse battery staple');
  device.policy.openWindow(sim.now());
  link.connect();
  expect(service.pair('link-1', { setupCode: formatSetupCode(identity.passcode) })).toEqual({ ok: true });
  const linkState = () => views.flatMap((v) => v.sensors).filter((s) => s.link === 'link-1').at(-1)?.state;
  expect(await driveAsync(sim, 5_000, () => linkState() === 'open')).toBe(true);
  expect(device.bonds.size).toBe(1);
  const id = deviceIdHex(identity.deviceId);
  return { sim, service, device, link, views, id, linkState };
}

describe('forget a sensor (UNBOND)', () => {
  it('connected: UNBOND goes over the session, the sensor drops its bond, then the vault does', async () => {
    const t = await pairedSensor('forget-connected');
    t.device.record(heartRates(0, 20, t.sim.now()));
    expect(await driveAsync(t.sim, 5_000, () => t.device.store.held === 0)).toBe(true);
    const unbonded: unknown[] = [];
    t.device.onEvent((e) => e.type === 'unbonded' && unbonded.push(e));

    expect(await t.service.forget(t.id)).toBe('unbonded');
    await driveAsync(t.sim, 1_000, () => unbonded.length > 0);
    expect(unbonded).toHaveLength(1);
    expect(t.device.bonds.size).toBe(0);
    expect(await t.service.bonds()).toEqual([]);
    // The readings stay in the vault.
    expect((await t.service.history(t.id, 0, Number.MAX_SAFE_INTEGER)).length).toBe(20);
    expect((await t.service.securityLog()).map((e) => e.kind)).toContain('unbonded');
    t.service.dispose();
  });

  it('offline: the bond is marked; the next connection sends UNBOND, then both sides forget', async () => {
    const t = await pairedSensor('forget-offline');
    t.link.disconnect();
    t.service.closeLink('link-1');
    expect(await t.service.forget(t.id)).toBe('pending');
    // Still known (marked), so the next connection can authenticate and carry the UNBOND.
    expect(await t.service.bonds()).toEqual([expect.objectContaining({ deviceId: t.id, forgetting: true })]);
    expect(t.device.bonds.size).toBe(1);

    t.link.connect();
    expect(await t.service.reconnect('link-1', t.id)).toBe(true);
    expect(await driveAsync(t.sim, 5_000, () => t.device.bonds.size === 0)).toBe(true);
    await driveAsync(t.sim, 100, () => false);
    expect(await t.service.bonds()).toEqual([]);
    // Nothing left to reconnect to.
    expect(await t.service.reconnect('link-1', t.id)).toBe(false);
    t.service.dispose();
  });

  it('an unknown sensor is reported, not invented', async () => {
    const t = await pairedSensor('forget-unknown');
    expect(await t.service.forget('0011223344556677')).toBe('unknown');
    expect(await t.service.bonds()).toHaveLength(1);
    t.service.dispose();
  });

  it('naming a sensor and assigning it to a patient is kept with the bond', async () => {
    const t = await pairedSensor('name-sensor');
    await t.service.nameSensor(t.id, 'Bed 4 monitor', 'Patient/42');
    expect(await t.service.bonds()).toEqual([expect.objectContaining({ name: 'Bed 4 monitor', patient: 'Patient/42' })]);
    await t.service.nameSensor(t.id, 'Bed 5');
    const [bond] = await t.service.bonds();
    expect(bond?.name).toBe('Bed 5');
    expect(bond?.patient).toBeUndefined();
    await expect(t.service.nameSensor('0011223344556677', 'x')).rejects.toThrow(/no such sensor/);
    t.service.dispose();
  });
});
