/**
 * Tests of device certificates (docs/protocol.md §6.1, §6.3, key ids §1.4): encoding round trip,
 * each verification failure produced by a specific bad certificate, tamper resistance of every
 * body byte, and fuzzing of the decoder and verifier.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ByteWriter, concatBytes, utf8 } from '../../src/core/bytes.js';
import {
  CERTIFICATE_SIGNATURE_CONTEXT,
  CertificateError,
  decodeCertificate,
  deviceIdHex,
  issueCertificate,
  keyId,
  verifyCertificate,
  type CertificateErrorReason,
  type CertificateFields,
} from '../../src/core/certificate.js';
import { DecodeError, ProtocolError } from '../../src/core/errors.js';
import { ed25519KeyPair, sha256, sign, x25519KeyPair } from '../../src/core/primitives.js';
import { TrustStore, issueRevocationList } from '../../src/core/trust-store.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('certificate.test');
const ca = ed25519KeyPair(random);
const otherCa = ed25519KeyPair(random);
const device = x25519KeyPair(random);
const deviceSigning = ed25519KeyPair(random);
const deviceId = random(8);

const NOT_BEFORE = 1_700_000_000;
const NOT_AFTER = 2_000_000_000;
/** Inside the validity period. */
const NOW_MS = 1_800_000_000_000;

const fields: CertificateFields = {
  deviceId,
  model: 'VL-Pulse 2',
  serial: 'SN-000123',
  staticKey: device.publicKey,
  signingKey: deviceSigning.publicKey,
  notBefore: NOT_BEFORE,
  notAfter: NOT_AFTER,
};

const cert = issueCertificate(ca.secretKey, fields);
const store = new TrustStore([{ name: 'Acme Medical', publicKey: ca.publicKey }]);

function check(bytes: Uint8Array, overrides: { nowMs?: number; remoteStaticKey?: Uint8Array; trustStore?: TrustStore; expectedDeviceId?: Uint8Array } = {}) {
  return verifyCertificate(bytes, {
    trustStore: overrides.trustStore ?? store,
    nowMs: overrides.nowMs ?? NOW_MS,
    remoteStaticKey: overrides.remoteStaticKey ?? device.publicKey,
    ...(overrides.expectedDeviceId !== undefined ? { expectedDeviceId: overrides.expectedDeviceId } : {}),
  });
}

function reasonOf(run: () => unknown): CertificateErrorReason | 'accepted' {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (error instanceof CertificateError) return error.reason;
    throw error;
  }
}

function body(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, bytes.length - 64);
}

/** Raw encoder that allows out-of-range fields, to build certificates the issuer refuses to. */
function rawBody(o: {
  version?: number;
  issuerKeyId?: Uint8Array;
  model?: Uint8Array;
  serial?: Uint8Array;
  notBefore?: number;
  notAfter?: number;
}): Uint8Array {
  const model = o.model ?? utf8(fields.model);
  const serial = o.serial ?? utf8(fields.serial);
  return new ByteWriter(512)
    .u8(o.version ?? 1)
    .bytes(o.issuerKeyId ?? keyId(ca.publicKey))
    .bytes(deviceId)
    .u8(model.length)
    .bytes(model)
    .u8(serial.length)
    .bytes(serial)
    .bytes(device.publicKey)
    .bytes(deviceSigning.publicKey)
    .u32(o.notBefore ?? NOT_BEFORE)
    .u32(o.notAfter ?? NOT_AFTER)
    .finish();
}

function signBody(secretKey: Uint8Array, b: Uint8Array): Uint8Array {
  return concatBytes(b, sign(secretKey, concatBytes(CERTIFICATE_SIGNATURE_CONTEXT, b)));
}

/** A copy of `bytes` with the bits of `mask` flipped at `index`. */
function flipped(bytes: Uint8Array, index: number, mask: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] as number) ^ mask;
  return copy;
}

function expectDecodeError(run: () => unknown, code: string): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).code).toBe(code);
    return;
  }
  expect.unreachable('expected a DecodeError');
}

describe('identifiers (§1.4)', () => {
  it('key id is the first 8 bytes of SHA-256 of the public key', () => {
    expect(keyId(ca.publicKey)).toEqual(sha256(ca.publicKey).slice(0, 8));
    expect(keyId(ca.publicKey)).toHaveLength(8);
  });

  it('device id prints as 16 upper-case hex digits', () => {
    expect(deviceIdHex(Uint8Array.from([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]))).toBe('0123456789ABCDEF');
    expect(() => deviceIdHex(new Uint8Array(7))).toThrow(RangeError);
  });
});

describe('encoding (§6.1)', () => {
  it('round-trips through issue and decode', () => {
    const decoded = decodeCertificate(cert.bytes);
    expect(decoded).toEqual(cert);
    expect(decoded.version).toBe(1);
    expect(decoded.issuerKeyId).toEqual(keyId(ca.publicKey));
    expect(decoded.deviceId).toEqual(deviceId);
    expect(decoded.model).toBe('VL-Pulse 2');
    expect(decoded.serial).toBe('SN-000123');
    expect(decoded.staticKey).toEqual(device.publicKey);
    expect(decoded.signingKey).toEqual(deviceSigning.publicKey);
    expect(decoded.notBefore).toBe(NOT_BEFORE);
    expect(decoded.notAfter).toBe(NOT_AFTER);
    expect(cert.bytes).toHaveLength(1 + 8 + 8 + 1 + 10 + 1 + 9 + 32 + 32 + 4 + 4 + 64);
    expect(body(cert.bytes)).toEqual(rawBody({}));
  });

  it('signs "VITALOCK-CERT-1" ‖ body with the CA key', () => {
    expect(signBody(ca.secretKey, body(cert.bytes))).toEqual(cert.bytes);
  });

  it('accepts 32-byte multi-byte UTF-8 text and 1-byte text', () => {
    const c = issueCertificate(ca.secretKey, { ...fields, model: 'é'.repeat(16), serial: '7' });
    const d = decodeCertificate(c.bytes);
    expect(d.model).toBe('é'.repeat(16));
    expect(d.serial).toBe('7');
  });

  it('issuer refuses fields a hub could not decode', () => {
    expect(() => issueCertificate(ca.secretKey, { ...fields, model: '' })).toThrow(RangeError);
    expect(() => issueCertificate(ca.secretKey, { ...fields, serial: 'x'.repeat(33) })).toThrow(RangeError);
    expect(() => issueCertificate(ca.secretKey, { ...fields, model: 'é'.repeat(17) })).toThrow(RangeError);
    expect(() => issueCertificate(ca.secretKey, { ...fields, model: 'bad\ud800' })).toThrow(RangeError);
    expect(() => issueCertificate(ca.secretKey, { ...fields, notAfter: NOT_BEFORE })).toThrow(RangeError);
    expect(() => issueCertificate(ca.secretKey, { ...fields, notAfter: 2 ** 32 })).toThrow(RangeError);
    expect(() => issueCertificate(ca.secretKey, { ...fields, deviceId: new Uint8Array(9) })).toThrow(RangeError);
    expect(() => issueCertificate(ca.secretKey, { ...fields, staticKey: new Uint8Array(31) })).toThrow(RangeError);
  });

  it('rejects an unknown version', () => {
    expectDecodeError(() => decodeCertificate(signBody(ca.secretKey, rawBody({ version: 2 }))), 'unsupported-version');
  });

  it('rejects text lengths outside 1..32', () => {
    expectDecodeError(() => decodeCertificate(signBody(ca.secretKey, rawBody({ model: new Uint8Array(0) }))), 'out-of-range');
    expectDecodeError(() => decodeCertificate(signBody(ca.secretKey, rawBody({ serial: utf8('x'.repeat(33)) }))), 'out-of-range');
  });

  it('rejects invalid UTF-8 and a byte-order mark that would not survive decoding', () => {
    expectDecodeError(() => decodeCertificate(signBody(ca.secretKey, rawBody({ model: Uint8Array.from([0x41, 0xff]) }))), 'malformed');
    expectDecodeError(() => decodeCertificate(signBody(ca.secretKey, rawBody({ serial: Uint8Array.from([0xc0, 0x80]) }))), 'malformed');
    expectDecodeError(() => decodeCertificate(signBody(ca.secretKey, rawBody({ model: Uint8Array.from([0xef, 0xbb, 0xbf, 0x41]) }))), 'malformed');
  });

  it('rejects notBefore ≥ notAfter', () => {
    expectDecodeError(() => decodeCertificate(signBody(ca.secretKey, rawBody({ notAfter: NOT_BEFORE }))), 'out-of-range');
    expectDecodeError(() => decodeCertificate(signBody(ca.secretKey, rawBody({ notAfter: NOT_BEFORE - 1 }))), 'out-of-range');
  });

  it('rejects trailing bytes and every truncation', () => {
    expectDecodeError(() => decodeCertificate(concatBytes(cert.bytes, new Uint8Array(1))), 'trailing-bytes');
    for (let n = 0; n < cert.bytes.length; n++) {
      expect(() => decodeCertificate(cert.bytes.subarray(0, n))).toThrow(DecodeError);
    }
  });

  it('returns a copy: mutating the input afterwards does not change the certificate', () => {
    const input = cert.bytes.slice();
    const decoded = decodeCertificate(input);
    input.fill(0);
    expect(decoded.bytes).toEqual(cert.bytes);
  });
});

describe('verification (§6.3)', () => {
  it('accepts a valid certificate and names the manufacturer', () => {
    const result = check(cert.bytes, { expectedDeviceId: deviceId });
    expect(result.manufacturer).toBe('Acme Medical');
    expect(result.certificate).toEqual(cert);
  });

  it('1. malformed: undecodable bytes', () => {
    expect(reasonOf(() => check(cert.bytes.subarray(0, 100)))).toBe('malformed');
  });

  it('2. unknown-issuer: a certificate from a CA not in the trust store', () => {
    const foreign = issueCertificate(otherCa.secretKey, fields);
    expect(reasonOf(() => check(foreign.bytes))).toBe('unknown-issuer');
  });

  it('3. bad-signature: another CA signs a body carrying the real CA key id', () => {
    const forged = signBody(otherCa.secretKey, body(cert.bytes));
    expect(decodeCertificate(forged).issuerKeyId).toEqual(keyId(ca.publicKey));
    expect(reasonOf(() => check(forged))).toBe('bad-signature');
  });

  it('3. bad-signature: a field changed after signing', () => {
    const forged = flipped(cert.bytes, cert.bytes.length - 64 - 9, 0x01); // last byte of the signing key
    expect(reasonOf(() => check(forged))).toBe('bad-signature');
  });

  it('3. bad-signature: a signature without the domain-separation context', () => {
    const b = body(cert.bytes);
    expect(reasonOf(() => check(concatBytes(b, sign(ca.secretKey, b))))).toBe('bad-signature');
  });

  it('4. not-yet-valid: one second before notBefore; valid from notBefore on', () => {
    expect(reasonOf(() => check(cert.bytes, { nowMs: (NOT_BEFORE - 1) * 1000 }))).toBe('not-yet-valid');
    expect(reasonOf(() => check(cert.bytes, { nowMs: NOT_BEFORE * 1000 - 1 }))).toBe('not-yet-valid');
    expect(reasonOf(() => check(cert.bytes, { nowMs: NOT_BEFORE * 1000 }))).toBe('accepted');
  });

  it('4. expired: after notAfter; notAfter itself is still valid', () => {
    expect(reasonOf(() => check(cert.bytes, { nowMs: (NOT_AFTER + 1) * 1000 }))).toBe('expired');
    expect(reasonOf(() => check(cert.bytes, { nowMs: NOT_AFTER * 1000 + 999 }))).toBe('accepted');
  });

  it('refuses a non-finite clock instead of letting NaN pass both comparisons', () => {
    expect(() => check(cert.bytes, { nowMs: Number.NaN })).toThrow(RangeError);
  });

  it('5. revoked: the device id is on its issuer’s revocation list', () => {
    const s = new TrustStore([{ name: 'Acme Medical', publicKey: ca.publicKey }]);
    expect(s.applyRevocationList(issueRevocationList(ca.secretKey, { issuedAt: NOT_BEFORE, deviceIds: [deviceId] }))).toBe(true);
    expect(reasonOf(() => check(cert.bytes, { trustStore: s }))).toBe('revoked');
  });

  it('5. revocation by another CA does not apply', () => {
    const s = new TrustStore([
      { name: 'Acme Medical', publicKey: ca.publicKey },
      { name: 'Other', publicKey: otherCa.publicKey },
    ]);
    s.applyRevocationList(issueRevocationList(otherCa.secretKey, { issuedAt: NOT_BEFORE, deviceIds: [deviceId] }));
    expect(reasonOf(() => check(cert.bytes, { trustStore: s }))).toBe('accepted');
  });

  it('6. key-mismatch: the handshake proved another static key', () => {
    expect(reasonOf(() => check(cert.bytes, { remoteStaticKey: x25519KeyPair(random).publicKey }))).toBe('key-mismatch');
    expect(reasonOf(() => check(cert.bytes, { remoteStaticKey: device.publicKey.subarray(0, 31) }))).toBe('key-mismatch');
  });

  it('device-mismatch: the QR code named another device (§4.4)', () => {
    const other = flipped(deviceId, 7, 0x80);
    expect(reasonOf(() => check(cert.bytes, { expectedDeviceId: other }))).toBe('device-mismatch');
  });

  it('stops at the first failure in §6.3 order', () => {
    const s = new TrustStore([{ name: 'Acme Medical', publicKey: ca.publicKey }]);
    s.applyRevocationList(issueRevocationList(ca.secretKey, { issuedAt: NOT_BEFORE, deviceIds: [deviceId] }));
    const wrongKey = x25519KeyPair(random).publicKey;
    const wrongId = new Uint8Array(8);
    const late = (NOT_AFTER + 10) * 1000;
    const all = { trustStore: s, remoteStaticKey: wrongKey, expectedDeviceId: wrongId };
    expect(reasonOf(() => check(signBody(otherCa.secretKey, body(cert.bytes)), { ...all, nowMs: late }))).toBe('bad-signature');
    expect(reasonOf(() => check(cert.bytes, { ...all, nowMs: late }))).toBe('expired');
    expect(reasonOf(() => check(cert.bytes, all))).toBe('revoked');
    expect(reasonOf(() => check(cert.bytes, { remoteStaticKey: wrongKey, expectedDeviceId: wrongId }))).toBe('key-mismatch');
  });

  it('CertificateError is a ProtocolError with code "certificate"', () => {
    const error = new CertificateError('expired');
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.code).toBe('certificate');
    expect(error.reason).toBe('expired');
  });

  it('refuses a bit flip in every bit of every body byte and every signature byte', () => {
    const seen = new Set<string>();
    for (let i = 0; i < cert.bytes.length; i++) {
      // Every bit of the body; one bit per byte of the signature.
      const bits = i < cert.bytes.length - 64 ? [0, 1, 2, 3, 4, 5, 6, 7] : [i % 8];
      for (const bit of bits) {
        const tampered = flipped(cert.bytes, i, 1 << bit);
        const reason = reasonOf(() => check(tampered));
        expect(reason, `byte ${i} bit ${bit}`).not.toBe('accepted');
        seen.add(reason);
      }
    }
    expect([...seen].sort()).toEqual(['bad-signature', 'malformed', 'unknown-issuer']);
  });
});

describe('fuzzing', () => {
  /** Arbitrary bytes, and a valid certificate with a few bytes overwritten, cut or extended. */
  const candidates = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc
      .record({
        edits: fc.array(fc.tuple(fc.nat({ max: cert.bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        cut: fc.nat({ max: cert.bytes.length }),
        extra: fc.uint8Array({ maxLength: 4 }),
      })
      .map(({ edits, cut, extra }) => {
        const b = cert.bytes.slice();
        for (const [at, value] of edits) b[at] = value;
        // cut = 0 stands for "no cut", so edited full-length certificates are generated too.
        return concatBytes(b.subarray(0, cut === 0 ? b.length : cut), extra);
      }),
  );

  it('decodeCertificate returns a certificate or throws DecodeError, nothing else', () => {
    fc.assert(
      fc.property(candidates, (bytes) => {
        try {
          const c = decodeCertificate(bytes);
          expect(c.bytes).toEqual(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { seed: 0x6c0de, numRuns: 2000 },
    );
  });

  it('verifyCertificate throws only CertificateError and accepts only the genuine bytes', () => {
    fc.assert(
      fc.property(candidates, (bytes) => {
        try {
          check(bytes);
          expect(bytes).toEqual(cert.bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CertificateError);
        }
      }),
      { seed: 0x7e51f, numRuns: 1000 },
    );
  });
});
