/**
 * Encryption of one stored value (docs/vault.md §2.2) and sealing to the storage public key for
 * records that arrive while the vault is locked (§3.3).
 *
 * Under the record key RK:
 *
 *     value = 0x01 ‖ nonce (24 random bytes) ‖ XChaCha20-Poly1305(RK, nonce, plaintext, ad)
 *
 * Sealed to the storage public key (no secret needed to write, only the storage secret key opens):
 *
 *     value = 0x02 ‖ E (ephemeral X25519 public key, 32) ‖ XChaCha20-Poly1305(k, n, plaintext, ad)
 *     k ‖ n = HKDF-SHA-256(ikm = X25519(e, S), salt = E ‖ S, info = "VITALOCK-VAULT-SEAL-1", 56)
 *
 * where S is the storage public key. Each value has its own ephemeral key, so k is never reused
 * and the nonce can be derived instead of sent.
 *
 * Both use the same associated data:
 *
 *     ad = "VITALOCK-VAULT-1" ‖ store (ASCII) ‖ 0x00 ‖ canonicalKey(primary key) ‖ schema version (u16)
 *
 * The store name has no 0x00 and the canonical key is self-delimiting, so `ad` is an injective
 * function of (store, key, version): a value copied into another row, or into a row of the same
 * key in another store, fails to open. The schema version is the one that defined the value's
 * format (1 for both formats here). It is carried by the value's first byte rather than read from
 * the database, so a later schema may keep old values as they are and still open them.
 *
 * Every failure to open — wrong key, tampered byte, wrong row or store, unknown version, a value
 * that is not even bytes — is the same `VaultIntegrityError`; nothing is returned unauthenticated.
 */
import { ByteWriter, concatBytes, wipe } from '../../src/core/bytes.js';
import {
  DH_LEN,
  KEY_LEN,
  TAG_LEN,
  XNONCE_LEN,
  dh,
  hkdfSha256,
  x25519PublicKey,
  xaeadOpen,
  xaeadSeal,
  type Random,
} from '../../src/core/primitives.js';

export const VALUE_AD_LABEL = 'VITALOCK-VAULT-1';
export const SEAL_INFO = 'VITALOCK-VAULT-SEAL-1';
/** First byte of a value encrypted under the record key. */
export const RECORD_KEY_FORMAT = 0x01;
/** First byte of a value sealed to the storage public key. */
export const PUBLIC_KEY_FORMAT = 0x02;
/** The schema version (in `ad`) of each format. */
const FORMAT_SCHEMA_VERSION: ReadonlyMap<number, number> = new Map([
  [RECORD_KEY_FORMAT, 1],
  [PUBLIC_KEY_FORMAT, 1],
]);

/** Overhead of `sealValue`: format byte, nonce, tag. */
export const SEALED_VALUE_OVERHEAD = 1 + XNONCE_LEN + TAG_LEN;
/** Overhead of `sealToPublicKey`: format byte, ephemeral public key, tag. */
export const PUBLIC_KEY_SEAL_OVERHEAD = 1 + DH_LEN + TAG_LEN;

export type VaultIntegrityReason =
  /** Not a sealed value of the expected shape (not bytes, too short). */
  | 'malformed'
  /** The leading format byte is not one this code can open. */
  | 'unsupported-version'
  /** The tag did not verify: wrong key, tampered, or moved to another row or store. */
  | 'auth-failed'
  /** It opened, but what it holds contradicts its row (clear fields, device, first seq). */
  | 'mismatch';

/** A stored value failed to open or to check. The message is fixed and holds nothing secret. */
export class VaultIntegrityError extends Error {
  override readonly name = 'VaultIntegrityError';
  constructor(
    readonly reason: VaultIntegrityReason,
    /** The store the value came from. */
    readonly store: string,
    message = 'a stored value failed its integrity check',
  ) {
    super(message);
  }
}

// ── canonical key bytes ─────────────────────────────────────────────────────────────────────────

/** The primary keys the vault uses: IndexedDB keys restricted to numbers, strings and arrays. */
export type VaultKey = number | string | readonly VaultKey[];

const TAG_NUMBER = 0x10;
const TAG_STRING = 0x30;
const TAG_ARRAY = 0x50;
const MAX_KEY_DEPTH = 16;

/**
 * Deterministic, self-delimiting bytes for a key, such that two keys get the same bytes exactly
 * when IndexedDB treats them as the same key:
 *
 * - number: `0x10 ‖ IEEE 754 binary64, big-endian` (−0 is written as +0, as IndexedDB compares
 *   them equal; NaN is not a key and throws);
 * - string: `0x30 ‖ u32 length in UTF-16 code units ‖ each code unit as u16 big-endian` (UTF-16,
 *   not UTF-8, so that strings with lone surrogates — valid keys — stay distinct);
 * - array: `0x50 ‖ u32 element count ‖ each element's bytes`.
 *
 * The tags follow IndexedDB's order of types (number < string < array, with room for date and
 * binary should they ever be used). Throws `RangeError` for anything else.
 */
export function canonicalKey(key: VaultKey): Uint8Array {
  const writer = new ByteWriter(32);
  writeKey(writer, key, 0);
  return writer.finish();
}

function writeKey(writer: ByteWriter, key: VaultKey, depth: number): void {
  if (typeof key === 'number') {
    if (Number.isNaN(key)) throw new RangeError('NaN is not a valid key');
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, key === 0 ? 0 : key);
    writer.u8(TAG_NUMBER).bytes(bytes);
  } else if (typeof key === 'string') {
    writer.u8(TAG_STRING).u32(key.length);
    for (let i = 0; i < key.length; i++) writer.u16(key.charCodeAt(i));
  } else if (Array.isArray(key)) {
    if (depth >= MAX_KEY_DEPTH) throw new RangeError('key nested too deeply');
    const items = key as readonly VaultKey[];
    writer.u8(TAG_ARRAY).u32(items.length);
    for (const item of items) writeKey(writer, item, depth + 1);
  } else {
    throw new RangeError('a vault key is a number, a string or an array of those');
  }
}

// ── associated data ─────────────────────────────────────────────────────────────────────────────

const LABEL_BYTES = new TextEncoder().encode(VALUE_AD_LABEL);
const SEAL_INFO_BYTES = new TextEncoder().encode(SEAL_INFO);

function storeBytes(store: string): Uint8Array {
  if (!/^[\x21-\x7e]+$/.test(store)) throw new RangeError('a store name is printable ASCII');
  return new TextEncoder().encode(store);
}

/** `"VITALOCK-VAULT-1" ‖ store ‖ 0x00 ‖ keyBytes ‖ schema version u16` (§2.2). */
export function valueAd(store: string, keyBytes: Uint8Array, schemaVersion: number): Uint8Array {
  return new ByteWriter(LABEL_BYTES.length + store.length + keyBytes.length + 3)
    .bytes(LABEL_BYTES)
    .bytes(storeBytes(store))
    .u8(0)
    .bytes(keyBytes)
    .u16(schemaVersion)
    .finish();
}

function checkKeyLength(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LEN) throw new RangeError(`${what} must be ${KEY_LEN} bytes`);
}

function randomBytes(random: Random, n: number): Uint8Array {
  const bytes = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) throw new RangeError('the random source returned the wrong length');
  return bytes;
}

/** Checks the shape and the format byte of a stored value. */
function checkSealed(sealed: unknown, store: string, format: number, minLength: number): asserts sealed is Uint8Array {
  if (!(sealed instanceof Uint8Array) || sealed.length === 0) throw new VaultIntegrityError('malformed', store);
  if (sealed[0] !== format) throw new VaultIntegrityError('unsupported-version', store);
  if (sealed.length < minLength) throw new VaultIntegrityError('malformed', store);
}

// ── under the record key (§2.2) ─────────────────────────────────────────────────────────────────

/** Encrypts `plaintext` for the row `keyBytes` (from `canonicalKey`) of `store`. */
export function sealValue(recordKey: Uint8Array, store: string, keyBytes: Uint8Array, plaintext: Uint8Array, random: Random): Uint8Array {
  checkKeyLength(recordKey, 'the record key');
  const ad = valueAd(store, keyBytes, FORMAT_SCHEMA_VERSION.get(RECORD_KEY_FORMAT) as number);
  const nonce = randomBytes(random, XNONCE_LEN);
  return concatBytes(Uint8Array.of(RECORD_KEY_FORMAT), nonce, xaeadSeal(recordKey, nonce, plaintext, ad));
}

/** Opens a value of `sealValue`, or throws `VaultIntegrityError`. */
export function openValue(recordKey: Uint8Array, store: string, keyBytes: Uint8Array, sealed: unknown): Uint8Array {
  checkKeyLength(recordKey, 'the record key');
  checkSealed(sealed, store, RECORD_KEY_FORMAT, SEALED_VALUE_OVERHEAD);
  const ad = valueAd(store, keyBytes, FORMAT_SCHEMA_VERSION.get(RECORD_KEY_FORMAT) as number);
  const nonce = sealed.subarray(1, 1 + XNONCE_LEN);
  try {
    return xaeadOpen(recordKey, nonce, sealed.subarray(1 + XNONCE_LEN), ad);
  } catch {
    throw new VaultIntegrityError('auth-failed', store);
  }
}

// ── to the storage public key (§3.3) ────────────────────────────────────────────────────────────

function sealKeys(shared: Uint8Array, ephemeralPublic: Uint8Array, storagePublic: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const okm = hkdfSha256(shared, concatBytes(ephemeralPublic, storagePublic), SEAL_INFO_BYTES, KEY_LEN + XNONCE_LEN);
  const out = { key: okm.slice(0, KEY_LEN), nonce: okm.slice(KEY_LEN) };
  wipe(okm);
  return out;
}

/**
 * Seals `plaintext` so that only the storage secret key opens it. Needs no secret: this is what
 * the worker can still do while locked. Throws `RangeError` for an invalid public key.
 */
export function sealToPublicKey(
  storagePublicKey: Uint8Array,
  store: string,
  keyBytes: Uint8Array,
  plaintext: Uint8Array,
  random: Random,
): Uint8Array {
  checkKeyLength(storagePublicKey, 'the storage public key');
  const ad = valueAd(store, keyBytes, FORMAT_SCHEMA_VERSION.get(PUBLIC_KEY_FORMAT) as number);
  const ephemeral = randomBytes(random, DH_LEN);
  let shared: Uint8Array | undefined;
  let keys: { key: Uint8Array; nonce: Uint8Array } | undefined;
  try {
    const ephemeralPublic = x25519PublicKey(ephemeral);
    try {
      shared = dh(ephemeral, storagePublicKey);
    } catch {
      throw new RangeError('the storage public key is not a usable X25519 key');
    }
    keys = sealKeys(shared, ephemeralPublic, storagePublicKey);
    return concatBytes(Uint8Array.of(PUBLIC_KEY_FORMAT), ephemeralPublic, xaeadSeal(keys.key, keys.nonce, plaintext, ad));
  } finally {
    wipe(ephemeral, shared, keys?.key);
  }
}

/** Opens a value of `sealToPublicKey` with the storage secret key, or throws `VaultIntegrityError`. */
export function openWithSecretKey(storageSecretKey: Uint8Array, store: string, keyBytes: Uint8Array, sealed: unknown): Uint8Array {
  checkKeyLength(storageSecretKey, 'the storage secret key');
  checkSealed(sealed, store, PUBLIC_KEY_FORMAT, PUBLIC_KEY_SEAL_OVERHEAD);
  const ad = valueAd(store, keyBytes, FORMAT_SCHEMA_VERSION.get(PUBLIC_KEY_FORMAT) as number);
  const ephemeralPublic = sealed.subarray(1, 1 + DH_LEN);
  let shared: Uint8Array | undefined;
  let keys: { key: Uint8Array; nonce: Uint8Array } | undefined;
  try {
    shared = dh(storageSecretKey, ephemeralPublic);
    keys = sealKeys(shared, ephemeralPublic, x25519PublicKey(storageSecretKey));
    return xaeadOpen(keys.key, keys.nonce, sealed.subarray(1 + DH_LEN), ad);
  } catch {
    throw new VaultIntegrityError('auth-failed', store);
  } finally {
    wipe(shared, keys?.key);
  }
}
