/**
 * Secrets the identity service keeps in the database — TOTP seeds and the private signing keys —
 * are sealed with XChaCha20-Poly1305 under a key derived from the identity key in the
 * configuration (HKDF-SHA256, one subkey per purpose). The associated data binds each ciphertext
 * to its row, so a sealed value copied to another account does not open.
 *
 * Layout: 24-byte random nonce ‖ ciphertext ‖ 16-byte tag.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from 'node:crypto';
import { concatBytes, utf8 } from '../../src/core/bytes.js';
import { EncodingError } from './errors.js';

const NONCE_BYTES = 24;
const TAG_BYTES = 16;

export type SealPurpose = 'totp-secret' | 'signing-key' | 'cookie-keys' | 'csrf';

/** HKDF-SHA256 (RFC 5869) subkey of the identity key for one purpose. */
export function subkey(identityKey: Uint8Array, purpose: SealPurpose): Uint8Array {
  return hkdf(sha256, identityKey, utf8('vitalock identity v1'), utf8(purpose), 32);
}

export function seal(identityKey: Uint8Array, purpose: SealPurpose, aad: string, plaintext: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
  const box = xchacha20poly1305(subkey(identityKey, purpose), nonce, utf8(aad)).encrypt(plaintext);
  return concatBytes(nonce, box);
}

export function open(identityKey: Uint8Array, purpose: SealPurpose, aad: string, sealed: Uint8Array): Uint8Array {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new EncodingError('sealed secret: truncated');
  const nonce = sealed.subarray(0, NONCE_BYTES);
  try {
    return xchacha20poly1305(subkey(identityKey, purpose), nonce, utf8(aad)).decrypt(sealed.subarray(NONCE_BYTES));
  } catch {
    throw new EncodingError('sealed secret: does not open with this key');
  }
}
