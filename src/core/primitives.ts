/**
 * The one cipher suite of Vitalock (docs/protocol.md §1.2): X25519, Ed25519, ChaCha20-Poly1305
 * (16-byte tag), XChaCha20-Poly1305 for storage, SHA-256/SHA-512, HMAC and HKDF — every call the
 * protocol makes into @noble goes through these wrappers, so the vector suites test exactly the
 * code paths the protocol uses.
 *
 * Randomness and time are never taken from the platform here: callers pass a `Random` and a
 * `Clock`, so tests are deterministic and the core stays free of I/O.
 */
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { ProtocolError } from './errors.js';

/** Returns `n` cryptographically secure random bytes. */
export type Random = (n: number) => Uint8Array;
/** Returns the current time in milliseconds since the Unix epoch. */
export type Clock = () => number;

export const KEY_LEN = 32;
export const TAG_LEN = 16;
export const DH_LEN = 32;
export const HASH_LEN = 32;
export const SIGNATURE_LEN = 64;
export const NONCE_LEN = 12;
export const XNONCE_LEN = 24;

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

// ── X25519 (RFC 7748) ───────────────────────────────────────────────────────────────────────────

export function x25519KeyPair(random: Random): KeyPair {
  const secretKey = random(DH_LEN);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/**
 * X25519 with the all-zero output rejected (RFC 7748 §6.1): a low-order peer key would otherwise
 * force a known shared secret. The error is the generic authentication failure, so a peer cannot
 * tell this check apart from a bad tag.
 */
export function dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (secretKey.length !== DH_LEN || publicKey.length !== DH_LEN) {
    throw new ProtocolError('auth-failed', 'key agreement failed');
  }
  try {
    return x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    throw new ProtocolError('auth-failed', 'key agreement failed');
  }
}

// ── Ed25519 (RFC 8032) ──────────────────────────────────────────────────────────────────────────

export function ed25519KeyPair(random: Random): KeyPair {
  const secretKey = random(32);
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

/**
 * Strict RFC 8032 verification (not ZIP-215): non-canonical encodings and small-order keys are
 * refused. Returns false for any malformed input rather than throwing.
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== SIGNATURE_LEN) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

// ── Hashes and KDFs ─────────────────────────────────────────────────────────────────────────────

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export function sha512(data: Uint8Array): Uint8Array {
  return nobleSha512(data);
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, data);
}

/** RFC 5869 HKDF-SHA-256. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  return hkdf(nobleSha256, ikm, salt, info, length);
}

// ── AEAD (RFC 8439, and XChaCha20-Poly1305 from draft-irtf-cfrg-xchacha) ────────────────────────

export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

/** Opens or throws the generic `auth-failed` error: no detail about why it failed. */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  if (ciphertext.length < TAG_LEN) throw new ProtocolError('auth-failed', 'message failed authentication');
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    throw new ProtocolError('auth-failed', 'message failed authentication');
  }
}

export function xaeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

export function xaeadOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  if (ciphertext.length < TAG_LEN) throw new ProtocolError('auth-failed', 'message failed authentication');
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    throw new ProtocolError('auth-failed', 'message failed authentication');
  }
}

/** Nonce of Noise's ChaChaPoly: 32 bits of zeros, then the 64-bit counter little-endian (§7.2). */
export function noiseNonce(counter: bigint): Uint8Array {
  const nonce = new Uint8Array(NONCE_LEN);
  new DataView(nonce.buffer).setBigUint64(4, counter, true);
  return nonce;
}
