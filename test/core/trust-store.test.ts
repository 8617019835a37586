/**
 * Tests of the trust store and revocation lists (docs/protocol.md §6.2): applying, replacing and
 * ignoring lists, refusing untrusted or forged ones, and fuzzing the decoder.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { concatBytes, utf8 } from '../../src/core/bytes.js';
import { CertificateError, keyId, type CertificateErrorReason } from '../../src/core/certificate.js';
import { DecodeError } from '../../src/core/errors.js';
import { ed25519KeyPair, sign } from '../../src/core/primitives.js';
import {
  REVOCATION_LIST_MAX_FUTURE_S,
  TrustStore,
  decodeRevocationList,
  issueRevocationList,
} from '../../src/core/trust-store.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('trust-store.test');
const acme = ed25519KeyPair(random);
const globex = ed25519KeyPair(random);
const stranger = ed25519KeyPair(random);
const d1 = random(8);
const d2 = random(8);
const d3 = random(8);
const T = 1_750_000_000;

function newStore(): TrustStore {
  return new TrustStore([
    { name: 'Acme Medical', publicKey: acme.publicKey },
    { name: 'Globex', publicKey: globex.publicKey },
  ]);
}

function certificateReason(run: () => unknown): CertificateErrorReason | 'no error' {
  try {
    run();
    return 'no error';
  } catch (error) {
    if (error instanceof CertificateError) return error.reason;
    throw error;
  }
}

describe('trust store roots', () => {
  it('finds a root by key id and names it', () => {
    const s = newStore();
    const root = s.root(keyId(acme.publicKey));
    expect(root?.name).toBe('Acme Medical');
    expect(root?.publicKey).toEqual(acme.publicKey);
    expect(root?.keyId).toEqual(keyId(acme.publicKey));
    expect(s.root(keyId(globex.publicKey))?.name).toBe('Globex');
    expect(s.root(keyId(stranger.publicKey))).toBeUndefined();
    expect(s.root(new Uint8Array(3))).toBeUndefined();
  });

  it('refuses a malformed or duplicate root', () => {
    expect(() => new TrustStore([{ name: 'x', publicKey: new Uint8Array(31) }])).toThrow(RangeError);
    expect(() => new TrustStore([{ name: '', publicKey: acme.publicKey }])).toThrow(RangeError);
    expect(
      () =>
        new TrustStore([
          { name: 'a', publicKey: acme.publicKey },
          { name: 'b', publicKey: acme.publicKey.slice() },
        ]),
    ).toThrow(RangeError);
  });
});

describe('revocation list encoding (§6.2)', () => {
  it('round-trips', () => {
    const bytes = issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1, d2] });
    expect(bytes).toHaveLength(1 + 8 + 4 + 2 + 2 * 8 + 64);
    const list = decodeRevocationList(bytes);
    expect(list.version).toBe(1);
    expect(list.issuerKeyId).toEqual(keyId(acme.publicKey));
    expect(list.issuedAt).toBe(T);
    expect(list.deviceIds).toEqual([d1, d2]);
    expect(list.bytes).toEqual(bytes);
    expect(list.signature).toEqual(bytes.subarray(bytes.length - 64));
  });

  it('allows an empty list', () => {
    const list = decodeRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [] }));
    expect(list.deviceIds).toEqual([]);
  });

  it('rejects truncation, trailing bytes and an unknown version', () => {
    const bytes = issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1] });
    for (let n = 0; n < bytes.length; n++) expect(() => decodeRevocationList(bytes.subarray(0, n))).toThrow(DecodeError);
    expect(() => decodeRevocationList(concatBytes(bytes, new Uint8Array(1)))).toThrow(DecodeError);
    const v2 = bytes.slice();
    v2[0] = 2;
    expect(() => decodeRevocationList(v2)).toThrow(expect.objectContaining({ code: 'unsupported-version' }));
  });

  it('rejects a count that claims more ids than are present, without reading them', () => {
    const bytes = issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1] });
    const lying = bytes.slice();
    lying[13] = 0xff; // count u16 at offset 13
    lying[14] = 0xff;
    expect(() => decodeRevocationList(lying)).toThrow(expect.objectContaining({ code: 'truncated' }));
  });

  it('issuer refuses bad input', () => {
    expect(() => issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [new Uint8Array(7)] })).toThrow(RangeError);
    expect(() => issueRevocationList(acme.secretKey, { issuedAt: -1, deviceIds: [] })).toThrow(RangeError);
    expect(() => issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: new Array<Uint8Array>(65536).fill(d1) })).toThrow(RangeError);
  });

  it('handles the maximum count of 65535', () => {
    const ids = Array.from({ length: 65535 }, (_, i) => Uint8Array.from([0, 0, 0, 0, 0, 0, i >> 8, i & 0xff]));
    const s = newStore();
    expect(s.applyRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: ids }))).toBe(true);
    expect(s.isRevoked(keyId(acme.publicKey), Uint8Array.from([0, 0, 0, 0, 0, 0, 0xff, 0xfe]))).toBe(true);
    expect(s.isRevoked(keyId(acme.publicKey), Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0]))).toBe(false);
  });
});

describe('applying revocation lists (§6.2)', () => {
  it('applies a list signed by a trusted CA, for that issuer only', () => {
    const s = newStore();
    expect(s.isRevoked(keyId(acme.publicKey), d1)).toBe(false);
    expect(s.applyRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1, d2] }))).toBe(true);
    expect(s.isRevoked(keyId(acme.publicKey), d1)).toBe(true);
    expect(s.isRevoked(keyId(acme.publicKey), d2)).toBe(true);
    expect(s.isRevoked(keyId(acme.publicKey), d3)).toBe(false);
    expect(s.isRevoked(keyId(globex.publicKey), d1)).toBe(false);
    expect(s.revocationListIssuedAt(keyId(acme.publicKey))).toBe(T);
    expect(s.revocationListIssuedAt(keyId(globex.publicKey))).toBeUndefined();
  });

  it('a newer list replaces the older one as a whole', () => {
    const s = newStore();
    s.applyRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1, d2] }));
    expect(s.applyRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T + 1, deviceIds: [d3] }))).toBe(true);
    expect(s.isRevoked(keyId(acme.publicKey), d1)).toBe(false);
    expect(s.isRevoked(keyId(acme.publicKey), d2)).toBe(false);
    expect(s.isRevoked(keyId(acme.publicKey), d3)).toBe(true);
    expect(s.revocationListIssuedAt(keyId(acme.publicKey))).toBe(T + 1);
  });

  it('ignores a list that is older or as old as the one held', () => {
    const s = newStore();
    s.applyRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1] }));
    expect(s.applyRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T - 1, deviceIds: [] }))).toBe(false);
    expect(s.applyRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d2] }))).toBe(false);
    expect(s.isRevoked(keyId(acme.publicKey), d1)).toBe(true);
    expect(s.isRevoked(keyId(acme.publicKey), d2)).toBe(false);
  });

  it('lists of different issuers are independent', () => {
    const s = newStore();
    s.applyRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T + 100, deviceIds: [d1] }));
    expect(s.applyRevocationList(issueRevocationList(globex.secretKey, { issuedAt: T, deviceIds: [d2] }))).toBe(true);
    expect(s.isRevoked(keyId(acme.publicKey), d1)).toBe(true);
    expect(s.isRevoked(keyId(globex.publicKey), d2)).toBe(true);
  });

  it('refuses a list from an unknown issuer', () => {
    const s = newStore();
    const bytes = issueRevocationList(stranger.secretKey, { issuedAt: T, deviceIds: [d1] });
    expect(certificateReason(() => s.applyRevocationList(bytes))).toBe('unknown-issuer');
    expect(s.revocationLists()).toEqual([]);
  });

  it('refuses a list signed by another CA under a trusted key id', () => {
    const s = newStore();
    const genuine = issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1] });
    const body = genuine.subarray(0, genuine.length - 64);
    const forged = concatBytes(body, sign(globex.secretKey, concatBytes(utf8('VITALOCK-CRL-1'), body)));
    expect(certificateReason(() => s.applyRevocationList(forged))).toBe('bad-signature');
    expect(s.isRevoked(keyId(acme.publicKey), d1)).toBe(false);
  });

  it('refuses a list altered after signing, and one signed with the certificate context', () => {
    const s = newStore();
    const genuine = issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1] });
    for (let i = 0; i < genuine.length; i++) {
      if (i >= 1 && i < 9) continue; // issuer key id: would be an unknown issuer instead
      const tampered = genuine.slice();
      tampered[i] = (tampered[i] as number) ^ 0x10;
      expect(() => s.applyRevocationList(tampered), `byte ${i}`).toThrow(i === 0 || i === 13 || i === 14 ? DecodeError : CertificateError);
    }
    const body = genuine.subarray(0, genuine.length - 64);
    const wrongContext = concatBytes(body, sign(acme.secretKey, concatBytes(utf8('VITALOCK-CERT-1'), body)));
    expect(certificateReason(() => s.applyRevocationList(wrongContext))).toBe('bad-signature');
    expect(s.revocationLists()).toEqual([]);
  });

  it('throws DecodeError for an undecodable list', () => {
    expect(() => newStore().applyRevocationList(new Uint8Array(10))).toThrow(DecodeError);
  });

  it('with a clock, refuses a list dated in the future beyond the allowed slack', () => {
    const s = newStore();
    const nowMs = T * 1000;
    const ahead = issueRevocationList(acme.secretKey, { issuedAt: T + REVOCATION_LIST_MAX_FUTURE_S + 1, deviceIds: [d1] });
    expect(certificateReason(() => s.applyRevocationList(ahead, nowMs))).toBe('not-yet-valid');
    const slightlyAhead = issueRevocationList(acme.secretKey, { issuedAt: T + REVOCATION_LIST_MAX_FUTURE_S, deviceIds: [d1] });
    expect(s.applyRevocationList(slightlyAhead, nowMs)).toBe(true);
  });

  it('hands back the lists it holds, which re-apply to a fresh store', () => {
    const s = newStore();
    s.applyRevocationList(issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1] }));
    s.applyRevocationList(issueRevocationList(globex.secretKey, { issuedAt: T, deviceIds: [d2] }));
    const fresh = newStore();
    for (const bytes of s.revocationLists()) expect(fresh.applyRevocationList(bytes)).toBe(true);
    expect(fresh.isRevoked(keyId(acme.publicKey), d1)).toBe(true);
    expect(fresh.isRevoked(keyId(globex.publicKey), d2)).toBe(true);
  });
});

describe('fuzzing', () => {
  const genuine = issueRevocationList(acme.secretKey, { issuedAt: T, deviceIds: [d1, d2] });
  const candidates = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    // A plausible header with a count that may or may not match the rest.
    fc
      .tuple(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffff }), fc.uint8Array({ maxLength: 200 }))
      .map(([issuer, at, count, rest]) => {
        const head = new Uint8Array(15);
        const view = new DataView(head.buffer);
        head[0] = 1;
        head.set(issuer, 1);
        view.setUint32(9, at);
        view.setUint16(13, count);
        return concatBytes(head, rest);
      }),
    // The genuine list with a few bytes changed, cut or extended.
    fc
      .tuple(fc.array(fc.tuple(fc.nat({ max: genuine.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat({ max: genuine.length }), fc.uint8Array({ maxLength: 9 }))
      .map(([edits, cut, extra]) => {
        const b = genuine.slice();
        for (const [at, value] of edits) b[at] = value;
        return concatBytes(b.subarray(0, cut), extra);
      }),
  );

  it('decodeRevocationList returns a list or throws DecodeError, nothing else', () => {
    fc.assert(
      fc.property(candidates, (bytes) => {
        try {
          const list = decodeRevocationList(bytes);
          expect(bytes.length).toBe(15 + list.deviceIds.length * 8 + 64);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { seed: 0xc41, numRuns: 3000 },
    );
  });

  it('applyRevocationList refuses with DecodeError or CertificateError and applies only genuine lists', () => {
    fc.assert(
      fc.property(candidates, (bytes) => {
        const s = newStore();
        try {
          s.applyRevocationList(bytes);
          expect(bytes).toEqual(genuine);
        } catch (error) {
          expect(error instanceof DecodeError || error instanceof CertificateError).toBe(true);
        }
      }),
      { seed: 0xc42, numRuns: 1000 },
    );
  });

  it('encode/decode round-trips any list', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 40 }),
        (issuedAt, deviceIds) => {
          const list = decodeRevocationList(issueRevocationList(acme.secretKey, { issuedAt, deviceIds }));
          expect(list.issuedAt).toBe(issuedAt);
          expect(list.deviceIds).toEqual(deviceIds);
        },
      ),
      { seed: 0xc43, numRuns: 100 },
    );
  });
});
