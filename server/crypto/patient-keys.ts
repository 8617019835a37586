/**
 * Per-patient data keys (issue 5 §5): one random 32-byte key per patient, stored only wrapped by
 * the master key (`patient_keys`), the wrap bound to the patient id. Unwrapped keys are cached in
 * memory for speed; the cache holds no state the database does not, so instances stay stateless.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import type { KeyProvider } from './key-provider.js';

const CACHE_LIMIT = 10_000;

export const patientKeyContext = (patientId: string): string => `patient-key/${patientId}`;

export class PatientKeyring {
  readonly #cache = new Map<string, Uint8Array>();

  constructor(private readonly keys: KeyProvider) {}

  /** The patient's data key, created and stored (wrapped) on first use. */
  async keyFor(q: Queryable, patientId: string): Promise<Uint8Array> {
    const known = await this.existingKey(q, patientId);
    if (known !== undefined) return known;
    const fresh = new Uint8Array(randomBytes(32));
    const wrapped = await this.keys.wrap(fresh, patientKeyContext(patientId));
    await q.query('INSERT INTO patient_keys (patient_id, master_key_id, wrapped) VALUES ($1, $2, $3) ON CONFLICT (patient_id) DO NOTHING', [
      patientId,
      this.keys.keyId,
      wrapped,
    ]);
    // Another instance may have won the race: read back whichever key was stored.
    const stored = await this.existingKey(q, patientId);
    if (stored === undefined) throw new Error('patient key was not stored');
    return stored;
  }

  /** The patient's data key, or undefined when the patient has none yet (no clinical data). */
  async existingKey(q: Queryable, patientId: string): Promise<Uint8Array | undefined> {
    const cached = this.#cache.get(patientId);
    if (cached !== undefined) return cached;
    const row = (await q.query<{ wrapped: Uint8Array }>('SELECT wrapped FROM patient_keys WHERE patient_id = $1', [patientId])).rows[0];
    if (row === undefined) return undefined;
    const key = await this.keys.unwrap(new Uint8Array(row.wrapped), patientKeyContext(patientId));
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(patientId, key);
    return key;
  }
}
