/**
 * Observations at rest (issue 5 §2, §5): one row per reading. The whole reading record (value,
 * unit, flags, as the sensor encoded it — src/core/readings.ts) is sealed under the patient's data
 * key; patient, device, sequence, code and time stay in clear for search. Writes are idempotent
 * by record id (device id + sequence): a reading sent twice is stored once.
 */
import { decodeRecordBytes, encodeRecordBytes, type ReadingRecord } from '../../src/core/readings.js';
import type { Queryable } from '../db/database.js';
import type { PatientKeyring } from '../crypto/patient-keys.js';
import { openObservationValue, sealObservationValue } from '../crypto/observation-cipher.js';

export type Provenance = 'verified' | 'unverified';

export interface IncomingReading {
  readonly deviceId: string;
  readonly record: ReadingRecord;
  readonly provenance: Provenance;
}

export interface StoredObservation {
  readonly deviceId: string;
  readonly patientId: string;
  readonly record: ReadingRecord;
  readonly provenance: Provenance;
  readonly receivedAt: Date;
}

const COLUMNS = 7;
const ROWS_PER_STATEMENT = 1000;

/** Stores readings for one patient; returns how many were new. Run it inside a transaction. */
export async function storeObservations(tx: Queryable, keyring: PatientKeyring, patientId: string, readings: readonly IncomingReading[]): Promise<number> {
  if (readings.length === 0) return 0;
  const key = await keyring.keyFor(tx, patientId);
  let inserted = 0;
  for (let start = 0; start < readings.length; start += ROWS_PER_STATEMENT) {
    const slice = readings.slice(start, start + ROWS_PER_STATEMENT);
    const params: (string | number | Date | Uint8Array)[] = [];
    const tuples: string[] = [];
    slice.forEach((r, i) => {
      const b = i * COLUMNS;
      tuples.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7})`);
      const sealed = sealObservationValue(key, { deviceId: r.deviceId, seq: r.record.seq, patientId }, encodeRecordBytes(r.record));
      params.push(r.deviceId, r.record.seq, patientId, r.record.code, new Date(r.record.timeMs), sealed, r.provenance);
    });
    const result = await tx.query(
      `INSERT INTO observations (device_id, seq, patient_id, code, observed_at, value, provenance) VALUES ${tuples.join(', ')} ON CONFLICT (device_id, seq) DO NOTHING`,
      params,
    );
    inserted += result.rowCount;
  }
  return inserted;
}

export interface ObservationQuery {
  readonly patientId: string;
  readonly codes?: readonly number[];
  readonly from?: Date;
  readonly to?: Date;
  readonly offset: number;
  readonly limit: number;
}

interface ObservationRow {
  device_id: string;
  seq: string;
  patient_id: string;
  value: Uint8Array;
  provenance: Provenance;
  received_at: Date;
}

function whereClause(q: ObservationQuery): { sql: string; params: (string | Date | readonly number[])[] } {
  const params: (string | Date | readonly number[])[] = [q.patientId];
  let sql = 'patient_id = $1';
  if (q.codes !== undefined && q.codes.length > 0) {
    params.push(q.codes);
    sql += ` AND code = ANY($${params.length}::int[])`;
  }
  if (q.from !== undefined) {
    params.push(q.from);
    sql += ` AND observed_at >= $${params.length}`;
  }
  if (q.to !== undefined) {
    params.push(q.to);
    sql += ` AND observed_at <= $${params.length}`;
  }
  return { sql, params };
}

/** One page of a patient's observations, oldest first, decrypted; and the total that match. */
export async function searchObservations(db: Queryable, keyring: PatientKeyring, q: ObservationQuery): Promise<{ total: number; observations: StoredObservation[] }> {
  const { sql, params } = whereClause(q);
  const total = Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM observations WHERE ${sql}`, params)).rows[0]?.n ?? 0);
  if (total === 0 || q.limit === 0) return { total, observations: [] };
  const rows = await db.query<ObservationRow>(
    `SELECT device_id, seq::text AS seq, patient_id, value, provenance, received_at FROM observations WHERE ${sql} ORDER BY observations.observed_at, observations.device_id, observations.seq LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, q.limit, q.offset],
  );
  const key = await keyring.existingKey(db, q.patientId);
  if (key === undefined) throw new Error('observations stored without a patient key');
  const observations = rows.rows.map((r) => {
    const seq = Number(r.seq);
    const plain = openObservationValue(key, { deviceId: r.device_id, seq, patientId: r.patient_id }, new Uint8Array(r.value));
    return { deviceId: r.device_id, patientId: r.patient_id, record: decodeRecordBytes(plain), provenance: r.provenance, receivedAt: new Date(r.received_at) };
  });
  return { total, observations };
}
