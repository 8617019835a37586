/**
 * Loads what the policy needs to know about a principal and a patient (issue 5 §4): the patient's
 * own account, the principal's shifts on the patient's ward, a care relationship, and an open
 * break-glass grant. One round trip per fact, all by primary key or index.
 */
import type { Queryable } from '../db/database.js';
import type { PatientFacts, WardShift } from './decide.js';

/** Undefined when the patient does not exist. */
export async function loadPatientFacts(db: Queryable, subject: string, patientId: string, now: Date): Promise<PatientFacts | undefined> {
  const patient = (await db.query<{ account_subject: string | null }>('SELECT account_subject FROM patients WHERE id = $1', [patientId])).rows[0];
  if (patient === undefined) return undefined;
  const shifts = await db.query<{ ward_id: string; shift_start_minute: number; shift_end_minute: number; time_zone: string }>(
    `SELECT a.ward_id, a.shift_start_minute, a.shift_end_minute, a.time_zone
       FROM ward_assignments a JOIN ward_admissions w ON w.ward_id = a.ward_id
      WHERE a.subject = $1 AND w.patient_id = $2`,
    [subject, patientId],
  );
  const care = await db.query('SELECT 1 FROM care_relationships WHERE subject = $1 AND patient_id = $2', [subject, patientId]);
  const glass = await db.query<{ id: string }>(
    'SELECT id FROM break_glass_grants WHERE subject = $1 AND patient_id = $2 AND opened_at <= $3 AND expires_at > $3 ORDER BY expires_at DESC LIMIT 1',
    [subject, patientId, now],
  );
  const sharedWardShifts: WardShift[] = shifts.rows.map((r) => ({ wardId: r.ward_id, startMinute: r.shift_start_minute, endMinute: r.shift_end_minute, timeZone: r.time_zone }));
  return { patientAccount: patient.account_subject, sharedWardShifts, careRelationship: care.rows.length > 0, activeBreakGlass: glass.rows.length > 0, breakGlassGrantId: glass.rows[0]?.id };
}
