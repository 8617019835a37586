/**
 * The ingestion key list (docs/protocol.md §11.3): the cloud's X25519 keys that hubs seal batches
 * to, each with a validity period, signed by the deployment's Ed25519 key.
 *
 *   list = body ‖ signature (64)
 *   body = version u8 (= 1) ‖ list version u32 ‖ count u8 (1..16)
 *        ‖ count × (key id (8) ‖ X25519 public key (32) ‖ not before u32 ‖ not after u32)
 *   signature = Ed25519(deployment key, "VITALOCK-INGEST-KEYS-1" ‖ body)
 *
 * The app pins the deployment public key; a list is accepted only under that key and only if its
 * version is not older than the newest the hub has accepted (no rollback to a retired key). The
 * key to seal to is the one valid now with the latest not-before: so a new key can be published
 * ahead of its start and the old one kept until it ends.
 */
import { ByteReader, ByteWriter, concatBytes, equalBytes, utf8 } from './bytes.js';
import { keyId as publicKeyId, KEY_ID_LEN } from './certificate.js';
import { DecodeError } from './errors.js';
import { DH_LEN, sign, SIGNATURE_LEN, verify } from './primitives.js';

export const INGESTION_KEYS_VERSION = 1;
export const INGESTION_KEYS_SIGNATURE_CONTEXT: Uint8Array = utf8('VITALOCK-INGEST-KEYS-1');
export const MAX_INGESTION_KEYS = 16;
const MAX_U32 = 0xffffffff;

export interface IngestionKey {
  /** First 8 bytes of SHA-256(public key) (§1.4). */
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
  /** Unix seconds, inclusive. */
  readonly notBefore: number;
  /** Unix seconds, inclusive. */
  readonly notAfter: number;
}

export interface IngestionKeyList {
  /** Increases with each list the deployment signs. */
  readonly listVersion: number;
  readonly keys: readonly IngestionKey[];
  readonly signature: Uint8Array;
  /** The full encoding (body ‖ signature). */
  readonly bytes: Uint8Array;
}

export type IngestionKeysErrorReason = 'malformed' | 'bad-signature' | 'rollback' | 'no-current-key';

const REASON_TEXT: Record<IngestionKeysErrorReason, string> = {
  malformed: 'the ingestion key list is malformed',
  'bad-signature': 'the ingestion key list is not signed by this deployment',
  rollback: 'the ingestion key list is older than one already accepted',
  'no-current-key': 'no ingestion key in the list is valid now',
};

/** A key list refused; `reason` says which check failed. */
export class IngestionKeysError extends Error {
  override readonly name = 'IngestionKeysError';
  constructor(readonly reason: IngestionKeysErrorReason) {
    super(REASON_TEXT[reason]);
  }
}

export function ingestionKeyId(publicKey: Uint8Array): Uint8Array {
  return publicKeyId(publicKey);
}

function encodeBody(listVersion: number, keys: readonly Omit<IngestionKey, 'keyId'>[]): Uint8Array {
  if (!Number.isInteger(listVersion) || listVersion < 1 || listVersion > MAX_U32) throw new RangeError('list version out of range');
  if (keys.length < 1 || keys.length > MAX_INGESTION_KEYS) throw new RangeError(`a list holds 1..${MAX_INGESTION_KEYS} keys`);
  const w = new ByteWriter(6 + keys.length * 52);
  w.u8(INGESTION_KEYS_VERSION).u32(listVersion).u8(keys.length);
  for (const k of keys) {
    if (k.publicKey.length !== DH_LEN) throw new RangeError('an ingestion key is 32 bytes');
    if (!(k.notBefore < k.notAfter)) throw new RangeError('not before must precede not after');
    w.bytes(ingestionKeyId(k.publicKey)).bytes(k.publicKey).u32(k.notBefore).u32(k.notAfter);
  }
  return w.finish();
}

/** Signs a list with the deployment's Ed25519 secret key (the `keys:ingestion` command). */
export function issueIngestionKeyList(deploymentSecretKey: Uint8Array, listVersion: number, keys: readonly Omit<IngestionKey, 'keyId'>[]): Uint8Array {
  const body = encodeBody(listVersion, keys);
  return concatBytes(body, sign(deploymentSecretKey, concatBytes(INGESTION_KEYS_SIGNATURE_CONTEXT, body)));
}

/** Decodes without checking the signature; `DecodeError` for anything out of its bounds. */
export function decodeIngestionKeyList(bytes: Uint8Array): IngestionKeyList {
  const r = new ByteReader(bytes);
  if (r.u8() !== INGESTION_KEYS_VERSION) throw new DecodeError('unsupported-version', 'unknown key list version');
  const listVersion = r.u32();
  if (listVersion < 1) throw new DecodeError('out-of-range', 'list version out of range');
  const count = r.u8();
  if (count < 1 || count > MAX_INGESTION_KEYS) throw new DecodeError('out-of-range', 'key count out of range');
  const keys: IngestionKey[] = [];
  for (let i = 0; i < count; i++) {
    const keyId = r.bytes(KEY_ID_LEN);
    const publicKey = r.bytes(DH_LEN);
    const notBefore = r.u32();
    const notAfter = r.u32();
    if (notBefore >= notAfter) throw new DecodeError('out-of-range', 'key validity out of order');
    if (!equalBytes(keyId, ingestionKeyId(publicKey))) throw new DecodeError('malformed', 'key id does not match its key');
    keys.push({ keyId, publicKey, notBefore, notAfter });
  }
  const signature = r.bytes(SIGNATURE_LEN);
  r.end();
  return { listVersion, keys, signature, bytes: bytes.slice() };
}

export interface VerifyIngestionKeysOptions {
  /** The deployment's Ed25519 public key, pinned in the app's configuration. */
  readonly deploymentPublicKey: Uint8Array;
  /** The newest list version this hub has accepted before (0 when none). */
  readonly minListVersion: number;
}

/** Decodes and verifies a list: signature under the pinned key, then no rollback. */
export function verifyIngestionKeyList(bytes: Uint8Array, options: VerifyIngestionKeysOptions): IngestionKeyList {
  let list: IngestionKeyList;
  try {
    list = decodeIngestionKeyList(bytes);
  } catch (error) {
    if (error instanceof DecodeError) throw new IngestionKeysError('malformed');
    throw error;
  }
  const body = list.bytes.subarray(0, list.bytes.length - SIGNATURE_LEN);
  if (!verify(options.deploymentPublicKey, concatBytes(INGESTION_KEYS_SIGNATURE_CONTEXT, body), list.signature)) {
    throw new IngestionKeysError('bad-signature');
  }
  if (list.listVersion < options.minListVersion) throw new IngestionKeysError('rollback');
  return list;
}

/** The key to seal to at `nowMs`: valid now, latest not-before first. */
export function currentIngestionKey(list: IngestionKeyList, nowMs: number): IngestionKey {
  if (!Number.isFinite(nowMs)) throw new RangeError('nowMs must be a finite number');
  const nowS = Math.floor(nowMs / 1000);
  let best: IngestionKey | undefined;
  for (const k of list.keys) {
    if (k.notBefore <= nowS && nowS <= k.notAfter && (best === undefined || k.notBefore > best.notBefore)) best = k;
  }
  if (best === undefined) throw new IngestionKeysError('no-current-key');
  return best;
}
