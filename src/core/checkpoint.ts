/**
 * Record hash chain and signed checkpoints (docs/protocol.md §8.4).
 *
 *   head_0 = SHA-256("VITALOCK-CHAIN-1" ‖ device id)
 *   head_n = SHA-256(head_(n−1) ‖ u16 length ‖ record_n)          record_n: the §8.2 encoding
 *   signature = Ed25519(device signing key, "VITALOCK-CHECKPOINT-1" ‖ device id ‖ seq u32 ‖ head_n)
 *
 * The transport already authenticates records hop by hop; the chain makes them verifiable end to
 * end, so whoever relays or stores them (a phone, a server) cannot fabricate, alter, drop or
 * reorder a record without the checkpoint failing. The length prefix keeps the record boundary
 * unambiguous inside the hash.
 */
import { ByteReader, ByteWriter, equalBytes, utf8 } from './bytes.js';
import { DEVICE_ID_LEN } from './certificate.js';
import { HASH_LEN, sha256, sign, SIGNATURE_LEN, verify } from './primitives.js';
import { decodeRecord } from './readings.js';

export const CHAIN_LABEL: Uint8Array = utf8('VITALOCK-CHAIN-1');
export const CHECKPOINT_LABEL: Uint8Array = utf8('VITALOCK-CHECKPOINT-1');
/** The sensor sends a checkpoint every this many records (§8.4). */
export const CHECKPOINT_INTERVAL = 100;
const MAX_U32 = 0xffffffff;

/** Body of a CHECKPOINT message (§8): head_seq signed by the device. */
export interface Checkpoint {
  /** n ≥ 1: the number of records the head covers. */
  readonly seq: number;
  /** head_n, 32 bytes. */
  readonly head: Uint8Array;
  /** 64 bytes. */
  readonly signature: Uint8Array;
}

function checkDeviceId(deviceId: Uint8Array): void {
  if (deviceId.length !== DEVICE_ID_LEN) throw new RangeError(`device id must be ${DEVICE_ID_LEN} bytes`);
}

/** head_0. */
export function chainStart(deviceId: Uint8Array): Uint8Array {
  checkDeviceId(deviceId);
  const input = new Uint8Array(CHAIN_LABEL.length + DEVICE_ID_LEN);
  input.set(CHAIN_LABEL, 0);
  input.set(deviceId, CHAIN_LABEL.length);
  return sha256(input);
}

/** head_n from head_(n−1) and the encoding of record n. */
export function chainNext(head: Uint8Array, recordBytes: Uint8Array): Uint8Array {
  if (head.length !== HASH_LEN) throw new RangeError(`chain head must be ${HASH_LEN} bytes`);
  if (recordBytes.length < 1 || recordBytes.length > 0xffff) throw new RangeError('record length out of range');
  const input = new Uint8Array(HASH_LEN + 2 + recordBytes.length);
  input.set(head, 0);
  input[HASH_LEN] = recordBytes.length >>> 8;
  input[HASH_LEN + 1] = recordBytes.length & 0xff;
  input.set(recordBytes, HASH_LEN + 2);
  return sha256(input);
}

/** The running chain of one device (the sensor keeps one; a verifier recomputes one). */
export class RecordChain {
  private current: Uint8Array;
  private count = 0;

  /** @param resume the head and count a device kept across a restart (its flash). */
  constructor(deviceId: Uint8Array, resume?: { readonly head: Uint8Array; readonly seq: number }) {
    this.current = chainStart(deviceId);
    if (resume !== undefined) {
      if (resume.head.length !== HASH_LEN || !Number.isSafeInteger(resume.seq) || resume.seq < 0) throw new RangeError('bad chain state');
      this.current = resume.head.slice();
      this.count = resume.seq;
    }
  }

  /** Appends record seq + 1 (its §8.2 encoding) and returns the new head. */
  append(recordBytes: Uint8Array): Uint8Array {
    this.current = chainNext(this.current, recordBytes);
    this.count++;
    return this.current.slice();
  }

  /** head_seq (a copy). */
  get head(): Uint8Array {
    return this.current.slice();
  }

  /** Number of records appended: the n of head_n. */
  get seq(): number {
    return this.count;
  }
}

/** "VITALOCK-CHECKPOINT-1" ‖ device id ‖ seq u32 ‖ head. */
function checkpointInput(deviceId: Uint8Array, seq: number, head: Uint8Array): Uint8Array {
  return new ByteWriter(CHECKPOINT_LABEL.length + DEVICE_ID_LEN + 4 + HASH_LEN)
    .bytes(CHECKPOINT_LABEL)
    .bytes(deviceId)
    .u32(seq)
    .bytes(head)
    .finish();
}

function validSeq(seq: number): boolean {
  return Number.isInteger(seq) && seq >= 1 && seq <= MAX_U32;
}

/**
 * The 64-byte signature over head_seq with the device's Ed25519 signing key (sensor side); the
 * CHECKPOINT message is `{ seq, head, signature }`.
 */
export function signCheckpoint(signingSecretKey: Uint8Array, deviceId: Uint8Array, seq: number, head: Uint8Array): Uint8Array {
  checkDeviceId(deviceId);
  if (!validSeq(seq)) throw new RangeError(`checkpoint seq out of range: ${seq}`);
  if (head.length !== HASH_LEN) throw new RangeError(`chain head must be ${HASH_LEN} bytes`);
  return sign(signingSecretKey, checkpointInput(deviceId, seq, head));
}

/**
 * Whether the signature over the checkpoint verifies under the device's signing key (from its
 * certificate). Malformed input gives false, never an exception.
 */
export function verifyCheckpoint(signingPublicKey: Uint8Array, deviceId: Uint8Array, checkpoint: Checkpoint): boolean {
  if (deviceId.length !== DEVICE_ID_LEN || !validSeq(checkpoint.seq)) return false;
  if (checkpoint.head.length !== HASH_LEN || checkpoint.signature.length !== SIGNATURE_LEN) return false;
  return verify(signingPublicKey, checkpointInput(deviceId, checkpoint.seq, checkpoint.head), checkpoint.signature);
}

/**
 * Whether `records` — the encodings of records 1..n, in order — are exactly what the device
 * signed in `checkpoint` (n = checkpoint.seq). Beyond the hash, each record must decode and carry
 * its position as seq, so a verified list is also a well-formed one. False on any mismatch.
 */
export function verifyChain(
  deviceId: Uint8Array,
  records: readonly Uint8Array[],
  checkpoint: Checkpoint,
  signingPublicKey: Uint8Array,
): boolean {
  if (deviceId.length !== DEVICE_ID_LEN || records.length !== checkpoint.seq) return false;
  // The signature first: it is one operation, and without it the rest proves nothing.
  if (!verifyCheckpoint(signingPublicKey, deviceId, checkpoint)) return false;
  let head = chainStart(deviceId);
  for (let i = 0; i < records.length; i++) {
    const bytes = records[i] as Uint8Array;
    if (bytes.length < 1 || bytes.length > 0xffff) return false;
    try {
      const reader = new ByteReader(bytes);
      if (decodeRecord(reader).seq !== i + 1) return false;
      reader.end();
    } catch {
      return false;
    }
    head = chainNext(head, bytes);
  }
  return equalBytes(head, checkpoint.head);
}
