/**
 * The hub's trust store and certificate revocation lists (docs/protocol.md §6.2 Trust store and
 * revocation; key ids from §1.4).
 *
 * One entry per manufacturer CA. A revocation list is signed by the CA that issued the revoked
 * certificates, so a CA can only revoke its own devices, and the newest list of each CA replaces
 * the previous one as a whole (lists are complete, not deltas).
 *
 * Pure: time comes in as a number (Unix ms); persisting the applied lists is the caller's job
 * (`revocationLists()` returns them for that).
 */
import { ByteReader, ByteWriter, concatBytes, toHex, utf8 } from './bytes.js';
import { CertificateError, DEVICE_ID_LEN, KEY_ID_LEN, PUBLIC_KEY_LEN, keyId } from './certificate.js';
import { DecodeError } from './errors.js';
import { SIGNATURE_LEN, ed25519PublicKey, sign, verify } from './primitives.js';

export const REVOCATION_LIST_VERSION = 1;
/** Domain separation from certificate signatures made with the same CA key (§6.1). */
export const REVOCATION_LIST_SIGNATURE_CONTEXT = utf8('VITALOCK-CRL-1');
export const REVOCATION_LIST_MAX_COUNT = 0xffff;
/**
 * How far in the future (by the hub's clock) a list's issue time may be when `nowMs` is given.
 * Not in the spec: without a bound, one list dated far ahead would make every later list "not
 * newer" and freeze revocation for that CA; the slack tolerates a hub clock a little slow.
 */
export const REVOCATION_LIST_MAX_FUTURE_S = 300;

export interface TrustedRoot {
  /** Manufacturer name, shown to the user. */
  readonly name: string;
  /** The CA's Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

export interface TrustAnchor extends TrustedRoot {
  readonly keyId: Uint8Array;
}

export interface RevocationList {
  readonly version: 1;
  readonly issuerKeyId: Uint8Array;
  /** Unix seconds. */
  readonly issuedAt: number;
  readonly deviceIds: readonly Uint8Array[];
  readonly signature: Uint8Array;
  /** The full encoding (body ‖ signature). */
  readonly bytes: Uint8Array;
}

interface HeldList {
  readonly issuedAt: number;
  readonly revoked: ReadonlySet<string>;
  readonly bytes: Uint8Array;
}

export class TrustStore {
  private readonly anchors = new Map<string, TrustAnchor>();
  private readonly lists = new Map<string, HeldList>();

  constructor(roots: readonly TrustedRoot[]) {
    for (const { name, publicKey } of roots) {
      if (publicKey.length !== PUBLIC_KEY_LEN) throw new RangeError('a CA public key is 32 bytes');
      if (name.length === 0) throw new RangeError('a CA needs a name');
      const id = keyId(publicKey);
      const key = toHex(id);
      // Two roots under one key id would make "the CA named by this key id" ambiguous.
      if (this.anchors.has(key)) throw new RangeError('duplicate CA key id');
      this.anchors.set(key, { name, publicKey: publicKey.slice(), keyId: id });
    }
  }

  /** The trusted CA whose key id this is, if any. */
  root(keyId: Uint8Array): TrustAnchor | undefined {
    return this.anchors.get(toHex(keyId));
  }

  /** Whether the newest list applied for this issuer revokes this device id. */
  isRevoked(issuerKeyId: Uint8Array, deviceId: Uint8Array): boolean {
    return this.lists.get(toHex(issuerKeyId))?.revoked.has(toHex(deviceId)) ?? false;
  }

  /** Issue time (Unix s) of the list held for this issuer, if any. */
  revocationListIssuedAt(issuerKeyId: Uint8Array): number | undefined {
    return this.lists.get(toHex(issuerKeyId))?.issuedAt;
  }

  /** Encodings of the lists held, one per issuer, to persist and re-apply on the next start. */
  revocationLists(): Uint8Array[] {
    return [...this.lists.values()].map((l) => l.bytes.slice());
  }

  /**
   * Applies a signed revocation list (§6.2). Returns true when it replaced the issuer's list (or
   * was the first), false when it is not newer than the one held and was ignored.
   * Throws `DecodeError` if it does not decode, `CertificateError` 'unknown-issuer' or
   * 'bad-signature' if it is not signed by a trusted CA, and, when `nowMs` is given,
   * 'not-yet-valid' if it is dated more than `REVOCATION_LIST_MAX_FUTURE_S` ahead.
   */
  applyRevocationList(bytes: Uint8Array, nowMs?: number): boolean {
    const list = decodeRevocationList(bytes);
    const issuer = toHex(list.issuerKeyId);
    const root = this.anchors.get(issuer);
    if (root === undefined) throw new CertificateError('unknown-issuer');
    const body = list.bytes.subarray(0, list.bytes.length - SIGNATURE_LEN);
    if (!verify(root.publicKey, concatBytes(REVOCATION_LIST_SIGNATURE_CONTEXT, body), list.signature)) {
      throw new CertificateError('bad-signature');
    }
    if (nowMs !== undefined) {
      if (!Number.isFinite(nowMs)) throw new RangeError('nowMs must be a finite number');
      if (list.issuedAt > Math.floor(nowMs / 1000) + REVOCATION_LIST_MAX_FUTURE_S) {
        throw new CertificateError('not-yet-valid');
      }
    }
    const held = this.lists.get(issuer);
    if (held !== undefined && list.issuedAt <= held.issuedAt) return false;
    this.lists.set(issuer, {
      issuedAt: list.issuedAt,
      revoked: new Set(list.deviceIds.map((id) => toHex(id))),
      bytes: list.bytes,
    });
    return true;
  }
}

/** Encodes and signs a revocation list (§6.2) with the CA's Ed25519 secret key. */
export function issueRevocationList(
  caSecretKey: Uint8Array,
  list: { readonly issuedAt: number; readonly deviceIds: readonly Uint8Array[] },
): Uint8Array {
  if (list.deviceIds.length > REVOCATION_LIST_MAX_COUNT) throw new RangeError('too many device ids');
  // Exact size, so the writer never takes its (faulty) growth path; see certificate.ts.
  const writer = new ByteWriter(1 + KEY_ID_LEN + 4 + 2 + list.deviceIds.length * DEVICE_ID_LEN + SIGNATURE_LEN)
    .u8(REVOCATION_LIST_VERSION)
    .bytes(keyId(ed25519PublicKey(caSecretKey)))
    .u32(list.issuedAt)
    .u16(list.deviceIds.length);
  for (const id of list.deviceIds) {
    if (id.length !== DEVICE_ID_LEN) throw new RangeError('a device id is 8 bytes');
    writer.bytes(id);
  }
  const body = writer.finish();
  return concatBytes(body, sign(caSecretKey, concatBytes(REVOCATION_LIST_SIGNATURE_CONTEXT, body)));
}

/** Decodes a revocation list (§6.2) without checking its signature. Throws `DecodeError`. */
export function decodeRevocationList(bytes: Uint8Array): RevocationList {
  const reader = new ByteReader(bytes);
  const version = reader.u8();
  if (version !== REVOCATION_LIST_VERSION) throw new DecodeError('unsupported-version', 'unknown revocation list version');
  const issuerKeyId = reader.bytes(KEY_ID_LEN);
  const issuedAt = reader.u32();
  const count = reader.u16();
  // Check the whole length before reading ids, so a huge count on a short input fails at once.
  const expected = count * DEVICE_ID_LEN + SIGNATURE_LEN;
  if (reader.remaining < expected) throw new DecodeError('truncated', 'message ends early');
  if (reader.remaining > expected) throw new DecodeError('trailing-bytes', 'unexpected bytes after the message');
  const deviceIds: Uint8Array[] = [];
  for (let i = 0; i < count; i++) deviceIds.push(reader.bytes(DEVICE_ID_LEN));
  const signature = reader.bytes(SIGNATURE_LEN);
  reader.end();
  return { version: REVOCATION_LIST_VERSION, issuerKeyId, issuedAt, deviceIds, signature, bytes: bytes.slice() };
}
