/**
 * Ingestion of one sealed batch (issue 5 §7; protocol §11.4): open it with the ingestion secret
 * key, check every record, verify the sensor's certificate and checkpoints, store the readings
 * idempotently, and answer only once everything is committed.
 *
 * - Opening: the clear header names the key; a batch that does not open (wrong key, any altered
 *   byte) is refused whole (`not-authentic`), and so is one that does not decode (`malformed`).
 * - Idempotency: by batch id (`ingest_batches`, claimed first in the transaction: a concurrent
 *   delivery of the same batch waits for this one and gets the same answer) and by record id
 *   (device id, seq — `observations`' primary key: a reading in two batches is stored once).
 * - Provenance: the certificate is verified against the manufacturer trust store; a checkpoint
 *   counts only if its signature verifies under that certificate's key; the chain is recomputed
 *   (`provenance-chain.ts`). Each reading is `verified`, `pending` (no checkpoint covers it yet)
 *   or `unverified` with the reason.
 * - Readings are stored through the observation store (encrypted per patient), for the patient
 *   the device is assigned to; a device nobody assigned is refused (`device-unassigned`) and the
 *   hub keeps the batch until an administrator assigns it.
 */
import { toHex } from '../../src/core/bytes.js';
import { CertificateError, decodeCertificate, verifyCertificate } from '../../src/core/certificate.js';
import { verifyCheckpoint, type Checkpoint } from '../../src/core/checkpoint.js';
import { DecodeError, ProtocolError } from '../../src/core/errors.js';
import { openSealedBatch, readSealedHeader, type ReadingBatch } from '../../src/core/sealed-batch.js';
import type { TrustStore } from '../../src/core/trust-store.js';
import type { AuditEvent } from '../audit/audit-event.js';
import type { PatientKeyring } from '../crypto/patient-keys.js';
import { openObservationValue } from '../crypto/observation-cipher.js';
import type { Database, Queryable } from '../db/database.js';
import { storeObservations } from '../store/observations.js';
import type { IngestionSecrets } from './ingestion-keyring.js';
import { advanceChain, spansCovering } from './provenance-chain.js';

export type IngestErrorCode = 'malformed' | 'unknown-key' | 'not-authentic' | 'device-unassigned' | 'invalid-record';

const TEXT: Record<IngestErrorCode, string> = {
  malformed: 'The batch is malformed.',
  'unknown-key': 'The batch is sealed to a key this server does not have: update the app’s ingestion key list.',
  'not-authentic': 'The batch did not open: it was altered, or sealed to another deployment.',
  'device-unassigned': 'This sensor is not registered to a patient yet. An administrator must assign it; the device keeps the readings until then.',
  'invalid-record': 'A reading in the batch is out of range.',
};

/** A batch refused whole; nothing of it was stored. */
export class IngestError extends Error {
  override readonly name = 'IngestError';
  constructor(readonly code: IngestErrorCode) {
    super(TEXT[code]);
  }
}

export interface IngestDeps {
  readonly secrets: IngestionSecrets;
  readonly trustStore: TrustStore;
  readonly keyring: PatientKeyring;
  readonly now: () => Date;
  /** Appends the audit entry inside the ingestion transaction (the write and its entry commit together). */
  readonly audit?: { appendIn(tx: Queryable, event: AuditEvent): Promise<unknown> };
  /** Who delivered the batch (the signed-in subject), for the audit entry. */
  readonly actor?: string;
}

export interface ProvenanceSummary {
  readonly verified: number;
  readonly pending: number;
  readonly unverified: number;
  /** Why readings are unverified: reason → count (e.g. chain-mismatch, certificate-unknown-issuer). */
  readonly reasons: Readonly<Record<string, number>>;
}

export interface IngestResult {
  readonly batchId: string;
  /** Readings stored by this batch. */
  readonly accepted: number;
  /** Readings already stored (from this batch delivered before, or another batch). */
  readonly duplicates: number;
  readonly provenance: ProvenanceSummary;
}

/** Records in the future by more than this (hub clock wrong) are refused. */
export const MAX_CLOCK_AHEAD_MS = 24 * 3_600_000;

function open(deps: IngestDeps, sealed: Uint8Array): ReadingBatch {
  let keyId: Uint8Array;
  try {
    keyId = readSealedHeader(sealed).keyId;
  } catch {
    throw new IngestError('malformed');
  }
  const secret = deps.secrets.secretKey(keyId);
  if (secret === undefined) throw new IngestError('unknown-key');
  try {
    return openSealedBatch(sealed, secret);
  } catch (error) {
    if (error instanceof ProtocolError) throw new IngestError('not-authentic');
    if (error instanceof DecodeError) throw new IngestError('malformed');
    throw error;
  }
}

/** The certificate's verdict and the checkpoints that count. */
function provenanceInputs(deps: IngestDeps, batch: ReadingBatch): { certificateProblem?: string; checkpoints: Checkpoint[] } {
  const certificate = decodeCertificate(batch.certificate);
  const now = deps.now().getTime();
  try {
    // Valid when the batch was sealed (never later than now): readings outlive a certificate.
    verifyCertificate(batch.certificate, { trustStore: deps.trustStore, nowMs: Math.min(batch.createdAtMs, now), remoteStaticKey: certificate.staticKey });
  } catch (error) {
    if (error instanceof CertificateError) return { certificateProblem: `certificate-${error.reason}`, checkpoints: [] };
    throw error;
  }
  return { checkpoints: batch.checkpoints.filter((c) => verifyCheckpoint(certificate.signingKey, batch.deviceId, c)) };
}

/**
 * Ingests one sealed batch. Resolves after commit with the answer (the same answer for the same
 * batch, however often it is delivered); throws `IngestError` (nothing stored) for a batch refused whole.
 */
export async function ingestBatch(db: Database, deps: IngestDeps, sealed: Uint8Array): Promise<IngestResult> {
  const batch = open(deps, sealed);
  const now = deps.now().getTime();
  for (const r of batch.records) {
    if (r.correctedTimeMs > now + MAX_CLOCK_AHEAD_MS || r.record.timeMs > now + MAX_CLOCK_AHEAD_MS) throw new IngestError('invalid-record');
  }
  const { certificateProblem, checkpoints } = provenanceInputs(deps, batch);
  const forged = batch.checkpoints.length - checkpoints.length;
  const device = toHex(batch.deviceId);
  const batchId = toHex(batch.batchId);

  return db.transaction(async (tx) => {
    const claimed = await tx.query(
      'INSERT INTO ingest_batches (batch_id, key_id, hub_id, device_id, sealed_at, record_count) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id',
      [batch.batchId, readSealedHeader(sealed).keyId, batch.hubId, device, new Date(batch.createdAtMs), batch.records.length],
    );
    if (claimed.rows.length === 0) {
      // Delivered before (or right now by another request, which we waited for): the same answer.
      const stored = (await tx.query<{ answer: IngestResult | null }>('SELECT answer FROM ingest_batches WHERE batch_id = $1', [batch.batchId])).rows[0];
      if (stored?.answer == null) throw new Error('a claimed batch has no answer');
      return stored.answer;
    }
    const owner = (await tx.query<{ patient_id: string | null }>('SELECT patient_id FROM devices WHERE id = $1', [device])).rows[0];
    if (owner?.patient_id == null) throw new IngestError('device-unassigned');
    const patientId = owner.patient_id;

    // The chain first (it locks the device's chain row, so batches of one device take turns), then
    // each reading is written once with the provenance known now; spans that cover readings of
    // earlier batches were updated in place by `advanceChain`.
    await advanceChain(tx, { deviceId: batch.deviceId, device, records: batch.records, checkpoints, storedAfter: (after) => storedAfter(tx, deps.keyring, device, after) });
    const { summary: provenance, verifiedSeqs } = await summarise(tx, device, batch, certificateProblem, forged);
    const accepted = await storeObservations(
      tx,
      deps.keyring,
      patientId,
      batch.records.map((r) => ({ deviceId: device, record: r.record, provenance: verifiedSeqs.has(r.record.seq) ? ('verified' as const) : ('unverified' as const) })),
    );
    const answer: IngestResult = { batchId, accepted, duplicates: batch.records.length - accepted, provenance };
    await tx.query('UPDATE ingest_batches SET answer = $2 WHERE batch_id = $1', [batch.batchId, JSON.stringify(answer)]);
    await deps.audit?.appendIn(tx, {
      actor: deps.actor ?? 'system',
      action: 'observation.ingest',
      resource: `patient/${patientId}`,
      decision: 'success',
      detail: { batchId, device, accepted, duplicates: answer.duplicates, verified: provenance.verified, unverified: provenance.unverified },
    });
    return answer;
  });
}

/** A device's stored readings after `afterSeq`, decrypted: the §8.2 encodings the chain hashes. */
async function storedAfter(tx: Queryable, keyring: PatientKeyring, device: string, afterSeq: number): Promise<Map<number, Uint8Array>> {
  const rows = await tx.query<{ seq: string; patient_id: string; value: Uint8Array }>('SELECT seq::text, patient_id, value FROM observations WHERE device_id = $1 AND seq > $2 ORDER BY observations.seq', [
    device,
    afterSeq,
  ]);
  const out = new Map<number, Uint8Array>();
  for (const row of rows.rows) {
    const key = await keyring.existingKey(tx, row.patient_id);
    if (key === undefined) throw new Error('observations stored without a patient key');
    const seq = Number(row.seq);
    out.set(seq, openObservationValue(key, { deviceId: device, seq, patientId: row.patient_id }, new Uint8Array(row.value)));
  }
  return out;
}

/** Each reading of the batch: verified or unverified by a decided span, else pending (or the certificate's problem). */
async function summarise(
  tx: Queryable,
  device: string,
  batch: ReadingBatch,
  certificateProblem: string | undefined,
  forged: number,
): Promise<{ summary: ProvenanceSummary; verifiedSeqs: Set<number> }> {
  const seqs = batch.records.map((r) => r.record.seq);
  const spans = await spansCovering(tx, device, seqs[0] as number, seqs[seqs.length - 1] as number);
  const verifiedSeqs = new Set<number>();
  let pending = 0;
  let unverified = 0;
  const reasons: Record<string, number> = {};
  const unverify = (reason: string): void => {
    unverified++;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  };
  let s = 0;
  for (const seq of seqs) {
    while (s < spans.length && (spans[s]?.toSeq as number) < seq) s++;
    const span = spans[s];
    if (span !== undefined && span.fromSeq < seq && seq <= span.toSeq) {
      if (span.status === 'verified') verifiedSeqs.add(seq);
      else unverify(span.reason ?? 'unverified');
    } else if (certificateProblem !== undefined) {
      unverify(certificateProblem);
    } else if (forged > 0) {
      unverify('checkpoint-signature');
    } else {
      pending++;
    }
  }
  return { summary: { verified: verifiedSeqs.size, pending, unverified, reasons }, verifiedSeqs };
}
