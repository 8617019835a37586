/**
 * Master key rotation (issue 5 §5): every patient data key is unwrapped with the old master key
 * and wrapped with the new one — the data itself is not re-encrypted — and the audit head is
 * re-signed under the new key, all in one transaction. Rows already under the new key are skipped,
 * so an interrupted rotation can simply be run again.
 */
import { equalBytes } from '../../src/core/bytes.js';
import type { Database } from '../db/database.js';
import { IntegrityError } from '../errors.js';
import { AUDIT_ANCHOR_PURPOSE, AuditLog, headMac } from '../audit/audit-log.js';
import type { KeyProvider } from './key-provider.js';
import { patientKeyContext } from './patient-keys.js';

export interface RotationResult {
  readonly rewrapped: number;
  readonly alreadyRotated: number;
}

export async function rotateMasterKey(db: Database, oldKeys: KeyProvider, newKeys: KeyProvider): Promise<RotationResult> {
  if (oldKeys.keyId === newKeys.keyId) throw new RangeError('the new master key is the same as the current one');
  const oldAnchor = await oldKeys.deriveKey(AUDIT_ANCHOR_PURPOSE);
  const newAnchor = await newKeys.deriveKey(AUDIT_ANCHOR_PURPOSE);
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ patient_id: string; master_key_id: string; wrapped: Uint8Array }>(
      'SELECT patient_id, master_key_id, wrapped FROM patient_keys ORDER BY patient_id FOR UPDATE',
    );
    let rewrapped = 0;
    let alreadyRotated = 0;
    for (const row of rows.rows) {
      if (row.master_key_id === newKeys.keyId) {
        alreadyRotated += 1;
        continue;
      }
      const context = patientKeyContext(row.patient_id);
      const key = await oldKeys.unwrap(new Uint8Array(row.wrapped), context);
      const wrapped = await newKeys.wrap(key, context);
      key.fill(0);
      await tx.query('UPDATE patient_keys SET master_key_id = $2, wrapped = $3, rotated_at = now() WHERE patient_id = $1', [row.patient_id, newKeys.keyId, wrapped]);
      rewrapped += 1;
    }
    const head = (await tx.query<{ seq: string; hash: Uint8Array; mac: Uint8Array | null }>('SELECT seq::text AS seq, hash, mac FROM audit_head WHERE id = 1 FOR UPDATE')).rows[0];
    if (head !== undefined && Number(head.seq) > 0) {
      const seq = Number(head.seq);
      const hash = new Uint8Array(head.hash);
      const mac = head.mac === null ? undefined : new Uint8Array(head.mac);
      const underNew = mac !== undefined && equalBytes(mac, headMac(newAnchor, seq, hash));
      if (!underNew) {
        // Re-sign only a head the old key vouches for: rotation must not launder a tampered log.
        if (mac === undefined || !equalBytes(mac, headMac(oldAnchor, seq, hash))) throw new IntegrityError('the audit head does not verify under the current master key; run audit:verify');
        await tx.query('UPDATE audit_head SET mac = $1 WHERE id = 1', [headMac(newAnchor, seq, hash)]);
      }
    }
    await new AuditLog(db, newKeys).appendIn(tx, {
      actor: 'system',
      action: 'keys.rotate',
      resource: 'master-key',
      decision: 'success',
      detail: { rewrapped, alreadyRotated, newKeyId: newKeys.keyId },
    });
    return { rewrapped, alreadyRotated };
  });
}
