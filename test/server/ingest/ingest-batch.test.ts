/**
 * `ingestBatch` (issue 5 §7; protocol §11.4) on PGlite, and on PostgreSQL when
 * VITALOCK_TEST_DATABASE_URL is set: idempotency by batch and by record, refusals that store
 * nothing, and the provenance of every reading (verified, pending, unverified and why).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { toHex } from '../../../src/core/bytes.js';
import { issueCertificate, keyId } from '../../../src/core/certificate.js';
import { ed25519KeyPair, x25519KeyPair } from '../../../src/core/primitives.js';
import { batchRecord, sealBatch } from '../../../src/core/sealed-batch.js';
import type { Database } from '../../../server/db/database.js';
import { ingestBatch, IngestError } from '../../../server/ingest/ingest-batch.js';
import { searchObservations } from '../../../server/store/observations.js';
import * as care from '../../../server/store/care-structure.js';
import { deterministicRandom } from '../../support/deterministic-random.js';
import { describeEngines } from '../support/engines.js';
import { checkpointsOf, deployment, NOW, reading, type Deployment } from './ingest-fixture.js';

describeEngines('ingestBatch', (engine) => {
  let db: Database;
  let d: Deployment;
  beforeEach(async () => {
    db = await engine.fresh();
    d = await deployment(db, 'ingest-batch');
  });
  afterEach(() => engine.dispose(db));

  const provenanceOf = async (): Promise<Map<number, string>> => {
    const r = await db.query<{ seq: string; provenance: string }>('SELECT seq::text, provenance FROM observations ORDER BY seq');
    return new Map(r.rows.map((x) => [Number(x.seq), x.provenance]));
  };

  it('stores every reading of a batch, encrypted, and verifies the spans its checkpoints close', async () => {
    const answer = await ingestBatch(db, d.deps, d.seal(0, 250));
    expect(answer).toMatchObject({ accepted: 250, duplicates: 0, provenance: { verified: 200, pending: 50, unverified: 0, reasons: {} } });
    const stored = await searchObservations(db, d.deps.keyring, { patientId: d.patientId, offset: 0, limit: 1000 });
    expect(stored.total).toBe(250);
    expect(stored.observations[9]!.record).toEqual(reading(10));
    const p = await provenanceOf();
    expect([p.get(200), p.get(201)]).toEqual(['verified', 'unverified']);
    // No reading value is stored in clear.
    const raw = await db.query<{ value: Uint8Array }>('SELECT value FROM observations WHERE seq = 10');
    expect(toHex(new Uint8Array(raw.rows[0]!.value))).not.toContain(toHex(d.sensor.records[9]!.bytes));
  });

  it('the same batch twice: the same answer, nothing stored twice', async () => {
    const sealed = d.seal(0, 120);
    const first = await ingestBatch(db, d.deps, sealed);
    const again = await ingestBatch(db, d.deps, sealed);
    expect(again).toEqual(first);
    expect(await d.count('observations')).toBe(120);
    expect(await d.count('ingest_batches')).toBe(1);
  });

  it('a reading already stored from another batch is counted as a duplicate, not stored again', async () => {
    await ingestBatch(db, d.deps, d.seal(0, 150));
    const answer = await ingestBatch(db, d.deps, d.seal(100, 220));
    expect(answer).toMatchObject({ accepted: 70, duplicates: 50, provenance: { verified: 100, pending: 20 } });
    expect(await d.count('observations')).toBe(220);
    expect((await provenanceOf()).get(150)).toBe('verified');
  });

  it('concurrent deliveries of one batch: one stores, all get the same answer', async () => {
    const sealed = d.seal(0, 300);
    const answers = await Promise.all(Array.from({ length: 5 }, () => ingestBatch(db, d.deps, sealed)));
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0]).toMatchObject({ accepted: 300, duplicates: 0 });
    expect(await d.count('observations')).toBe(300);
  });

  it('concurrent overlapping batches of one device: every reading once, the whole chain verified', async () => {
    const batches = [d.seal(0, 200), d.seal(150, 350), d.seal(300, 500), d.seal(0, 500)];
    const answers = await Promise.all(batches.map((b) => ingestBatch(db, d.deps, b)));
    expect(answers.reduce((n, a) => n + a.accepted, 0)).toBe(500);
    expect(await d.count('observations')).toBe(500);
    expect([...(await provenanceOf()).values()].every((p) => p === 'verified')).toBe(true);
  });

  it('batches out of order: stored and pending beyond the gap, verified once it fills', async () => {
    const late = await ingestBatch(db, d.deps, d.seal(150, 300));
    expect(late).toMatchObject({ accepted: 150, provenance: { verified: 0, pending: 150 } });
    expect([...(await provenanceOf()).values()].every((p) => p === 'unverified')).toBe(true);
    const early = await ingestBatch(db, d.deps, d.seal(0, 150));
    expect(early.provenance).toMatchObject({ verified: 150, pending: 0 });
    expect([...(await provenanceOf()).values()].filter((p) => p === 'verified')).toHaveLength(300);
    const chain = await db.query<{ frontier_seq: string }>('SELECT frontier_seq::text FROM ingest_chains');
    expect(chain.rows).toEqual([{ frontier_seq: '300' }]);
  });

  it('a tampered batch is refused whole and stores nothing', async () => {
    const sealed = d.seal(0, 50);
    sealed[sealed.length - 20]! ^= 1;
    await expect(ingestBatch(db, d.deps, sealed)).rejects.toMatchObject({ code: 'not-authentic' });
    await expect(ingestBatch(db, d.deps, sealed.subarray(0, 30))).rejects.toMatchObject({ code: 'malformed' });
    expect(await d.count('observations')).toBe(0);
    expect(await d.count('ingest_batches')).toBe(0);
  });

  it('a batch sealed to a key the server does not hold is refused (unknown key; a forged key id does not open)', async () => {
    const random = deterministicRandom('wrong key');
    const other = x25519KeyPair(random);
    const batch = { batchId: random(16), hubId: random(16), createdAtMs: NOW.getTime(), deviceId: d.sensor.deviceId, certificate: d.sensor.certificate, records: d.sensor.records.slice(0, 5), checkpoints: [] };
    await expect(ingestBatch(db, d.deps, sealBatch({ keyId: keyId(other.publicKey), publicKey: other.publicKey }, batch, random))).rejects.toMatchObject({ code: 'unknown-key' });
    const forgedId = sealBatch({ keyId: keyId(d.ingestion.publicKey), publicKey: other.publicKey }, batch, random);
    await expect(ingestBatch(db, d.deps, forgedId)).rejects.toBeInstanceOf(IngestError);
    expect(await d.count('observations')).toBe(0);
  });

  it('a certificate from an unknown issuer: stored, every reading unverified and why', async () => {
    const rogue = ed25519KeyPair(deterministicRandom('rogue ca'));
    const cert = issueCertificate(rogue.secretKey, {
      deviceId: d.sensor.deviceId,
      model: 'VL-M1',
      serial: 'SN-X',
      staticKey: x25519KeyPair(deterministicRandom('rogue')).publicKey,
      signingKey: d.sensor.signing.publicKey,
      notBefore: 1,
      notAfter: 2_000_000_000,
    }).bytes;
    const answer = await ingestBatch(db, d.deps, d.seal(0, 150, (b) => ({ ...b, certificate: cert })));
    expect(answer).toMatchObject({ accepted: 150, provenance: { verified: 0, pending: 0, unverified: 150, reasons: { 'certificate-unknown-issuer': 150 } } });
    expect(await d.count('ingest_checkpoints')).toBe(0);
  });

  it('a forged checkpoint does not count: its readings stay unverified', async () => {
    const forger = ed25519KeyPair(deterministicRandom('forger'));
    const answer = await ingestBatch(
      db,
      d.deps,
      d.seal(0, 100, (b) => ({ ...b, checkpoints: b.checkpoints.map((c) => ({ ...c, signature: checkpointsOf({ ...d.sensor, signing: forger }, 0, 100)[0]!.signature })) })),
    );
    expect(answer.provenance).toMatchObject({ verified: 0, unverified: 100, reasons: { 'checkpoint-signature': 100 } });
    expect(await d.count('ingest_checkpoints')).toBe(0);
  });

  it('an altered reading breaks its span only: chain-mismatch there, the next span verifies', async () => {
    const answer = await ingestBatch(
      db,
      d.deps,
      d.seal(0, 300, (b) => ({ ...b, records: b.records.map((r) => (r.record.seq === 150 ? batchRecord(reading(150, 42)) : r)) })),
    );
    expect(answer.provenance).toEqual({ verified: 200, pending: 0, unverified: 100, reasons: { 'chain-mismatch': 100 } });
    const p = await provenanceOf();
    expect([p.get(100), p.get(101), p.get(200), p.get(201), p.get(300)]).toEqual(['verified', 'unverified', 'unverified', 'verified', 'verified']);
  });

  it('a device assigned to nobody is refused; the hub keeps the batch', async () => {
    await care.linkDevice(db, d.sensor.hex, null);
    await expect(ingestBatch(db, d.deps, d.seal(0, 10))).rejects.toMatchObject({ code: 'device-unassigned' });
    expect(await d.count('ingest_batches')).toBe(0);
  });
});
