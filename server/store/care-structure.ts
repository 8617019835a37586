/**
 * The care structure admins manage (issue 5 §2, §4): pseudonymous patients, wards, admissions,
 * staff ward assignments with shift hours, care relationships, and devices linked to patients.
 * Plain SQL with positional parameters; ids are generated here, never taken from input.
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { withConstraintErrors } from './db-errors.js';

export const newPatientId = (): string => `p-${randomUUID()}`;
export const newWardId = (): string => `w-${randomUUID()}`;

export interface PatientSummary {
  readonly id: string;
  readonly accountSubject: string | null;
  readonly wardId: string | null;
}

export async function createPatient(db: Queryable, accountSubject: string | null): Promise<PatientSummary> {
  const id = newPatientId();
  await withConstraintErrors(() => db.query('INSERT INTO patients (id, account_subject) VALUES ($1, $2)', [id, accountSubject]), {
    missing: 'No such account.',
    duplicate: 'That account is already linked to a patient.',
  });
  return { id, accountSubject, wardId: null };
}

export async function listPatients(db: Queryable): Promise<PatientSummary[]> {
  const r = await db.query<{ id: string; account_subject: string | null; ward_id: string | null }>(
    'SELECT p.id, p.account_subject, w.ward_id FROM patients p LEFT JOIN ward_admissions w ON w.patient_id = p.id ORDER BY p.created_at, p.id',
  );
  return r.rows.map((x) => ({ id: x.id, accountSubject: x.account_subject, wardId: x.ward_id }));
}

export async function patientExists(db: Queryable, id: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM patients WHERE id = $1', [id])).rows.length > 0;
}

export async function createWard(db: Queryable, name: string): Promise<{ id: string; name: string }> {
  const id = newWardId();
  await withConstraintErrors(() => db.query('INSERT INTO wards (id, name) VALUES ($1, $2)', [id, name]), { missing: 'Not found.', duplicate: 'A ward with that name exists.' });
  return { id, name };
}

export async function listWards(db: Queryable): Promise<{ id: string; name: string }[]> {
  return (await db.query<{ id: string; name: string }>('SELECT id, name FROM wards ORDER BY name')).rows;
}

export async function admitPatient(db: Queryable, patientId: string, wardId: string): Promise<void> {
  await withConstraintErrors(
    () =>
      db.query(
        'INSERT INTO ward_admissions (patient_id, ward_id) VALUES ($1, $2) ON CONFLICT (patient_id) DO UPDATE SET ward_id = EXCLUDED.ward_id, admitted_at = now()',
        [patientId, wardId],
      ),
    { missing: 'No such patient or ward.', duplicate: 'Already admitted.' },
  );
}

export async function dischargePatient(db: Queryable, patientId: string): Promise<boolean> {
  return (await db.query('DELETE FROM ward_admissions WHERE patient_id = $1', [patientId])).rowCount > 0;
}

export interface ShiftInput {
  readonly startMinute: number;
  readonly endMinute: number;
  readonly timeZone: string;
}

export async function assignToWard(db: Queryable, subject: string, wardId: string, shift: ShiftInput): Promise<void> {
  await withConstraintErrors(
    () =>
      db.query(
        `INSERT INTO ward_assignments (subject, ward_id, shift_start_minute, shift_end_minute, time_zone) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (subject, ward_id) DO UPDATE SET shift_start_minute = EXCLUDED.shift_start_minute, shift_end_minute = EXCLUDED.shift_end_minute, time_zone = EXCLUDED.time_zone`,
        [subject, wardId, shift.startMinute, shift.endMinute, shift.timeZone],
      ),
    { missing: 'No such ward.', duplicate: 'Already assigned.' },
  );
}

export async function unassignFromWard(db: Queryable, subject: string, wardId: string): Promise<boolean> {
  return (await db.query('DELETE FROM ward_assignments WHERE subject = $1 AND ward_id = $2', [subject, wardId])).rowCount > 0;
}

export async function addCareRelationship(db: Queryable, subject: string, patientId: string): Promise<void> {
  await withConstraintErrors(() => db.query('INSERT INTO care_relationships (subject, patient_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [subject, patientId]), {
    missing: 'No such patient.',
    duplicate: 'Already in the care team.',
  });
}

export async function removeCareRelationship(db: Queryable, subject: string, patientId: string): Promise<boolean> {
  return (await db.query('DELETE FROM care_relationships WHERE subject = $1 AND patient_id = $2', [subject, patientId])).rowCount > 0;
}

export interface DeviceRecord {
  readonly id: string;
  readonly model: string;
  readonly serial: string;
  readonly manufacturer: string;
  readonly patientId: string | null;
}

export async function registerDevice(db: Queryable, d: Omit<DeviceRecord, 'patientId'>): Promise<DeviceRecord> {
  await withConstraintErrors(() => db.query('INSERT INTO devices (id, model, serial, manufacturer) VALUES ($1, $2, $3, $4)', [d.id, d.model, d.serial, d.manufacturer]), {
    missing: 'Not found.',
    duplicate: 'That device is already registered.',
  });
  return { ...d, patientId: null };
}

export async function linkDevice(db: Queryable, deviceId: string, patientId: string | null): Promise<DeviceRecord | undefined> {
  const r = await withConstraintErrors(
    () =>
      db.query<{ id: string; model: string; serial: string; manufacturer: string; patient_id: string | null }>(
        'UPDATE devices SET patient_id = $2 WHERE id = $1 RETURNING id, model, serial, manufacturer, patient_id',
        [deviceId, patientId],
      ),
    { missing: 'No such patient.', duplicate: 'Conflict.' },
  );
  const row = r.rows[0];
  return row === undefined ? undefined : { id: row.id, model: row.model, serial: row.serial, manufacturer: row.manufacturer, patientId: row.patient_id };
}

export async function findDevice(db: Queryable, deviceId: string): Promise<DeviceRecord | undefined> {
  const row = (
    await db.query<{ id: string; model: string; serial: string; manufacturer: string; patient_id: string | null }>(
      'SELECT id, model, serial, manufacturer, patient_id FROM devices WHERE id = $1',
      [deviceId],
    )
  ).rows[0];
  return row === undefined ? undefined : { id: row.id, model: row.model, serial: row.serial, manufacturer: row.manufacturer, patientId: row.patient_id };
}

export async function listDevices(db: Queryable, patientId?: string): Promise<DeviceRecord[]> {
  const r = await db.query<{ id: string; model: string; serial: string; manufacturer: string; patient_id: string | null }>(
    patientId === undefined
      ? 'SELECT id, model, serial, manufacturer, patient_id FROM devices ORDER BY id'
      : 'SELECT id, model, serial, manufacturer, patient_id FROM devices WHERE patient_id = $1 ORDER BY id',
    patientId === undefined ? [] : [patientId],
  );
  return r.rows.map((row) => ({ id: row.id, model: row.model, serial: row.serial, manufacturer: row.manufacturer, patientId: row.patient_id }));
}
