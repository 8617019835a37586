/**
 * A small hospital for server tests: an app built on a fresh database with an injectable
 * authenticator (requests name their principal in `x-test-as`; no tokens needed), a ward with a
 * nurse on shift and one off shift, clinicians with and without a care relationship, a patient
 * with an account, an admin, an auditor, and a device with stored readings.
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { DestinationStream } from 'pino';
import { buildApp, type AppOptions } from '../../../server/app.js';
import type { Database } from '../../../server/db/database.js';
import { generateMasterKey, LocalKeyProvider } from '../../../server/crypto/key-provider.js';
import { PatientKeyring } from '../../../server/crypto/patient-keys.js';
import { createLogger } from '../../../server/logging.js';
import type { Principal, Role } from '../../../server/policy/principal.js';
import * as care from '../../../server/store/care-structure.js';
import { storeObservations, type IncomingReading } from '../../../server/store/observations.js';
import { MDC, type ReadingRecord } from '../../../src/core/readings.js';
import { AuditLog } from '../../../server/audit/audit-log.js';
import { accountDirectory } from '../../../server/identity/index.js';
import { randomBytes } from 'node:crypto';

export const PEOPLE = {
  admin: ['admin'],
  auditor: ['auditor'],
  nurseOnShift: ['nurse'],
  nurseOffShift: ['nurse'],
  nurseOtherWard: ['nurse'],
  clinicianCare: ['clinician'],
  clinicianOther: ['clinician'],
  patientSelf: ['patient'],
  patientOther: ['patient'],
} as const satisfies Record<string, readonly Role[]>;

export type Person = keyof typeof PEOPLE;

export const principal = (who: Person): Principal => ({ subject: `sub-${who}`, roles: [...PEOPLE[who]], tokenId: `t-${who}` });

/** 12:00 UTC: the on-shift nurse works 08:00–20:00, the off-shift one 20:00–08:00. */
export const NOON = new Date('2026-03-02T12:00:00.000Z');

export function temperature(seq: number, timeMs: number, mantissa = 366): ReadingRecord {
  return { seq, timeMs, code: MDC.TEMP_BODY, unit: MDC.DIM_DEGC, flags: 0, value: { kind: 1, value: { mantissa, exponent: -1 } } };
}

export function heartRate(seq: number, timeMs: number, bpm = 72): ReadingRecord {
  return { seq, timeMs, code: MDC.ECG_HEART_RATE, unit: MDC.DIM_BEAT_PER_MIN, flags: 0, value: { kind: 1, value: { mantissa: bpm, exponent: 0 } } };
}

export function bloodPressure(seq: number, timeMs: number): ReadingRecord {
  return {
    seq,
    timeMs,
    code: MDC.PRESS_BLD_NONINV,
    unit: MDC.DIM_MMHG,
    flags: 0,
    value: {
      kind: 2,
      components: [
        { code: MDC.PRESS_BLD_NONINV_SYS, value: { mantissa: 118, exponent: 0 } },
        { code: MDC.PRESS_BLD_NONINV_DIA, value: { mantissa: 76, exponent: 0 } },
        { code: MDC.PRESS_BLD_NONINV_MEAN, value: { mantissa: 90, exponent: 0 } },
      ],
    },
  };
}

export interface World {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly keys: LocalKeyProvider;
  readonly keyring: PatientKeyring;
  readonly patientId: string;
  readonly otherPatientId: string;
  readonly wardId: string;
  readonly deviceId: string;
  readonly readings: readonly ReadingRecord[];
  /** `app.inject` as a person (or anonymous), with an optional purpose of use. */
  as(who: Person | undefined, options: InjectOptions & { purpose?: string }): Promise<LightMyRequestResponse>;
  setNow(d: Date): void;
}

export interface WorldOptions {
  readonly logStream?: DestinationStream;
  readonly app?: Partial<AppOptions>;
}

export const DEVICE_ID = 'a1b2c3d4e5f60708';
export const T0 = Date.parse('2026-03-01T08:00:00.000Z');

export async function buildWorld(db: Database, options: WorldOptions = {}): Promise<World> {
  const keys = new LocalKeyProvider(generateMasterKey());
  const keyring = new PatientKeyring(keys);
  let now = NOON;
  const app = await buildApp({
    db,
    keys,
    logger: createLogger(options.logStream !== undefined ? { level: 'info', stream: options.logStream } : { level: 'silent' }),
    authenticate: async (request) => {
      const who = request.headers['x-test-as'];
      return typeof who === 'string' && who in PEOPLE ? principal(who as Person) : undefined;
    },
    rateLimit: { max: 100_000, timeWindow: 60_000 },
    accounts: accountDirectory({ db, identityKey: new Uint8Array(randomBytes(32)), audit: new AuditLog(db, keys) }),
    now: () => now,
    ...options.app,
  });
  const ward = await care.createWard(db, `Ward ${Math.random().toString(36).slice(2, 8)}`);
  const otherWard = await care.createWard(db, `Other ${Math.random().toString(36).slice(2, 8)}`);
  const patient = await care.createPatient(db, principal('patientSelf').subject);
  const other = await care.createPatient(db, principal('patientOther').subject);
  await care.admitPatient(db, patient.id, ward.id);
  await care.admitPatient(db, other.id, otherWard.id);
  await care.assignToWard(db, principal('nurseOnShift').subject, ward.id, { startMinute: 8 * 60, endMinute: 20 * 60, timeZone: 'UTC' });
  await care.assignToWard(db, principal('nurseOffShift').subject, ward.id, { startMinute: 20 * 60, endMinute: 8 * 60, timeZone: 'UTC' });
  await care.assignToWard(db, principal('nurseOtherWard').subject, otherWard.id, { startMinute: 0, endMinute: 1440, timeZone: 'UTC' });
  await care.addCareRelationship(db, principal('clinicianCare').subject, patient.id);
  await care.registerDevice(db, { id: DEVICE_ID, model: 'VL-1 Patch', serial: 'SN-0001', manufacturer: 'Vitalock Reference' });
  await care.linkDevice(db, DEVICE_ID, patient.id);
  const readings: ReadingRecord[] = [];
  for (let i = 1; i <= 30; i++) readings.push(i % 3 === 0 ? heartRate(i, T0 + i * 60_000) : i % 3 === 1 ? temperature(i, T0 + i * 60_000, 360 + i) : bloodPressure(i, T0 + i * 60_000));
  const incoming: IncomingReading[] = readings.map((record) => ({ deviceId: DEVICE_ID, record, provenance: record.seq % 2 === 0 ? 'verified' : 'unverified' }));
  await db.transaction((tx) => storeObservations(tx, keyring, patient.id, incoming));
  return {
    app,
    db,
    keys,
    keyring,
    patientId: patient.id,
    otherPatientId: other.id,
    wardId: ward.id,
    deviceId: DEVICE_ID,
    readings,
    setNow: (d) => {
      now = d;
    },
    as: (who, { purpose, headers, ...rest }) =>
      app.inject({
        ...rest,
        headers: { ...(headers ?? {}), ...(who !== undefined ? { 'x-test-as': who } : {}), ...(purpose !== undefined ? { 'x-purpose-of-use': purpose } : {}) },
      }),
  };
}
