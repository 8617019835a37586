/**
 * Sealed batches: readings from the hub to the cloud (docs/protocol.md §11).
 *
 *   sealed = version u8 ‖ key id (8) ‖ batch id (16) ‖ enc (32) ‖ HPKE ciphertext
 *
 * Sealing is RFC 9180 HPKE in base mode with the suite DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20-Poly1305 (§11.1), single-shot: one ephemeral key per batch. The `info` binds the
 * suite, the recipient key id and the batch id; the associated data is the clear header, so a
 * header moved onto another ciphertext fails to open. The plaintext (§11.2) carries the records
 * exactly as the sensor encoded them (§8.2), so the cloud can recompute the hash chain of §8.4
 * and check the sensor's signed checkpoints, which travel in the same batch.
 *
 * Nothing here opens with the vault key: the hub holds only the ingestion public key, so a
 * sealed batch can wait in the outbox, and be flushed, while the vault is locked.
 */
import { expand as hkdfExpand, extract as hkdfExtract } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { ByteReader, ByteWriter, concatBytes, equalBytes, utf8, wipe } from './bytes.js';
import { decodeCertificate, DEVICE_ID_LEN, KEY_ID_LEN } from './certificate.js';
import type { Checkpoint } from './checkpoint.js';
import { DecodeError } from './errors.js';
import { aeadOpen, aeadSeal, dh, DH_LEN, HASH_LEN, NONCE_LEN, SIGNATURE_LEN, TAG_LEN, x25519PublicKey, type Random } from './primitives.js';
import { decodeRecordBytes, encodeRecordBytes, type ReadingRecord } from './readings.js';

// ── RFC 9180 HPKE, base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305 ──────

export const HPKE_KEM_X25519_SHA256 = 0x0020;
export const HPKE_KDF_SHA256 = 0x0001;
export const HPKE_AEAD_CHACHA20POLY1305 = 0x0003;
const HPKE_MODE_BASE = 0x00;
const HPKE_VERSION_LABEL = utf8('HPKE-v1');
const KEM_SUITE_ID = concatBytes(utf8('KEM'), u16(HPKE_KEM_X25519_SHA256));
const HPKE_SUITE_ID = concatBytes(utf8('HPKE'), u16(HPKE_KEM_X25519_SHA256), u16(HPKE_KDF_SHA256), u16(HPKE_AEAD_CHACHA20POLY1305));
const EMPTY = new Uint8Array(0);

function u16(v: number): Uint8Array {
  return Uint8Array.of(v >>> 8, v & 0xff);
}

/** RFC 9180 §4: LabeledExtract(salt, label, ikm). */
function labeledExtract(suiteId: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return hkdfExtract(nobleSha256, concatBytes(HPKE_VERSION_LABEL, suiteId, utf8(label), ikm), salt);
}

/** RFC 9180 §4: LabeledExpand(prk, label, info, L). */
function labeledExpand(suiteId: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  return hkdfExpand(nobleSha256, prk, concatBytes(u16(length), HPKE_VERSION_LABEL, suiteId, utf8(label), info), length);
}

/** RFC 9180 §7.1.3: DeriveKeyPair for X25519 (for test vectors and deterministic keys). */
export function hpkeDeriveKeyPair(ikm: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const prk = labeledExtract(KEM_SUITE_ID, EMPTY, 'dkp_prk', ikm);
  const secretKey = labeledExpand(KEM_SUITE_ID, prk, 'sk', EMPTY, 32);
  return { secretKey, publicKey: x25519PublicKey(secretKey) };
}

/** RFC 9180 §4.1: ExtractAndExpand of DHKEM; `dh` rejects an all-zero X25519 output (§7.1.4). */
function kemSharedSecret(dhOutput: Uint8Array, enc: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  const prk = labeledExtract(KEM_SUITE_ID, EMPTY, 'eae_prk', dhOutput);
  return labeledExpand(KEM_SUITE_ID, prk, 'shared_secret', concatBytes(enc, recipientPublicKey), HASH_LEN);
}

/** The key schedule's output (RFC 9180 §5.1), base mode. */
export interface HpkeKeySchedule {
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
}

function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): HpkeKeySchedule {
  const pskIdHash = labeledExtract(HPKE_SUITE_ID, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(HPKE_SUITE_ID, EMPTY, 'info_hash', info);
  const context = concatBytes(Uint8Array.of(HPKE_MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE_ID, sharedSecret, 'secret', EMPTY);
  const schedule = {
    key: labeledExpand(HPKE_SUITE_ID, secret, 'key', context, 32),
    baseNonce: labeledExpand(HPKE_SUITE_ID, secret, 'base_nonce', context, NONCE_LEN),
    exporterSecret: labeledExpand(HPKE_SUITE_ID, secret, 'exp', context, HASH_LEN),
  };
  wipe(secret);
  return schedule;
}

/** RFC 9180 §5.2: the nonce of message `seq` is base_nonce XOR I2OSP(seq, Nn). */
function sequenceNonce(baseNonce: Uint8Array, seq: number): Uint8Array {
  const nonce = baseNonce.slice();
  let s = seq;
  for (let i = NONCE_LEN - 1; i >= 0 && s > 0; i--) {
    nonce[i] = (nonce[i] as number) ^ (s & 0xff);
    s = Math.floor(s / 256);
  }
  return nonce;
}

/** An HPKE context (RFC 9180 §5.2): seal or open messages 0, 1, 2, … in order. */
export class HpkeContext {
  private seq = 0;
  constructor(private readonly schedule: HpkeKeySchedule) {}

  seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return aeadSeal(this.schedule.key, sequenceNonce(this.schedule.baseNonce, this.seq++), plaintext, aad);
  }

  /** Throws `ProtocolError('auth-failed')`; a failed open does not advance the sequence. */
  open(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const plaintext = aeadOpen(this.schedule.key, sequenceNonce(this.schedule.baseNonce, this.seq), ciphertext, aad);
    this.seq++;
    return plaintext;
  }

  get keySchedule(): HpkeKeySchedule {
    return this.schedule;
  }
}

/** RFC 9180 §5.1.1 SetupBaseS: `random` supplies the ephemeral X25519 secret key (32 bytes). */
export function hpkeSetupBaseSender(recipientPublicKey: Uint8Array, info: Uint8Array, random: Random): { enc: Uint8Array; context: HpkeContext } {
  const ephemeral = random(DH_LEN);
  const enc = x25519PublicKey(ephemeral);
  const dhOutput = dh(ephemeral, recipientPublicKey);
  const shared = kemSharedSecret(dhOutput, enc, recipientPublicKey);
  const context = new HpkeContext(keySchedule(shared, info));
  wipe(ephemeral, dhOutput, shared);
  return { enc, context };
}

/** RFC 9180 §5.1.1 SetupBaseR. Throws `ProtocolError('auth-failed')` for a degenerate `enc`. */
export function hpkeSetupBaseRecipient(enc: Uint8Array, recipientSecretKey: Uint8Array, info: Uint8Array): HpkeContext {
  const dhOutput = dh(recipientSecretKey, enc);
  const shared = kemSharedSecret(dhOutput, enc, x25519PublicKey(recipientSecretKey));
  const context = new HpkeContext(keySchedule(shared, info));
  wipe(dhOutput, shared);
  return context;
}

// ── §11.1 the sealed envelope ───────────────────────────────────────────────────────────────────

export const SEALED_BATCH_VERSION = 1;
export const BATCH_ID_LEN = 16;
export const HUB_ID_LEN = 16;
/** version ‖ key id ‖ batch id. */
export const SEALED_HEADER_LEN = 1 + KEY_ID_LEN + BATCH_ID_LEN;
export const SEALED_BATCH_OVERHEAD = SEALED_HEADER_LEN + DH_LEN + TAG_LEN;
export const SEAL_INFO_LABEL: Uint8Array = utf8('VITALOCK-BATCH-1');

/** Records per batch (§11.2): a larger stored chunk becomes several batches. */
export const MAX_BATCH_RECORDS = 2048;
/** Plaintext bytes per batch (§11.2). */
export const MAX_BATCH_PLAINTEXT = 1_048_576;
export const MAX_BATCH_CHECKPOINTS = 64;
export const MAX_SEALED_BATCH = MAX_BATCH_PLAINTEXT + SEALED_BATCH_OVERHEAD;
const MAX_CERTIFICATE_LEN = 1024;
/** seq u32 ‖ time u64 ‖ kind ‖ code ‖ unit ‖ flags, then a waveform of 1000 samples (§8.2). */
const MAX_RECORD_LEN = 22 + 4 + 4 + 2 + 2 * 1000;

/** The clear header of a sealed batch. */
export interface SealedHeader {
  readonly version: 1;
  /** Key id (§1.4) of the ingestion public key the batch is sealed to. */
  readonly keyId: Uint8Array;
  readonly batchId: Uint8Array;
}

/** `info` of §11.1: label ‖ kem u16 ‖ kdf u16 ‖ aead u16 ‖ key id ‖ batch id. */
export function sealInfo(keyId: Uint8Array, batchId: Uint8Array): Uint8Array {
  return concatBytes(SEAL_INFO_LABEL, u16(HPKE_KEM_X25519_SHA256), u16(HPKE_KDF_SHA256), u16(HPKE_AEAD_CHACHA20POLY1305), keyId, batchId);
}

function encodeHeader(keyId: Uint8Array, batchId: Uint8Array): Uint8Array {
  return new ByteWriter(SEALED_HEADER_LEN).u8(SEALED_BATCH_VERSION).bytes(keyId).bytes(batchId).finish();
}

/** Reads the clear header (what an uploader or the server needs before opening). */
export function readSealedHeader(sealed: Uint8Array): SealedHeader {
  if (sealed.length > MAX_SEALED_BATCH) throw new DecodeError('too-large', 'sealed batch too large');
  if (sealed.length < SEALED_BATCH_OVERHEAD) throw new DecodeError('truncated', 'message ends early');
  const r = new ByteReader(sealed.subarray(0, SEALED_HEADER_LEN));
  if (r.u8() !== SEALED_BATCH_VERSION) throw new DecodeError('unsupported-version', 'unknown sealed batch version');
  return { version: 1, keyId: r.bytes(KEY_ID_LEN), batchId: r.bytes(BATCH_ID_LEN) };
}

/** The recipient: an ingestion key (§11.3) with its key id. */
export interface IngestionRecipient {
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Seals an encoded batch (§11.2) to the ingestion key; `random` gives the ephemeral key. */
export function sealBatchBytes(recipient: IngestionRecipient, batchId: Uint8Array, plaintext: Uint8Array, random: Random): Uint8Array {
  if (recipient.keyId.length !== KEY_ID_LEN || recipient.publicKey.length !== DH_LEN) throw new RangeError('bad ingestion key');
  if (batchId.length !== BATCH_ID_LEN) throw new RangeError(`a batch id is ${BATCH_ID_LEN} bytes`);
  if (plaintext.length > MAX_BATCH_PLAINTEXT) throw new RangeError('batch too large');
  const header = encodeHeader(recipient.keyId, batchId);
  const { enc, context } = hpkeSetupBaseSender(recipient.publicKey, sealInfo(recipient.keyId, batchId), random);
  return concatBytes(header, enc, context.seal(header, plaintext));
}

/**
 * Opens a sealed batch with the ingestion secret key. Throws `DecodeError` for a malformed
 * envelope, `ProtocolError('auth-failed')` when it does not open (wrong key, altered bytes), and
 * `DecodeError` when the opened plaintext does not decode or names another batch id.
 */
export function openSealedBatch(sealed: Uint8Array, secretKey: Uint8Array): ReadingBatch {
  const header = readSealedHeader(sealed);
  const enc = sealed.subarray(SEALED_HEADER_LEN, SEALED_HEADER_LEN + DH_LEN);
  const context = hpkeSetupBaseRecipient(enc, secretKey, sealInfo(header.keyId, header.batchId));
  const plaintext = context.open(sealed.subarray(0, SEALED_HEADER_LEN), sealed.subarray(SEALED_HEADER_LEN + DH_LEN));
  const batch = decodeBatch(plaintext);
  // The info already binds the id; this keeps a bug on the sealing side from going unnoticed.
  if (!equalBytes(batch.batchId, header.batchId)) throw new DecodeError('malformed', 'batch id does not match its envelope');
  return batch;
}

export function sealBatch(recipient: IngestionRecipient, batch: ReadingBatch, random: Random): Uint8Array {
  return sealBatchBytes(recipient, batch.batchId, encodeBatch(batch), random);
}

// ── §11.2 the batch ─────────────────────────────────────────────────────────────────────────────

export const BATCH_FORMAT_VERSION = 1;

export interface BatchRecord {
  /** The hub's best estimate of the measurement time, Unix ms (§11.2). */
  readonly correctedTimeMs: number;
  readonly record: ReadingRecord;
  /** The §8.2 encoding as the sensor sent it (what the chain of §8.4 hashes). */
  readonly bytes: Uint8Array;
}

export interface ReadingBatch {
  readonly batchId: Uint8Array;
  /** Pseudonymous id of the hub that collected the readings. */
  readonly hubId: Uint8Array;
  /** Hub time when the batch was sealed, Unix ms. */
  readonly createdAtMs: number;
  readonly deviceId: Uint8Array;
  /** The sensor's certificate (§6.1), so the cloud can verify the checkpoints. */
  readonly certificate: Uint8Array;
  /** Strictly increasing seq, 1 … MAX_BATCH_RECORDS of them. */
  readonly records: readonly BatchRecord[];
  /** Strictly increasing seq, 0 … MAX_BATCH_CHECKPOINTS of them. */
  readonly checkpoints: readonly Checkpoint[];
}

/** A record ready for a batch: its encoding is computed once, here. */
export function batchRecord(record: ReadingRecord, correctedTimeMs: number = record.timeMs): BatchRecord {
  return { record, correctedTimeMs, bytes: encodeRecordBytes(record) };
}

/** Encoded size of a batch record (corrected time u64 ‖ u16 length ‖ record). */
export function batchRecordSize(r: BatchRecord): number {
  return 8 + 2 + r.bytes.length;
}

/** Bytes of a batch besides its records. */
export function batchFixedSize(certificateLength: number, checkpoints: number): number {
  return 1 + BATCH_ID_LEN + HUB_ID_LEN + 8 + DEVICE_ID_LEN + 2 + certificateLength + 2 + 1 + checkpoints * (4 + HASH_LEN + SIGNATURE_LEN);
}

function checkIncreasing(seqs: readonly number[], what: string): void {
  for (let i = 1; i < seqs.length; i++) {
    if ((seqs[i] as number) <= (seqs[i - 1] as number)) throw new RangeError(`${what} must be in strictly increasing seq order`);
  }
}

/** The §11.2 encoding; throws `RangeError` for a batch out of its bounds. */
export function encodeBatch(batch: ReadingBatch): Uint8Array {
  const { batchId, hubId, deviceId, certificate, records, checkpoints } = batch;
  if (batchId.length !== BATCH_ID_LEN || hubId.length !== HUB_ID_LEN || deviceId.length !== DEVICE_ID_LEN) throw new RangeError('bad batch ids');
  if (certificate.length < 1 || certificate.length > MAX_CERTIFICATE_LEN) throw new RangeError('bad certificate length');
  if (records.length < 1 || records.length > MAX_BATCH_RECORDS) throw new RangeError(`a batch holds 1..${MAX_BATCH_RECORDS} records`);
  if (checkpoints.length > MAX_BATCH_CHECKPOINTS) throw new RangeError(`a batch holds at most ${MAX_BATCH_CHECKPOINTS} checkpoints`);
  checkIncreasing(records.map((r) => r.record.seq), 'records');
  checkIncreasing(checkpoints.map((c) => c.seq), 'checkpoints');
  let size = batchFixedSize(certificate.length, checkpoints.length);
  for (const r of records) size += batchRecordSize(r);
  if (size > MAX_BATCH_PLAINTEXT) throw new RangeError('batch too large');
  const w = new ByteWriter(size);
  w.u8(BATCH_FORMAT_VERSION).bytes(batchId).bytes(hubId).u64(batch.createdAtMs).bytes(deviceId);
  w.u16(certificate.length).bytes(certificate);
  w.u16(records.length);
  for (const r of records) {
    if (r.bytes.length < 1 || r.bytes.length > MAX_RECORD_LEN) throw new RangeError('bad record encoding');
    w.u64(r.correctedTimeMs).u16(r.bytes.length).bytes(r.bytes);
  }
  w.u8(checkpoints.length);
  for (const c of checkpoints) {
    if (c.head.length !== HASH_LEN || c.signature.length !== SIGNATURE_LEN) throw new RangeError('bad checkpoint');
    w.u32(c.seq).bytes(c.head).bytes(c.signature);
  }
  return w.finish();
}

/** Decodes §11.2; every bound is checked and every failure is a `DecodeError`. */
export function decodeBatch(bytes: Uint8Array): ReadingBatch {
  if (bytes.length > MAX_BATCH_PLAINTEXT) throw new DecodeError('too-large', 'batch too large');
  const r = new ByteReader(bytes);
  if (r.u8() !== BATCH_FORMAT_VERSION) throw new DecodeError('unsupported-version', 'unknown batch format');
  const batchId = r.bytes(BATCH_ID_LEN);
  const hubId = r.bytes(HUB_ID_LEN);
  const createdAtMs = r.u64Number();
  const deviceId = r.bytes(DEVICE_ID_LEN);
  const certLength = r.u16();
  if (certLength < 1 || certLength > MAX_CERTIFICATE_LEN) throw new DecodeError('out-of-range', 'certificate length out of range');
  const certificate = r.bytes(certLength);
  // The certificate must decode and be the device's own; whether it is trusted is the cloud's call.
  if (!equalBytes(decodeCertificate(certificate).deviceId, deviceId)) throw new DecodeError('malformed', 'certificate is for another device');
  const count = r.u16();
  if (count < 1 || count > MAX_BATCH_RECORDS) throw new DecodeError('out-of-range', 'record count out of range');
  const records: BatchRecord[] = [];
  let lastSeq = 0;
  for (let i = 0; i < count; i++) {
    const correctedTimeMs = r.u64Number();
    const length = r.u16();
    if (length < 1 || length > MAX_RECORD_LEN) throw new DecodeError('out-of-range', 'record length out of range');
    const recordBytes = r.bytes(length);
    const record = decodeRecordBytes(recordBytes);
    if (record.seq <= lastSeq) throw new DecodeError('malformed', 'records out of seq order');
    lastSeq = record.seq;
    records.push({ correctedTimeMs, record, bytes: recordBytes });
  }
  const checkpointCount = r.u8();
  if (checkpointCount > MAX_BATCH_CHECKPOINTS) throw new DecodeError('out-of-range', 'too many checkpoints');
  const checkpoints: Checkpoint[] = [];
  let lastCheckpoint = 0;
  for (let i = 0; i < checkpointCount; i++) {
    const seq = r.u32();
    if (seq <= lastCheckpoint) throw new DecodeError('malformed', 'checkpoints out of seq order');
    lastCheckpoint = seq;
    checkpoints.push({ seq, head: r.bytes(HASH_LEN), signature: r.bytes(SIGNATURE_LEN) });
  }
  r.end();
  return { batchId, hubId, createdAtMs, deviceId, certificate, records, checkpoints };
}

/**
 * Splits records (in seq order) into runs that each fit one batch with this certificate and
 * these many checkpoints (the checkpoints go with the last run).
 */
export function splitForBatches(records: readonly BatchRecord[], certificateLength: number, checkpoints: number): BatchRecord[][] {
  const runs: BatchRecord[][] = [];
  let run: BatchRecord[] = [];
  const base = batchFixedSize(certificateLength, Math.min(checkpoints, MAX_BATCH_CHECKPOINTS));
  let size = base;
  for (const r of records) {
    const n = batchRecordSize(r);
    if (run.length > 0 && (run.length >= MAX_BATCH_RECORDS || size + n > MAX_BATCH_PLAINTEXT)) {
      runs.push(run);
      run = [];
      size = base;
    }
    run.push(r);
    size += n;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
