/**
 * Server suite (issue 5 §9): ingestion of sealed batches (protocol §11) through `ingestBatch`.
 *
 * - `ingest_readings_per_s_pglite`: sealed batches of realistic size (a hub's chunk: 500 readings
 *   of five vital streams, with the sensor's signed checkpoint every 100) opened, checked,
 *   provenance-verified (certificate, checkpoint signatures, hash chain) and stored encrypted per
 *   patient, one transaction per batch, PGlite in memory.
 * - Same-run baseline `raw_insert_readings_per_s_pglite`: the same rows as plain multi-row INSERTs
 *   (1 000 rows per statement, one transaction per batch) into the same `observations` table —
 *   no opening, no verification, no per-patient encryption: the database's own ceiling.
 * - With `VITALOCK_BENCH_DATABASE_URL` set, the same two on PostgreSQL (a database created and
 *   dropped for the run); otherwise those figures say why they were skipped.
 *
 * Each round uses a fresh, migrated database (set-up not timed); the two workloads alternate in
 * every round so drift hits both alike. Timings only, no assertions.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { toHex } from '../src/core/bytes.js';
import { issueCertificate, keyId } from '../src/core/certificate.js';
import { RecordChain, signCheckpoint, type Checkpoint } from '../src/core/checkpoint.js';
import { ed25519KeyPair, x25519KeyPair } from '../src/core/primitives.js';
import { encodeRecordBytes, MDC, type ReadingRecord } from '../src/core/readings.js';
import { batchRecord, sealBatch, type BatchRecord } from '../src/core/sealed-batch.js';
import { TrustStore } from '../src/core/trust-store.js';
import { generateMasterKey, LocalKeyProvider } from '../server/crypto/key-provider.js';
import { PatientKeyring } from '../server/crypto/patient-keys.js';
import { openDatabase, type Database, type DatabaseConfig } from '../server/db/database.js';
import { migrate } from '../server/db/migrate.js';
import { ingestBatch, type IngestDeps } from '../server/ingest/ingest-batch.js';
import { IngestionKeyring } from '../server/ingest/ingestion-keyring.js';
import { putSpread, significant } from './support/figures.js';
import { benchConfig, spread } from './support/measure.js';
import { seededRandom } from './support/random.js';
import type { Figures } from './support/suite.js';

export const name = 'server';

const BATCH_RECORDS = 500;
const BATCHES_PER_ROUND = 20;
const ROWS_PER_STATEMENT = 1000;
const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);

export const notes: Readonly<Record<string, string>> = {
  ingest_readings_per_s_pglite:
    'Readings per second through ingestBatch on PGlite in memory: sealed batches of 500 readings (5 vital streams, signed checkpoint every 100) opened (HPKE), checked, certificate and checkpoints verified, chain recomputed, stored encrypted per patient; one transaction per batch, sequential. Median over rounds.',
  raw_insert_readings_per_s_pglite:
    'Same-run baseline: the same rows as plain multi-row INSERTs (1 000 per statement, one transaction per batch) into observations, without opening, verification or encryption.',
  ingest_vs_raw_insert_ratio_pglite: 'ingest_readings_per_s_pglite ÷ raw_insert_readings_per_s_pglite (medians): the share of the database ceiling ingestion reaches.',
  ingest_readings_per_s_postgres: 'As ingest_readings_per_s_pglite, on PostgreSQL (VITALOCK_BENCH_DATABASE_URL), one connection at a time.',
  raw_insert_readings_per_s_postgres: 'As raw_insert_readings_per_s_pglite, on PostgreSQL.',
  ingest_vs_raw_insert_ratio_postgres: 'ingest_readings_per_s_postgres ÷ raw_insert_readings_per_s_postgres.',
  batch_records: 'Readings per sealed batch.',
  sealed_batch_bytes: 'Size of one sealed batch of batch_records readings, in bytes.',
  readings_per_round: 'Readings ingested (and inserted by the baseline) per round.',
};

interface Workload {
  readonly device: string;
  readonly sealed: Uint8Array[];
  readonly records: BatchRecord[];
  readonly deps: Omit<IngestDeps, 'keyring'>;
  readonly caName: string;
}

function vital(seq: number): ReadingRecord {
  const streams = [
    [MDC.ECG_HEART_RATE, MDC.DIM_BEAT_PER_MIN, 72, 0],
    [MDC.PULS_OXIM_SAT_O2, MDC.DIM_PERCENT, 97, 0],
    [MDC.RESP_RATE, MDC.DIM_RESP_PER_MIN, 16, 0],
    [MDC.TEMP_BODY, MDC.DIM_DEGC, 366, -1],
    [MDC.PRESS_BLD_NONINV_MEAN, MDC.DIM_MMHG, 90, 0],
  ] as const;
  const [code, unit, base, exponent] = streams[seq % streams.length] as (typeof streams)[number];
  return { seq, timeMs: T0 + Math.floor(seq / 5) * 1000, code, unit, flags: 0, value: { kind: 1, value: { mantissa: base + (seq % 3), exponent } } };
}

/** One sensor's readings 1..n sealed in batches the way the hub's outbox seals them. */
function workload(): Workload {
  const random = seededRandom('bench server');
  const ca = ed25519KeyPair(random);
  const ingestion = x25519KeyPair(random);
  const deviceId = random(8);
  const signing = ed25519KeyPair(random);
  const certificate = issueCertificate(ca.secretKey, {
    deviceId,
    model: 'VL-M1',
    serial: 'SN-BENCH',
    staticKey: x25519KeyPair(random).publicKey,
    signingKey: signing.publicKey,
    notBefore: T0 / 1000 - 86_400,
    notAfter: T0 / 1000 + 365 * 86_400,
  }).bytes;
  const chain = new RecordChain(deviceId);
  const records: BatchRecord[] = [];
  const checkpoints: Checkpoint[] = [];
  for (let seq = 1; seq <= BATCH_RECORDS * BATCHES_PER_ROUND; seq++) {
    const r = batchRecord(vital(seq));
    records.push(r);
    const head = chain.append(r.bytes);
    if (seq % 100 === 0) checkpoints.push({ seq, head, signature: signCheckpoint(signing.secretKey, deviceId, seq, head) });
  }
  const recipient = { keyId: keyId(ingestion.publicKey), publicKey: ingestion.publicKey };
  const sealed: Uint8Array[] = [];
  for (let b = 0; b < BATCHES_PER_ROUND; b++) {
    const run = records.slice(b * BATCH_RECORDS, (b + 1) * BATCH_RECORDS);
    const last = (run[run.length - 1] as BatchRecord).record.seq;
    const cps = checkpoints.filter((c) => c.seq > last - BATCH_RECORDS && c.seq <= last);
    sealed.push(sealBatch(recipient, { batchId: random(16), hubId: random(16), createdAtMs: T0 + 3_600_000, deviceId, certificate, records: run, checkpoints: cps }, random));
  }
  return {
    device: toHex(deviceId),
    sealed,
    records,
    caName: 'Vitalock Reference',
    deps: {
      secrets: new IngestionKeyring([[toHex(recipient.keyId), ingestion.secretKey]]),
      trustStore: new TrustStore([{ name: 'Vitalock Reference', publicKey: ca.publicKey }]),
        now: () => new Date(T0 + 7_200_000),
    },
  };
}

/** A fresh migrated database with a patient and the device assigned to it. */
async function freshDatabase(config: DatabaseConfig, w: Workload): Promise<{ db: Database; patientId: string }> {
  const db = await openDatabase(config);
  await migrate(db);
  const patientId = `p-bench-${toHex(randomBytes(4))}`;
  await db.query('INSERT INTO patients (id) VALUES ($1)', [patientId]);
  await db.query('INSERT INTO devices (id, model, serial, manufacturer, patient_id) VALUES ($1, $2, $3, $4, $5)', [w.device, 'VL-M1', 'SN-BENCH', w.caName, patientId]);
  return { db, patientId };
}

async function timeIngest(db: Database, w: Workload): Promise<number> {
  const deps: IngestDeps = { ...w.deps, keyring: new PatientKeyring(new LocalKeyProvider(generateMasterKey())) };
  const started = performance.now();
  for (const sealed of w.sealed) await ingestBatch(db, deps, sealed);
  return performance.now() - started;
}

async function timeRawInsert(db: Database, w: Workload, patientId: string): Promise<number> {
  const started = performance.now();
  for (let b = 0; b < BATCHES_PER_ROUND; b++) {
    const batch = w.records.slice(b * BATCH_RECORDS, (b + 1) * BATCH_RECORDS);
    await db.transaction(async (tx) => {
      for (let i = 0; i < batch.length; i += ROWS_PER_STATEMENT) {
        const rows = batch.slice(i, i + ROWS_PER_STATEMENT);
        const params: (string | number | Date | Uint8Array)[] = [];
        const tuples = rows.map((r, j) => {
          params.push(w.device, r.record.seq, patientId, r.record.code, new Date(r.record.timeMs), encodeRecordBytes(r.record), 'unverified');
          const k = j * 7;
          return `($${k + 1}, $${k + 2}, $${k + 3}, $${k + 4}, $${k + 5}, $${k + 6}, $${k + 7})`;
        });
        await tx.query(`INSERT INTO observations (device_id, seq, patient_id, code, observed_at, value, provenance) VALUES ${tuples.join(', ')} ON CONFLICT (device_id, seq) DO NOTHING`, params);
      }
    });
  }
  return performance.now() - started;
}

async function postgresConfig(url: string): Promise<{ config: DatabaseConfig; drop: () => Promise<void> }> {
  const dbName = `vitalock_bench_${toHex(randomBytes(6))}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${dbName}`);
  const u = new URL(url);
  u.pathname = `/${dbName}`;
  return { config: { engine: 'postgres', url: u.toString(), maxConnections: 2 }, drop: () => admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`) };
}

async function measureEngine(figures: Figures, engine: 'pglite' | 'postgres', w: Workload, rounds: number, url?: string): Promise<void> {
  const perRound = BATCH_RECORDS * BATCHES_PER_ROUND;
  const ingest: number[] = [];
  const raw: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const which of round % 2 === 0 ? (['ingest', 'raw'] as const) : (['raw', 'ingest'] as const)) {
      const pgDb = engine === 'postgres' ? await postgresConfig(url as string) : undefined;
      const { db, patientId } = await freshDatabase(pgDb?.config ?? { engine: 'pglite' }, w);
      try {
        const ms = which === 'ingest' ? await timeIngest(db, w) : await timeRawInsert(db, w, patientId);
        (which === 'ingest' ? ingest : raw).push((perRound * 1000) / ms);
      } finally {
        await db.close();
        await pgDb?.drop();
      }
    }
  }
  const i = spread(ingest);
  const r = spread(raw);
  putSpread(figures, `ingest_readings_per_s_${engine}`, i);
  putSpread(figures, `raw_insert_readings_per_s_${engine}`, r);
  figures[`ingest_vs_raw_insert_ratio_${engine}`] = significant(i.median / r.median, 3);
}

export async function run(): Promise<Figures> {
  const config = benchConfig();
  const rounds = Math.max(5, Math.min(config.rounds, 9));
  const w = workload();
  const figures: Figures = {
    batch_records: BATCH_RECORDS,
    sealed_batch_bytes: (w.sealed[0] as Uint8Array).length,
    readings_per_round: BATCH_RECORDS * BATCHES_PER_ROUND,
  };
  await measureEngine(figures, 'pglite', w, rounds);
  const url = process.env.VITALOCK_BENCH_DATABASE_URL;
  if (url !== undefined && url !== '') {
    await measureEngine(figures, 'postgres', w, rounds, url);
  } else {
    figures.ingest_readings_per_s_postgres = 'skipped: VITALOCK_BENCH_DATABASE_URL is not set';
  }
  return figures;
}
