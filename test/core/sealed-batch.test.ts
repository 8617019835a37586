/**
 * Sealed batches (docs/protocol.md §11.1, §11.2): RFC 9180 known answers for the HPKE suite,
 * round trips, tampering, and fast-check fuzzing of the decoders.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { issueCertificate, keyId } from '../../src/core/certificate.js';
import { RecordChain, signCheckpoint } from '../../src/core/checkpoint.js';
import { DecodeError, ProtocolError } from '../../src/core/errors.js';
import { ed25519KeyPair, x25519KeyPair } from '../../src/core/primitives.js';
import { MDC, type ReadingRecord } from '../../src/core/readings.js';
import {
  batchRecord,
  decodeBatch,
  encodeBatch,
  hpkeDeriveKeyPair,
  hpkeSetupBaseRecipient,
  hpkeSetupBaseSender,
  MAX_BATCH_RECORDS,
  openSealedBatch,
  readSealedHeader,
  sealBatch,
  SEALED_HEADER_LEN,
  splitForBatches,
  type ReadingBatch,
} from '../../src/core/sealed-batch.js';
import { deterministicRandom } from '../support/deterministic-random.js';

// RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, base mode.
const A21 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  ikmE: '909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b',
  skEm: 'f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600',
  pkEm: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
  ikmR: '1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df',
  skRm: '8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb',
  pkRm: '4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a',
  key: 'ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91',
  baseNonce: '5c4d98150661b848853b547f',
  exporterSecret: 'a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922',
  pt: '4265617574792069732074727574682c20747275746820626561757479',
  encryptions: [
    { aad: '436f756e742d30', ct: '1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28' },
    { aad: '436f756e742d31', ct: '6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c' },
    { aad: '436f756e742d32', ct: '71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b' },
  ],
};

describe('HPKE (RFC 9180 A.2.1)', () => {
  it('DeriveKeyPair gives the published key pairs', () => {
    const e = hpkeDeriveKeyPair(fromHex(A21.ikmE));
    expect(toHex(e.secretKey)).toBe(A21.skEm);
    expect(toHex(e.publicKey)).toBe(A21.pkEm);
    const r = hpkeDeriveKeyPair(fromHex(A21.ikmR));
    expect(toHex(r.secretKey)).toBe(A21.skRm);
    expect(toHex(r.publicKey)).toBe(A21.pkRm);
  });

  it('the sender derives the published key schedule and ciphertexts for sequences 0–2', () => {
    const { enc, context } = hpkeSetupBaseSender(fromHex(A21.pkRm), fromHex(A21.info), () => fromHex(A21.skEm));
    expect(toHex(enc)).toBe(A21.pkEm);
    expect(toHex(context.keySchedule.key)).toBe(A21.key);
    expect(toHex(context.keySchedule.baseNonce)).toBe(A21.baseNonce);
    expect(toHex(context.keySchedule.exporterSecret)).toBe(A21.exporterSecret);
    for (const { aad, ct } of A21.encryptions) expect(toHex(context.seal(fromHex(aad), fromHex(A21.pt)))).toBe(ct);
  });

  it('the recipient opens the published ciphertexts, and refuses them out of order', () => {
    const context = hpkeSetupBaseRecipient(fromHex(A21.pkEm), fromHex(A21.skRm), fromHex(A21.info));
    expect(() => context.open(fromHex(A21.encryptions[1]!.aad), fromHex(A21.encryptions[1]!.ct))).toThrow(ProtocolError);
    for (const { aad, ct } of A21.encryptions) expect(toHex(context.open(fromHex(aad), fromHex(ct)))).toBe(A21.pt);
  });

  it('a low-order ephemeral key (all-zero shared secret) is refused', () => {
    expect(() => hpkeSetupBaseRecipient(new Uint8Array(32), fromHex(A21.skRm), fromHex(A21.info))).toThrow(ProtocolError);
  });
});

// ── batches ─────────────────────────────────────────────────────────────────────────────────────

const random = deterministicRandom('sealed-batch.test');
const ca = ed25519KeyPair(random);
const sensorSigning = ed25519KeyPair(random);
const deviceId = random(8);
const certificate = issueCertificate(ca.secretKey, {
  deviceId,
  model: 'VL-M1',
  serial: 'VL-1',
  staticKey: x25519KeyPair(random).publicKey,
  signingKey: sensorSigning.publicKey,
  notBefore: 1_700_000_000,
  notAfter: 2_000_000_000,
}).bytes;
const ingestion = x25519KeyPair(random);
const recipient = { keyId: keyId(ingestion.publicKey), publicKey: ingestion.publicKey };

function reading(seq: number): ReadingRecord {
  return { seq, timeMs: 1_768_000_000_000 + seq * 1000, code: MDC.PULS_OXIM_SAT_O2, unit: MDC.DIM_PERCENT, flags: 0, value: { kind: 1, value: { mantissa: 90 + (seq % 10), exponent: 0 } } };
}

function batchOf(from: number, to: number): ReadingBatch {
  const chain = new RecordChain(deviceId);
  const records = [];
  for (let seq = 1; seq <= to; seq++) {
    const r = batchRecord(reading(seq), reading(seq).timeMs + 5);
    chain.append(r.bytes);
    if (seq >= from) records.push(r);
  }
  return {
    batchId: random(16),
    hubId: random(16),
    createdAtMs: 1_768_000_100_000,
    deviceId,
    certificate,
    records,
    checkpoints: [{ seq: to, head: chain.head, signature: signCheckpoint(sensorSigning.secretKey, deviceId, to, chain.head) }],
  };
}

describe('batch encoding (§11.2)', () => {
  it('round trips, keeping the sensor’s record bytes and the corrected time', () => {
    const batch = batchOf(1, 5);
    const decoded = decodeBatch(encodeBatch(batch));
    expect(decoded).toEqual(batch);
    expect(decoded.records[2]!.correctedTimeMs).toBe(reading(3).timeMs + 5);
  });

  it('rejects records out of order, a duplicate seq, a certificate of another device and trailing bytes', () => {
    const batch = batchOf(1, 3);
    expect(() => encodeBatch({ ...batch, records: [batch.records[1]!, batch.records[0]!] })).toThrow(RangeError);
    const bytes = encodeBatch(batch);
    expect(() => decodeBatch(new Uint8Array([...bytes, 0]))).toThrow(DecodeError);
    const other = encodeBatch({ ...batch, deviceId: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) });
    expect(() => decodeBatch(other)).toThrow(expect.objectContaining({ code: 'malformed' }));
    // Swap the seq of record 2 into record 1's place: the decoder sees 2, 2.
    const dup = { ...batch, records: [batch.records[1]!, batch.records[1]!] };
    expect(() => encodeBatch(dup)).toThrow(RangeError);
  });

  it('splits a large chunk into batches within the bounds', () => {
    const records = Array.from({ length: 5000 }, (_, i) => batchRecord(reading(i + 1)));
    const runs = splitForBatches(records, certificate.length, 1);
    expect(runs.map((r) => r.length)).toEqual([MAX_BATCH_RECORDS, MAX_BATCH_RECORDS, 5000 - 2 * MAX_BATCH_RECORDS]);
    expect(runs.flat().map((r) => r.record.seq)).toEqual(records.map((r) => r.record.seq));
  });

  it('fuzz: the decoder throws only DecodeError on any input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          decodeBatch(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: a mutated valid batch decodes to something valid or throws DecodeError', () => {
    const bytes = encodeBatch(batchOf(1, 4));
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), fc.nat(bytes.length), (at, xor, cut) => {
        const mutated = bytes.slice(0, Math.max(cut, at + 1));
        mutated[at] = (mutated[at] as number) ^ xor;
        try {
          const b = decodeBatch(mutated);
          expect(decodeBatch(encodeBatch(b))).toEqual(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('fuzz: round trips of arbitrary record runs', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 0xffffffff }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 2 ** 40 }), (seqs, t) => {
        const records = [...seqs].sort((a, b) => a - b).map((seq) => batchRecord({ ...reading(1), seq }, t));
        const batch = { ...batchOf(1, 1), records, checkpoints: [] };
        expect(decodeBatch(encodeBatch(batch))).toEqual(batch);
      }),
    );
  });
});

describe('sealing (§11.1)', () => {
  it('seals and opens; the header carries the key id and batch id in clear', () => {
    const batch = batchOf(1, 10);
    const sealed = sealBatch(recipient, batch, random);
    const header = readSealedHeader(sealed);
    expect(header.keyId).toEqual(recipient.keyId);
    expect(header.batchId).toEqual(batch.batchId);
    expect(openSealedBatch(sealed, ingestion.secretKey)).toEqual(batch);
  });

  it('nothing of the plaintext appears in the sealed bytes', () => {
    const batch = batchOf(1, 3);
    const sealed = toHex(sealBatch(recipient, batch, random));
    expect(sealed).not.toContain(toHex(deviceId));
    expect(sealed).not.toContain(toHex(batch.records[0]!.bytes));
  });

  it('any flipped bit, a wrong key or a moved header fails to open', () => {
    const batch = batchOf(1, 2);
    const sealed = sealBatch(recipient, batch, random);
    fc.assert(
      fc.property(fc.nat(sealed.length - 1), fc.integer({ min: 0, max: 7 }), (at, bit) => {
        const bad = sealed.slice();
        bad[at] = (bad[at] as number) ^ (1 << bit);
        expect(() => openSealedBatch(bad, ingestion.secretKey)).toThrow(at === 0 ? DecodeError : ProtocolError);
      }),
      { numRuns: 300 },
    );
    expect(() => openSealedBatch(sealed, x25519KeyPair(random).secretKey)).toThrow(ProtocolError);
    const other = sealBatch(recipient, batchOf(1, 2), random);
    const moved = new Uint8Array([...other.subarray(0, SEALED_HEADER_LEN), ...sealed.subarray(SEALED_HEADER_LEN)]);
    expect(() => openSealedBatch(moved, ingestion.secretKey)).toThrow(ProtocolError);
  });

  it('fuzz: opening arbitrary bytes throws DecodeError or ProtocolError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          openSealedBatch(bytes, ingestion.secretKey);
          expect.unreachable();
        } catch (e) {
          expect(e instanceof DecodeError || e instanceof ProtocolError).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
