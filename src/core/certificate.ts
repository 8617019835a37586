/**
 * Device certificates: encoding, issuance and the hub's verification
 * (docs/protocol.md §6.1 Device certificate, §6.3 Verification; identifiers from §1.4).
 *
 * A certificate binds a sensor's device id, model, serial and its two public keys (the X25519
 * static key of the handshake and the Ed25519 key that signs checkpoints, §8.4) to a manufacturer
 * CA. The hub trusts a sensor only through this binding: §4.4 checks the certificate against the
 * remote static key of the very handshake that carried it, so a stolen certificate is useless
 * without the matching private key.
 *
 * Pure: time comes in as a number (Unix ms); the trust store is passed in.
 */
import { ByteReader, ByteWriter, concatBytes, equalBytes, fromUtf8, toHex, utf8 } from './bytes.js';
import { DecodeError, ProtocolError } from './errors.js';
import { SIGNATURE_LEN, ed25519PublicKey, sha256, sign, verify } from './primitives.js';
import type { TrustStore } from './trust-store.js';

export const CERTIFICATE_VERSION = 1;
/** Domain separation: a CA signature over a certificate can never pass as one over a CRL (§6.2). */
export const CERTIFICATE_SIGNATURE_CONTEXT = utf8('VITALOCK-CERT-1');
export const DEVICE_ID_LEN = 8;
export const KEY_ID_LEN = 8;
export const PUBLIC_KEY_LEN = 32;
/** Bounds of the model and serial strings, in UTF-8 bytes (§6.1). */
export const CERTIFICATE_TEXT_MIN = 1;
export const CERTIFICATE_TEXT_MAX = 32;
const MAX_U32 = 0xffffffff;
const MAX_BODY_LEN = 1 + KEY_ID_LEN + DEVICE_ID_LEN + 2 * (1 + CERTIFICATE_TEXT_MAX) + 2 * PUBLIC_KEY_LEN + 4 + 4;

export interface DeviceCertificate {
  readonly version: 1;
  readonly issuerKeyId: Uint8Array;
  readonly deviceId: Uint8Array;
  readonly model: string;
  readonly serial: string;
  /** X25519 static public key of the sensor's handshakes. */
  readonly staticKey: Uint8Array;
  /** Ed25519 public key that signs checkpoints (§8.4). */
  readonly signingKey: Uint8Array;
  /** Unix seconds. */
  readonly notBefore: number;
  /** Unix seconds. */
  readonly notAfter: number;
  readonly signature: Uint8Array;
  /** The full encoding (body ‖ signature), as signed and as sent in PAIR_2. */
  readonly bytes: Uint8Array;
}

/** What the CA puts in a certificate; the issuer key id is derived from the CA key. */
export interface CertificateFields {
  readonly deviceId: Uint8Array;
  readonly model: string;
  readonly serial: string;
  readonly staticKey: Uint8Array;
  readonly signingKey: Uint8Array;
  /** Unix seconds. */
  readonly notBefore: number;
  /** Unix seconds. */
  readonly notAfter: number;
}

/** Key id of an Ed25519 public key: the first 8 bytes of its SHA-256 (§1.4). */
export function keyId(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).slice(0, KEY_ID_LEN);
}

/** A device id as printed on the label and in the QR code: 16 upper-case hex digits (§1.4). */
export function deviceIdHex(id: Uint8Array): string {
  if (id.length !== DEVICE_ID_LEN) throw new RangeError('a device id is 8 bytes');
  return toHex(id).toUpperCase();
}

// ── Errors ──────────────────────────────────────────────────────────────────────────────────────

export type CertificateErrorReason =
  | 'malformed'
  | 'unknown-issuer'
  | 'bad-signature'
  | 'not-yet-valid'
  | 'expired'
  | 'revoked'
  | 'key-mismatch'
  | 'device-mismatch';
/** The same union under the name the channel layer uses for a refused certificate. */
export type CertificateFailure = CertificateErrorReason;

/** Fixed texts (errors.ts: messages never carry data, so they may be logged or shown as is). */
const REASON_TEXT: Record<CertificateErrorReason, string> = {
  malformed: 'certificate is malformed',
  'unknown-issuer': 'certificate issuer is not trusted',
  'bad-signature': 'certificate signature does not verify',
  'not-yet-valid': 'certificate is not yet valid',
  expired: 'certificate has expired',
  revoked: 'certificate has been revoked',
  'key-mismatch': 'certificate does not match the handshake key',
  'device-mismatch': 'certificate is for another device',
};

/** A failed §6.3 check; `reason` names which one, so the UI can explain it. */
export class CertificateError extends ProtocolError {
  constructor(readonly reason: CertificateErrorReason) {
    super('certificate', REASON_TEXT[reason]);
  }
}

// ── Encoding ────────────────────────────────────────────────────────────────────────────────────

function readText(reader: ByteReader): string {
  const length = reader.u8();
  if (length < CERTIFICATE_TEXT_MIN || length > CERTIFICATE_TEXT_MAX) {
    throw new DecodeError('out-of-range', 'text field length out of range');
  }
  const raw = reader.bytes(length);
  const text = fromUtf8(raw);
  // The decoder silently drops a leading byte-order mark; refusing anything that does not
  // re-encode to the signed bytes keeps the shown string exactly what the CA signed.
  if (!equalBytes(utf8(text), raw)) throw new DecodeError('malformed', 'non-canonical UTF-8 text');
  return text;
}

function textBytes(text: string, field: string): Uint8Array {
  const raw = utf8(text);
  // A lone surrogate would be encoded as U+FFFD, i.e. the CA would sign something else.
  if (fromUtf8(raw) !== text) throw new RangeError(`${field} is not well-formed Unicode`);
  if (raw.length < CERTIFICATE_TEXT_MIN || raw.length > CERTIFICATE_TEXT_MAX) {
    throw new RangeError(`${field} must be 1..32 UTF-8 bytes`);
  }
  return raw;
}

function checkLength(bytes: Uint8Array, length: number, field: string): void {
  if (bytes.length !== length) throw new RangeError(`${field} must be ${length} bytes`);
}

function checkU32(v: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > MAX_U32) throw new RangeError(`${field} must be a u32`);
}

/**
 * Encodes and signs a certificate with the CA's Ed25519 secret key (§6.1). Invalid fields are a
 * caller bug and throw `RangeError`, so a CA never signs something a hub would refuse to decode.
 */
export function issueCertificate(caSecretKey: Uint8Array, fields: CertificateFields): DeviceCertificate {
  checkLength(fields.deviceId, DEVICE_ID_LEN, 'deviceId');
  checkLength(fields.staticKey, PUBLIC_KEY_LEN, 'staticKey');
  checkLength(fields.signingKey, PUBLIC_KEY_LEN, 'signingKey');
  const model = textBytes(fields.model, 'model');
  const serial = textBytes(fields.serial, 'serial');
  checkU32(fields.notBefore, 'notBefore');
  checkU32(fields.notAfter, 'notAfter');
  if (!(fields.notBefore < fields.notAfter)) throw new RangeError('notBefore must be before notAfter');

  const issuerKeyId = keyId(ed25519PublicKey(caSecretKey));
  // Sized for the largest body (155 bytes) so the writer never grows: ByteWriter's growth path
  // writes into the old buffer (it reads `this.buf`/`this.view` before `reserve` replaces them).
  const body = new ByteWriter(MAX_BODY_LEN)
    .u8(CERTIFICATE_VERSION)
    .bytes(issuerKeyId)
    .bytes(fields.deviceId)
    .u8(model.length)
    .bytes(model)
    .u8(serial.length)
    .bytes(serial)
    .bytes(fields.staticKey)
    .bytes(fields.signingKey)
    .u32(fields.notBefore)
    .u32(fields.notAfter)
    .finish();
  const signature = sign(caSecretKey, concatBytes(CERTIFICATE_SIGNATURE_CONTEXT, body));
  return {
    version: CERTIFICATE_VERSION,
    issuerKeyId,
    deviceId: fields.deviceId.slice(),
    model: fields.model,
    serial: fields.serial,
    staticKey: fields.staticKey.slice(),
    signingKey: fields.signingKey.slice(),
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    signature,
    bytes: concatBytes(body, signature),
  };
}

/**
 * Decodes a certificate (§6.1) without checking its signature or validity: that is §6.3's job
 * (`verifyCertificate`). Throws `DecodeError` on a short or long input or a field out of range.
 */
export function decodeCertificate(bytes: Uint8Array): DeviceCertificate {
  const reader = new ByteReader(bytes);
  const version = reader.u8();
  if (version !== CERTIFICATE_VERSION) throw new DecodeError('unsupported-version', 'unknown certificate version');
  const issuerKeyId = reader.bytes(KEY_ID_LEN);
  const deviceId = reader.bytes(DEVICE_ID_LEN);
  const model = readText(reader);
  const serial = readText(reader);
  const staticKey = reader.bytes(PUBLIC_KEY_LEN);
  const signingKey = reader.bytes(PUBLIC_KEY_LEN);
  const notBefore = reader.u32();
  const notAfter = reader.u32();
  if (!(notBefore < notAfter)) throw new DecodeError('out-of-range', 'validity period is empty');
  const signature = reader.bytes(SIGNATURE_LEN);
  reader.end();
  return {
    version: CERTIFICATE_VERSION,
    issuerKeyId,
    deviceId,
    model,
    serial,
    staticKey,
    signingKey,
    notBefore,
    notAfter,
    signature,
    bytes: bytes.slice(),
  };
}

// ── Verification ────────────────────────────────────────────────────────────────────────────────

export interface VerifyCertificateOptions {
  readonly trustStore: TrustStore;
  /** The hub's clock, Unix ms. */
  readonly nowMs: number;
  /** The X25519 static key the peer proved in the handshake that carried the certificate. */
  readonly remoteStaticKey: Uint8Array;
  /** The device id from the QR code, when pairing started from one (§4.4). */
  readonly expectedDeviceId?: Uint8Array;
}

export interface VerifiedCertificate {
  readonly certificate: DeviceCertificate;
  /** Name of the trusted CA that issued it. */
  readonly manufacturer: string;
}

/**
 * The hub's checks of §6.3, in the order given there, stopping at the first failure; then the
 * QR device id of §4.4 when given (`device-mismatch`). Every failure, including undecodable input,
 * is a `CertificateError`.
 */
export function verifyCertificate(bytes: Uint8Array, options: VerifyCertificateOptions): VerifiedCertificate {
  // A broken clock is the caller's bug, not a property of the certificate; NaN would otherwise
  // slip through both validity comparisons.
  if (!Number.isFinite(options.nowMs)) throw new RangeError('nowMs must be a finite number');

  // 1. decodes
  let certificate: DeviceCertificate;
  try {
    certificate = decodeCertificate(bytes);
  } catch (error) {
    if (error instanceof DecodeError) throw new CertificateError('malformed');
    throw error;
  }

  // 2. the issuer is a trusted CA
  const root = options.trustStore.root(certificate.issuerKeyId);
  if (root === undefined) throw new CertificateError('unknown-issuer');

  // 3. the signature verifies over the exact body bytes received
  const body = certificate.bytes.subarray(0, certificate.bytes.length - SIGNATURE_LEN);
  if (!verify(root.publicKey, concatBytes(CERTIFICATE_SIGNATURE_CONTEXT, body), certificate.signature)) {
    throw new CertificateError('bad-signature');
  }

  // 4. validity period, in whole Unix seconds (the encoding's unit); both bounds are inclusive.
  const nowS = Math.floor(options.nowMs / 1000);
  if (nowS < certificate.notBefore) throw new CertificateError('not-yet-valid');
  if (nowS > certificate.notAfter) throw new CertificateError('expired');

  // 5. not revoked by that issuer
  if (options.trustStore.isRevoked(certificate.issuerKeyId, certificate.deviceId)) {
    throw new CertificateError('revoked');
  }

  // 6. bound to the key the peer proved in this handshake
  if (!equalBytes(certificate.staticKey, options.remoteStaticKey)) throw new CertificateError('key-mismatch');

  // §4.4: the sensor in hand (its QR code) is the one that answered
  if (options.expectedDeviceId !== undefined && !equalBytes(certificate.deviceId, options.expectedDeviceId)) {
    throw new CertificateError('device-mismatch');
  }

  return { certificate, manufacturer: root.name };
}
