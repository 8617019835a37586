/**
 * The ingestion key list (docs/protocol.md §11.3): signature under the pinned deployment key,
 * expiry, choice of the current key, rollback, and fuzzing of the decoder.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/core/errors.js';
import {
  currentIngestionKey,
  decodeIngestionKeyList,
  IngestionKeysError,
  issueIngestionKeyList,
  verifyIngestionKeyList,
} from '../../src/core/ingestion-keys.js';
import { ed25519KeyPair, x25519KeyPair } from '../../src/core/primitives.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('sealed-batch-keys.test');
const deployment = ed25519KeyPair(random);
const attacker = ed25519KeyPair(random);
const oldKey = x25519KeyPair(random);
const newKey = x25519KeyPair(random);
const T = 1_800_000_000; // Unix seconds
const list = issueIngestionKeyList(deployment.secretKey, 7, [
  { publicKey: oldKey.publicKey, notBefore: T - 1000, notAfter: T + 500 },
  { publicKey: newKey.publicKey, notBefore: T + 100, notAfter: T + 10_000 },
]);
const pinned = { deploymentPublicKey: deployment.publicKey, minListVersion: 0 };

describe('ingestion key list (§11.3)', () => {
  it('verifies under the pinned key and picks the key valid now with the latest start', () => {
    const verified = verifyIngestionKeyList(list, pinned);
    expect(verified.listVersion).toBe(7);
    expect(currentIngestionKey(verified, T * 1000).publicKey).toEqual(oldKey.publicKey);
    expect(currentIngestionKey(verified, (T + 100) * 1000).publicKey).toEqual(newKey.publicKey);
    expect(currentIngestionKey(verified, (T + 9_999) * 1000).publicKey).toEqual(newKey.publicKey);
  });

  it('expiry: no key is valid before the first or after the last', () => {
    const verified = verifyIngestionKeyList(list, pinned);
    expect(() => currentIngestionKey(verified, (T - 1001) * 1000)).toThrow(expect.objectContaining({ reason: 'no-current-key' }));
    expect(() => currentIngestionKey(verified, (T + 10_001) * 1000)).toThrow(IngestionKeysError);
  });

  it('a list signed by another key, or altered, is refused', () => {
    const forged = issueIngestionKeyList(attacker.secretKey, 8, [{ publicKey: x25519KeyPair(random).publicKey, notBefore: T, notAfter: T + 1 }]);
    expect(() => verifyIngestionKeyList(forged, pinned)).toThrow(expect.objectContaining({ reason: 'bad-signature' }));
    const altered = list.slice();
    altered[altered.length - 70] = (altered[altered.length - 70] as number) ^ 1; // a not-after byte
    expect(() => verifyIngestionKeyList(altered, pinned)).toThrow(IngestionKeysError);
  });

  it('rollback: an older list than one already accepted is refused; the same version is accepted', () => {
    expect(() => verifyIngestionKeyList(list, { ...pinned, minListVersion: 8 })).toThrow(expect.objectContaining({ reason: 'rollback' }));
    expect(verifyIngestionKeyList(list, { ...pinned, minListVersion: 7 }).listVersion).toBe(7);
  });

  it('a key id that does not match its key is malformed', () => {
    const bad = list.slice();
    bad[6] = (bad[6] as number) ^ 1; // first byte of the first key id
    expect(() => decodeIngestionKeyList(bad)).toThrow(DecodeError);
    expect(() => verifyIngestionKeyList(bad, pinned)).toThrow(expect.objectContaining({ reason: 'malformed' }));
  });

  it('fuzz: the decoder throws only DecodeError; verification only IngestionKeysError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeIngestionKeyList(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
        try {
          verifyIngestionKeyList(bytes, pinned);
        } catch (e) {
          expect(e).toBeInstanceOf(IngestionKeysError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
