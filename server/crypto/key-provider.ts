/**
 * The master key behind a small interface (issue 5 §5): it wraps and unwraps the per-patient data
 * keys and derives the few server keys (audit head MAC, backup). `LocalKeyProvider` holds a
 * 32-byte key from the environment or the data folder; a KMS-backed provider can implement the
 * same interface (wrap/unwrap map to KMS encrypt/decrypt, `deriveKey` to a KMS MAC).
 */
import { randomBytes } from 'node:crypto';
import { toHex, utf8, concatBytes, wipe } from '../../src/core/bytes.js';
import { hkdfSha256, sha256, xaeadOpen, xaeadSeal, XNONCE_LEN } from '../../src/core/primitives.js';
import { IntegrityError } from '../errors.js';

export const MASTER_KEY_LEN = 32;

export interface KeyProvider {
  /** Names this master key without revealing it; stored beside every key it wraps. */
  readonly keyId: string;
  /** XChaCha20-Poly1305 under the master key; `context` is bound as associated data. */
  wrap(key: Uint8Array, context: string): Promise<Uint8Array>;
  /** Throws `IntegrityError` if the box was altered, moved to another context, or wrapped by another key. */
  unwrap(wrapped: Uint8Array, context: string): Promise<Uint8Array>;
  /** A 32-byte key for one named purpose, derived from the master key (HKDF-SHA-256). */
  deriveKey(purpose: string): Promise<Uint8Array>;
}

const WRAP_DOMAIN = 'vitalock/server/wrap/v1\0';

export class LocalKeyProvider implements KeyProvider {
  readonly keyId: string;
  readonly #master: Uint8Array;

  constructor(master: Uint8Array) {
    if (master.length !== MASTER_KEY_LEN) throw new RangeError('master key must be 32 bytes');
    this.#master = master.slice();
    this.keyId = masterKeyId(master);
  }

  async wrap(key: Uint8Array, context: string): Promise<Uint8Array> {
    const nonce = randomBytes(XNONCE_LEN);
    return concatBytes(nonce, xaeadSeal(this.#master, nonce, key, utf8(WRAP_DOMAIN + context)));
  }

  async unwrap(wrapped: Uint8Array, context: string): Promise<Uint8Array> {
    try {
      return xaeadOpen(this.#master, wrapped.subarray(0, XNONCE_LEN), wrapped.subarray(XNONCE_LEN), utf8(WRAP_DOMAIN + context));
    } catch {
      throw new IntegrityError('a wrapped key did not open under this master key');
    }
  }

  async deriveKey(purpose: string): Promise<Uint8Array> {
    return hkdfSha256(this.#master, undefined, utf8('vitalock/server/derive/v1\0' + purpose), 32);
  }

  /** Drops the key from memory (shutdown, end of a rotation). */
  destroy(): void {
    wipe(this.#master);
  }
}

export function masterKeyId(master: Uint8Array): string {
  return toHex(sha256(concatBytes(utf8('vitalock/server/key-id/v1\0'), master))).slice(0, 16);
}

export function generateMasterKey(): Uint8Array {
  return new Uint8Array(randomBytes(MASTER_KEY_LEN));
}

/** Parses a master key written as 64 hex digits or base64/base64url of 32 bytes. */
export function parseMasterKey(text: string): Uint8Array {
  const t = text.trim();
  let bytes: Uint8Array;
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = new Uint8Array(Buffer.from(t, 'hex'));
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) bytes = new Uint8Array(Buffer.from(t, 'base64'));
  else throw new RangeError('a master key is 64 hex digits or 43 base64 characters (32 bytes)');
  if (bytes.length !== MASTER_KEY_LEN) throw new RangeError('a master key is 32 bytes');
  return bytes;
}

export function formatMasterKey(master: Uint8Array): string {
  return Buffer.from(master).toString('base64url');
}
