/**
 * Sealing one reading's value at rest (issue 5 §5): XChaCha20-Poly1305 under the patient's data
 * key, random 24-byte nonce, associated data binding the table, the record id (device id and
 * sequence) and the patient — so a value copied to another row or another patient does not open.
 */
import { randomBytes } from 'node:crypto';
import { concatBytes, utf8 } from '../../src/core/bytes.js';
import { xaeadOpen, xaeadSeal, XNONCE_LEN } from '../../src/core/primitives.js';
import { IntegrityError } from '../errors.js';

export interface ObservationRowId {
  readonly deviceId: string;
  readonly seq: number;
  readonly patientId: string;
}

function associatedData(id: ObservationRowId): Uint8Array {
  return utf8(`vitalock/observations/v1\0${id.deviceId}\0${id.seq}\0${id.patientId}`);
}

export function sealObservationValue(dataKey: Uint8Array, id: ObservationRowId, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(XNONCE_LEN);
  return concatBytes(nonce, xaeadSeal(dataKey, nonce, plaintext, associatedData(id)));
}

export function openObservationValue(dataKey: Uint8Array, id: ObservationRowId, sealed: Uint8Array): Uint8Array {
  try {
    return xaeadOpen(dataKey, sealed.subarray(0, XNONCE_LEN), sealed.subarray(XNONCE_LEN), associatedData(id));
  } catch {
    throw new IntegrityError('a stored observation failed authentication');
  }
}
