/**
 * A small deployment for ingestion tests: a manufacturer CA and a sensor with its certificate and
 * signing key, the cloud's ingestion key, a patient with the sensor assigned, and helpers that
 * produce sealed batches the way the hub's outbox does (records in §8.2 encoding, the sensor's
 * chain and signed checkpoints every 100 records).
 */
import { toHex } from '../../../src/core/bytes.js';
import { issueCertificate, keyId } from '../../../src/core/certificate.js';
import { RecordChain, signCheckpoint, type Checkpoint } from '../../../src/core/checkpoint.js';
import { ed25519KeyPair, x25519KeyPair, type KeyPair } from '../../../src/core/primitives.js';
import { MDC, type ReadingRecord } from '../../../src/core/readings.js';
import { batchRecord, sealBatch, type BatchRecord, type ReadingBatch } from '../../../src/core/sealed-batch.js';
import { TrustStore } from '../../../src/core/trust-store.js';
import type { Database } from '../../../server/db/database.js';
import { generateMasterKey, LocalKeyProvider } from '../../../server/crypto/key-provider.js';
import { PatientKeyring } from '../../../server/crypto/patient-keys.js';
import { IngestionKeyring } from '../../../server/ingest/ingestion-keyring.js';
import type { IngestDeps } from '../../../server/ingest/ingest-batch.js';
import * as care from '../../../server/store/care-structure.js';
import { deterministicRandom } from '../../support/deterministic-random.js';

export const NOW = new Date('2026-03-02T12:00:00.000Z');

export interface Sensor {
  readonly deviceId: Uint8Array;
  readonly hex: string;
  readonly certificate: Uint8Array;
  readonly signing: KeyPair;
  /** Records 1..n and the head after each (index = seq). */
  readonly records: BatchRecord[];
  readonly heads: Uint8Array[];
}

export function sensorOf(seed: string, ca: KeyPair, count: number): Sensor {
  const random = deterministicRandom(seed);
  const deviceId = random(8);
  const signing = ed25519KeyPair(random);
  const certificate = issueCertificate(ca.secretKey, {
    deviceId,
    model: 'VL-M1',
    serial: `SN-${seed.length}`,
    staticKey: x25519KeyPair(random).publicKey,
    signingKey: signing.publicKey,
    notBefore: NOW.getTime() / 1000 - 86_400 * 30,
    notAfter: NOW.getTime() / 1000 + 86_400 * 365,
  }).bytes;
  const chain = new RecordChain(deviceId);
  const records: BatchRecord[] = [];
  const heads: Uint8Array[] = [chain.head];
  for (let seq = 1; seq <= count; seq++) {
    const r = batchRecord(reading(seq));
    records.push(r);
    heads.push(chain.append(r.bytes));
  }
  return { deviceId, hex: toHex(deviceId), certificate, signing, records, heads };
}

export function reading(seq: number, mantissa = 90 + (seq % 10)): ReadingRecord {
  return { seq, timeMs: NOW.getTime() - 3_600_000 + seq * 1000, code: MDC.PULS_OXIM_SAT_O2, unit: MDC.DIM_PERCENT, flags: 0, value: { kind: 1, value: { mantissa, exponent: 0 } } };
}

/** The signed checkpoints (every 100) with from < seq ≤ to. */
export function checkpointsOf(sensor: Sensor, from: number, to: number): Checkpoint[] {
  const out: Checkpoint[] = [];
  for (let seq = Math.ceil((from + 1) / 100) * 100; seq <= to; seq += 100) {
    const head = sensor.heads[seq] as Uint8Array;
    out.push({ seq, head, signature: signCheckpoint(sensor.signing.secretKey, sensor.deviceId, seq, head) });
  }
  return out;
}

export interface Deployment {
  readonly db: Database;
  readonly deps: IngestDeps;
  readonly ingestion: KeyPair;
  readonly ca: KeyPair;
  readonly sensor: Sensor;
  readonly patientId: string;
  /** Seals records (from, to] of the sensor with the checkpoints in that range. */
  seal(from: number, to: number, edit?: (batch: ReadingBatch) => ReadingBatch): Uint8Array;
  count(table: string): Promise<number>;
}

export async function deployment(db: Database, seed: string, records = 500): Promise<Deployment> {
  const random = deterministicRandom(`deployment ${seed}`);
  const ca = ed25519KeyPair(random);
  const ingestion = x25519KeyPair(random);
  const sensor = sensorOf(`sensor ${seed}`, ca, records);
  const keys = new LocalKeyProvider(generateMasterKey());
  const patient = await care.createPatient(db, null);
  await care.registerDevice(db, { id: sensor.hex, model: 'VL-M1', serial: 'SN-1', manufacturer: 'Vitalock Reference' });
  await care.linkDevice(db, sensor.hex, patient.id);
  const deps: IngestDeps = {
    secrets: new IngestionKeyring([[toHex(keyId(ingestion.publicKey)), ingestion.secretKey]]),
    trustStore: new TrustStore([{ name: 'Vitalock Reference', publicKey: ca.publicKey }]),
    keyring: new PatientKeyring(keys),
    now: () => NOW,
  };
  const recipient = { keyId: keyId(ingestion.publicKey), publicKey: ingestion.publicKey };
  return {
    db,
    deps,
    ingestion,
    ca,
    sensor,
    patientId: patient.id,
    seal(from, to, edit = (b) => b) {
      const batch: ReadingBatch = {
        batchId: random(16),
        hubId: random(16),
        createdAtMs: NOW.getTime() - 60_000,
        deviceId: sensor.deviceId,
        certificate: sensor.certificate,
        records: sensor.records.slice(from, to),
        checkpoints: checkpointsOf(sensor, from, to),
      };
      return sealBatch(recipient, edit(batch), random);
    },
    async count(table) {
      return Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]?.n);
    },
  };
}
