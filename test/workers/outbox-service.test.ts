/**
 * The sealed outbox through the whole worker path (issue 6 §1): the reference sensor streams to
 * the vault service over an in-memory link; every stored chunk leaves a sealed batch in the outbox,
 * locked or not. Opening the batches with the cloud's ingestion secret key gives back every
 * reading exactly once, with checkpoints that verify against the sensor's chain.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { decodeCertificate } from '../../src/core/certificate.js';
import { RecordChain, verifyCheckpoint, type Checkpoint } from '../../src/core/checkpoint.js';
import { equalBytes } from '../../src/core/bytes.js';
import { issueIngestionKeyList } from '../../src/core/ingestion-keys.js';
import { ed25519KeyPair, x25519KeyPair } from '../../src/core/primitives.js';
import { openSealedBatch, type BatchRecord } from '../../src/core/sealed-batch.js';
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

async function setUp(seed: string, keyList?: (deploymentSecret: Uint8Array, ingestionPublic: Uint8Array, nowS: number) => Uint8Array, dbName?: string) {
  const sim = new Sim();
  const random = deterministicRandom(seed);
  const sensorRandom = deterministicRandom(`${seed}/sensor`);
  const { identity, ca } = manufacturedSensor(sensorRandom, sim.now());
  const device = new SensorDevice({ identity, random: sensorRandom, clock: sim.now, storeCapacity: 100_000 });
  const deployment = ed25519KeyPair(random);
  const ingestion = x25519KeyPair(random);
  const nowS = Math.floor(sim.now() / 1000);
  const list = (keyList ?? ((d, p, n) => issueIngestionKeyList(d, 1, [{ publicKey: p, notBefore: n - 60, notAfter: n + 86_400 }])))(deployment.secretKey, ingestion.publicKey, nowS);
  const views: ViewBatch[] = [];
  const late: { service?: VaultService } = {};
  const link = new DeviceLink(sim, device, () => late.service!);
  const service = await VaultService.start({
    random,
    scheduler: simScheduler(sim),
    trustRoots: [{ name: ca.name, publicKey: ca.publicKey }],
    hubLabel: 'Ward 3 tablet',
    dbName: dbName ?? `outbox-service-${dbCount++}`,
    unsafeArgon2ForTests: CHEAP_ARGON2,
    ingestion: { keyList: list, deploymentPublicKey: deployment.publicKey },
    events: { write: (_l, fragment) => link.write(fragment), view: (b) => views.push(b), vault: () => undefined },
  });
  late.service = service;
  return { sim, service, device, identity, ingestion, deployment, views, connect: () => link.connect() };
}

type Setup = Awaited<ReturnType<typeof setUp>>;

async function pairAndStream(t: Setup, count: number): Promise<void> {
  await t.service.create('correct horse battery staple');
  t.device.policy.openWindow(t.sim.now());
  t.connect();
  expect(t.service.pair('link-1', { setupCode: formatSetupCode(t.identity.passcode) })).toEqual({ ok: true });
  expect(await driveAsync(t.sim, 5_000, () => t.views.some((v) => v.sensors.some((s) => s.state === 'open')))).toBe(true);
  t.device.record(heartRates(0, count, t.sim.now()));
  expect(await driveAsync(t.sim, 20_000, () => t.device.store.held === 0, 2)).toBe(true);
}

async function openAll(t: Setup): Promise<{ records: BatchRecord[]; checkpoints: Checkpoint[]; certificate: Uint8Array }> {
  const entries = await t.service.takeOutbox(100_000);
  const batches = entries.map((e) => openSealedBatch(e.sealed, t.ingestion.secretKey));
  return {
    records: batches.flatMap((b) => b.records),
    checkpoints: batches.flatMap((b) => b.checkpoints),
    certificate: batches[0]!.certificate,
  };
}

describe('the outbox behind the pipeline', () => {
  it('every reading reaches the outbox once, with checkpoints that verify; locked too; ack drains it', async () => {
    const t = await setUp('outbox-flow');
    await pairAndStream(t, 700);
    t.service.lock();
    t.device.record(heartRates(700, 600, t.sim.now()));
    expect(await driveAsync(t.sim, 20_000, () => t.device.store.held === 0, 2)).toBe(true);

    // Locked: the uploader's API still works and the batches still open (with the cloud's key).
    const stats = await t.service.outboxStats();
    expect(stats.pending).toBeGreaterThan(1);
    const { records, checkpoints, certificate } = await openAll(t);
    expect(records.map((r) => r.record.seq)).toEqual(Array.from({ length: 1300 }, (_, i) => i + 1));
    expect(equalBytes(certificate, t.identity.certificate)).toBe(true);

    // The chain recomputed from the batches' record bytes matches every signed checkpoint.
    expect(checkpoints.map((c) => c.seq)).toEqual(Array.from({ length: 13 }, (_, i) => (i + 1) * 100));
    const signingKey = decodeCertificate(certificate).signingKey;
    const chain = new RecordChain(t.identity.deviceId);
    const heads = new Map<number, Uint8Array>();
    for (const r of records) heads.set(r.record.seq, chain.append(r.bytes));
    for (const c of checkpoints) {
      expect(verifyCheckpoint(signingKey, t.identity.deviceId, c)).toBe(true);
      expect(equalBytes(heads.get(c.seq)!, c.head)).toBe(true);
    }

    const all = await t.service.takeOutbox(100_000);
    expect(all.map((e) => e.createdAtMs)).toEqual([...all.map((e) => e.createdAtMs)].sort((a, b) => a - b));
    await t.service.recordOutboxAttempt([all[0]!.batchId]);
    expect((await t.service.takeOutbox(1))[0]).toMatchObject({ batchId: all[0]!.batchId, attempts: 1 });
    await t.service.ackOutbox(all.slice(0, 3).map((e) => e.batchId));
    expect((await t.service.outboxStats()).pending).toBe(all.length - 3);
    await t.service.ackOutbox(all.map((e) => e.batchId));
    expect(await t.service.outboxStats()).toEqual({ pending: 0 });
    t.service.dispose();
  });

  it('a key list that fails verification leaves readings on the device only, and says so', async () => {
    const forged = ed25519KeyPair(deterministicRandom('forger'));
    const t = await setUp('outbox-forged', (_d, p, n) => issueIngestionKeyList(forged.secretKey, 1, [{ publicKey: p, notBefore: n - 60, notAfter: n + 86_400 }]));
    await pairAndStream(t, 200);
    expect(await t.service.outboxStats()).toEqual({ pending: 0 });
    const log = await t.service.securityLog();
    expect(log.map((e) => e.kind)).toContain('ingestion-keys-bad-signature');
    t.service.dispose();
  });
});
