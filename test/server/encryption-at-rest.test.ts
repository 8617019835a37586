/**
 * Encryption at rest (issue 5 §5), on both engines: stored values are XChaCha20-Poly1305 boxes
 * (no reading in clear in the row), bound to their row and patient (a value moved to another row
 * does not open), under per-patient keys wrapped by the master key; rotation rewraps the keys
 * without touching the data, is resumable, re-signs the audit head, and the old key stops working.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PatientKeyring } from '../../server/crypto/patient-keys.js';
import { generateMasterKey, LocalKeyProvider, parseMasterKey, formatMasterKey } from '../../server/crypto/key-provider.js';
import { rotateMasterKey } from '../../server/crypto/rotate-keys.js';
import { verifyAuditChain } from '../../server/audit/verify.js';
import { AuditLog } from '../../server/audit/audit-log.js';
import { searchObservations, storeObservations } from '../../server/store/observations.js';
import { encodeRecordBytes } from '../../src/core/readings.js';
import { describeEngines } from './support/engines.js';
import { buildWorld, DEVICE_ID, temperature, T0, type World } from './support/world.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describeEngines('encryption at rest and key rotation', (engine) => {
  let world: World;
  beforeAll(async () => {
    world = await buildWorld(await engine.fresh());
  });
  afterAll(async () => {
    await world.app.close();
    await engine.dispose(world.db);
  });

  it('rows hold sealed values only: no encoded reading appears in clear', async () => {
    const rows = (await world.db.query<{ seq: string; value: Uint8Array }>('SELECT seq::text AS seq, value FROM observations WHERE patient_id = $1', [world.patientId])).rows;
    expect(rows).toHaveLength(30);
    for (const row of rows) {
      const record = world.readings.find((r) => r.seq === Number(row.seq))!;
      const plain = hex(encodeRecordBytes(record));
      expect(hex(new Uint8Array(row.value))).not.toContain(plain.slice(0, 24));
      expect(row.value.length).toBe(24 + encodeRecordBytes(record).length + 16);
    }
    const keys = (await world.db.query<{ wrapped: Uint8Array; master_key_id: string }>('SELECT wrapped, master_key_id FROM patient_keys WHERE patient_id = $1', [world.patientId])).rows;
    expect(keys).toHaveLength(1);
    expect(keys[0]?.master_key_id).toBe(world.keys.keyId);
    expect(keys[0]?.wrapped.length).toBe(24 + 32 + 16);
  });

  it('a value copied onto another row, or the key onto another patient, does not open', async () => {
    const rows = (await world.db.query<{ value: Uint8Array }>('SELECT value FROM observations WHERE device_id = $1 AND seq IN (1, 4) ORDER BY observations.seq', [DEVICE_ID])).rows;
    await world.db.query('UPDATE observations SET value = $1 WHERE device_id = $2 AND seq = 4', [rows[0]!.value, DEVICE_ID]);
    try {
      await expect(searchObservations(world.db, new PatientKeyring(world.keys), { patientId: world.patientId, offset: 0, limit: 100 })).rejects.toThrow(/failed authentication/);
      const res = await world.as('clinicianCare', { url: `/api/patients/${world.patientId}/observations`, purpose: 'TREAT' });
      expect(res.statusCode).toBe(500);
    } finally {
      await world.db.query('UPDATE observations SET value = $1 WHERE device_id = $2 AND seq = 4', [rows[1]!.value, DEVICE_ID]);
    }
    const other = await world.db.query<{ wrapped: Uint8Array }>('SELECT wrapped FROM patient_keys WHERE patient_id = $1', [world.patientId]);
    await expect(world.keys.unwrap(new Uint8Array(other.rows[0]!.wrapped), `patient-key/${world.otherPatientId}`)).rejects.toThrow(/did not open/);
    await expect(new LocalKeyProvider(generateMasterKey()).unwrap(new Uint8Array(other.rows[0]!.wrapped), `patient-key/${world.patientId}`)).rejects.toThrow();
  });

  it('storing is idempotent by record id', async () => {
    const keyring = new PatientKeyring(world.keys);
    const again = await world.db.transaction((tx) => storeObservations(tx, keyring, world.patientId, [{ deviceId: DEVICE_ID, record: temperature(1, T0), provenance: 'verified' }]));
    expect(again).toBe(0);
    const fresh = await world.db.transaction((tx) => storeObservations(tx, keyring, world.patientId, [{ deviceId: DEVICE_ID, record: temperature(1000, T0), provenance: 'verified' }]));
    expect(fresh).toBe(1);
  });

  it('rotation rewraps every data key, leaves the data as is, re-signs the audit head; the old key stops working', async () => {
    await new AuditLog(world.db, world.keys).append({ actor: 'system', action: 'test.mark', resource: 'x', decision: 'success' });
    const before = (await world.db.query<{ value: Uint8Array }>('SELECT value FROM observations ORDER BY device_id, observations.seq')).rows.map((r) => hex(new Uint8Array(r.value)));
    const next = new LocalKeyProvider(generateMasterKey());
    const result = await rotateMasterKey(world.db, world.keys, next);
    expect(result.rewrapped).toBe(1);
    const after = (await world.db.query<{ value: Uint8Array }>('SELECT value FROM observations ORDER BY device_id, observations.seq')).rows.map((r) => hex(new Uint8Array(r.value)));
    expect(after).toEqual(before);
    const page = await searchObservations(world.db, new PatientKeyring(next), { patientId: world.patientId, offset: 0, limit: 100 });
    expect(page.observations.map((o) => o.record)).toEqual(expect.arrayContaining([...world.readings]));
    await expect(searchObservations(world.db, new PatientKeyring(world.keys), { patientId: world.patientId, offset: 0, limit: 5 })).rejects.toThrow(/did not open/);
    expect(await verifyAuditChain(world.db, next)).toMatchObject({ ok: true });
    expect((await verifyAuditChain(world.db, world.keys)).ok).toBe(false);
    // Running it again finishes nothing twice (resumable); rotating back works too.
    expect(await rotateMasterKey(world.db, world.keys, next)).toMatchObject({ rewrapped: 0, alreadyRotated: 1 });
    expect((await rotateMasterKey(world.db, next, world.keys)).rewrapped).toBe(1);
    expect(await verifyAuditChain(world.db, world.keys)).toMatchObject({ ok: true });
  });

  it('rotation refuses to re-sign a tampered audit head', async () => {
    await world.db.query('UPDATE audit_head SET mac = $1 WHERE id = 1', [new Uint8Array(32)]);
    await expect(rotateMasterKey(world.db, world.keys, new LocalKeyProvider(generateMasterKey()))).rejects.toThrow(/audit head/);
    const keyId = (await world.db.query<{ master_key_id: string }>('SELECT master_key_id FROM patient_keys WHERE patient_id = $1', [world.patientId])).rows[0]?.master_key_id;
    expect(keyId).toBe(world.keys.keyId);
  });

  it('master keys parse from hex or base64 and nothing else', () => {
    const key = generateMasterKey();
    expect(parseMasterKey(formatMasterKey(key))).toEqual(key);
    expect(parseMasterKey(hex(key))).toEqual(key);
    expect(parseMasterKey(Buffer.from(key).toString('base64'))).toEqual(key);
    for (const bad of ['', 'abc', hex(key).slice(2), hex(key) + '00', 'z'.repeat(64)]) expect(() => parseMasterKey(bad)).toThrow(RangeError);
  });
});
