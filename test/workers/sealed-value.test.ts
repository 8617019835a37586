import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/core/bytes.js';
import { x25519KeyPair, xaeadOpen } from '../../src/core/primitives.js';
import {
  PUBLIC_KEY_FORMAT,
  RECORD_KEY_FORMAT,
  VaultIntegrityError,
  canonicalKey,
  openValue,
  openWithSecretKey,
  sealToPublicKey,
  sealValue,
  valueAd,
  type VaultIntegrityReason,
  type VaultKey,
} from '../../workers/vault/sealed-value.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('sealed-value');
const rk = deterministicRandom('record-key')(32);
const otherRk = deterministicRandom('other-record-key')(32);
const storage = x25519KeyPair(deterministicRandom('storage-key'));
const otherStorage = x25519KeyPair(deterministicRandom('other-storage-key'));

const KEY = canonicalKey(['0123456789abcdef0123456789abcdef', 42]);
const PLAINTEXT = utf8('a chunk of readings');

function integrityFailure(fn: () => unknown): VaultIntegrityReason {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(VaultIntegrityError);
    return (error as VaultIntegrityError).reason;
  }
  throw new Error('expected a VaultIntegrityError, but the value opened');
}

const storeArb = fc.constantFrom('meta', 'secrets', 'bonds', 'sensors', 'readings', 'security', 'outbox');
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const leafKeyArb: fc.Arbitrary<VaultKey> = fc.oneof(
  fc.double(), // includes −0, ±Infinity (NaN is filtered below)
  fc.integer({ min: -3, max: 3 }),
  fc.string({ unit: codeUnit, maxLength: 6 }),
  fc.constantFrom('', 'a', 'ab'),
);
const keyArb: fc.Arbitrary<VaultKey> = fc
  .letrec<{ key: VaultKey }>((tie) => ({
    key: fc.oneof({ depthSize: 'small' }, leafKeyArb, fc.array(tie('key'), { maxLength: 3 })),
  }))
  .key.filter((k) => !containsNaN(k));

function containsNaN(k: VaultKey): boolean {
  return typeof k === 'number' ? Number.isNaN(k) : Array.isArray(k) ? (k as readonly VaultKey[]).some(containsNaN) : false;
}

describe('canonicalKey', () => {
  it('writes numbers, strings and arrays with type tags and lengths', () => {
    expect(toHex(canonicalKey(1))).toBe('10' + '3ff0000000000000');
    expect(toHex(canonicalKey('ab'))).toBe('30' + '00000002' + '0061' + '0062');
    expect(toHex(canonicalKey(['p', 2]))).toBe('50' + '00000002' + '30' + '00000001' + '0070' + '10' + '4000000000000000');
    expect(toHex(canonicalKey([]))).toBe('50' + '00000000');
    expect(toHex(canonicalKey(''))).toBe('30' + '00000000');
  });

  it('keeps strings with lone surrogates apart (UTF-16 code units, not UTF-8)', () => {
    expect(toHex(canonicalKey('\ud800'))).not.toBe(toHex(canonicalKey('\udc00')));
    expect(toHex(canonicalKey('\ud800'))).not.toBe(toHex(canonicalKey('\ufffd')));
  });

  it('writes −0 as +0 (the same IndexedDB key) and refuses NaN and non-keys', () => {
    expect(canonicalKey(-0)).toEqual(canonicalKey(0));
    expect(() => canonicalKey(Number.NaN)).toThrow(RangeError);
    expect(() => canonicalKey([1, [Number.NaN]])).toThrow(RangeError);
    expect(() => canonicalKey({} as unknown as VaultKey)).toThrow(RangeError);
    expect(() => canonicalKey(true as unknown as VaultKey)).toThrow(RangeError);
  });

  it('property: same bytes exactly when IndexedDB compares the keys equal', () => {
    const pairArb = fc.oneof(
      fc.tuple(keyArb, keyArb),
      keyArb.map((k) => [k, structuredClone(k)] as [VaultKey, VaultKey]),
    );
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        const sameKey = indexedDB.cmp(a as IDBValidKey, b as IDBValidKey) === 0;
        expect(toHex(canonicalKey(a)) === toHex(canonicalKey(b))).toBe(sameKey);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: self-delimiting (no key is a prefix of another key in a sequence)', () => {
    fc.assert(
      fc.property(keyArb, keyArb, keyArb, keyArb, (a, b, c, d) => {
        const left = toHex(concatBytes(canonicalKey(a), canonicalKey(b)));
        const right = toHex(concatBytes(canonicalKey(c), canonicalKey(d)));
        const same = indexedDB.cmp(a as IDBValidKey, c as IDBValidKey) === 0 && indexedDB.cmp(b as IDBValidKey, d as IDBValidKey) === 0;
        expect(left === right).toBe(same);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('sealValue / openValue (vault §2.2)', () => {
  it('round-trips, with the layout version ‖ nonce (24) ‖ ciphertext ‖ tag (16)', () => {
    const sealed = sealValue(rk, 'readings', KEY, PLAINTEXT, random);
    expect(sealed[0]).toBe(RECORD_KEY_FORMAT);
    expect(sealed.length).toBe(1 + 24 + PLAINTEXT.length + 16);
    expect(openValue(rk, 'readings', KEY, sealed)).toEqual(PLAINTEXT);
  });

  it('uses exactly ad = "VITALOCK-VAULT-1" ‖ store ‖ 0x00 ‖ canonical key ‖ schema version u16', () => {
    const sealed = sealValue(rk, 'bonds', KEY, PLAINTEXT, random);
    const ad = concatBytes(utf8('VITALOCK-VAULT-1'), utf8('bonds'), Uint8Array.of(0), KEY, Uint8Array.of(0, 1));
    expect(valueAd('bonds', KEY, 1)).toEqual(ad);
    expect(xaeadOpen(rk, sealed.subarray(1, 25), sealed.subarray(25), ad)).toEqual(PLAINTEXT);
  });

  it('draws a fresh nonce for each value', () => {
    const a = sealValue(rk, 'readings', KEY, PLAINTEXT, random);
    const b = sealValue(rk, 'readings', KEY, PLAINTEXT, random);
    expect(toHex(a)).not.toBe(toHex(b));
  });

  it('property: round-trips any plaintext in any store and row', () => {
    fc.assert(
      fc.property(storeArb, keyArb, fc.uint8Array({ maxLength: 300 }), (store, key, plaintext) => {
        const keyBytes = canonicalKey(key);
        expect(openValue(rk, store, keyBytes, sealValue(rk, store, keyBytes, plaintext, random))).toEqual(plaintext);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses the wrong record key', () => {
    const sealed = sealValue(rk, 'readings', KEY, PLAINTEXT, random);
    expect(integrityFailure(() => openValue(otherRk, 'readings', KEY, sealed))).toBe('auth-failed');
  });

  it('property: a value opened under another row or store fails', () => {
    fc.assert(
      fc.property(storeArb, keyArb, storeArb, keyArb, (store, key, otherStore, otherKey) => {
        const sameRow = store === otherStore && indexedDB.cmp(key as IDBValidKey, otherKey as IDBValidKey) === 0;
        fc.pre(!sameRow);
        const sealed = sealValue(rk, store, canonicalKey(key), PLAINTEXT, random);
        expect(integrityFailure(() => openValue(rk, otherStore, canonicalKey(otherKey), sealed))).toBe('auth-failed');
      }),
      { numRuns: 300 },
    );
  });

  it('property: any flipped bit is detected', () => {
    const sealed = sealValue(rk, 'sensors', KEY, PLAINTEXT, random);
    fc.assert(
      fc.property(fc.nat({ max: sealed.length - 1 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
        const tampered = sealed.slice();
        tampered[at] = (tampered[at] as number) ^ (1 << bit);
        const reason = integrityFailure(() => openValue(rk, 'sensors', KEY, tampered));
        expect(reason).toBe(at === 0 ? 'unsupported-version' : 'auth-failed');
      }),
    );
  });

  it('refuses other versions, truncations and values that are not bytes', () => {
    const sealed = sealValue(rk, 'readings', KEY, PLAINTEXT, random);
    for (const version of [0, 2, 0x81, 0xff]) {
      const other = sealed.slice();
      other[0] = version;
      expect(integrityFailure(() => openValue(rk, 'readings', KEY, other))).toBe('unsupported-version');
    }
    expect(integrityFailure(() => openValue(rk, 'readings', KEY, sealed.subarray(0, 40)))).toBe('malformed');
    expect(integrityFailure(() => openValue(rk, 'readings', KEY, sealed.subarray(0, sealed.length - 1)))).toBe('auth-failed');
    for (const notBytes of [undefined, null, 'text', 42, [1, 2, 3], sealed.buffer, new Uint8Array(0), { value: sealed }]) {
      expect(integrityFailure(() => openValue(rk, 'readings', KEY, notBytes))).toBe('malformed');
    }
  });

  it('refuses keys of the wrong length and invalid store names', () => {
    expect(() => sealValue(rk.subarray(0, 31), 'readings', KEY, PLAINTEXT, random)).toThrow(RangeError);
    expect(() => sealValue(rk, 'read\u0000ings', KEY, PLAINTEXT, random)).toThrow(RangeError);
    expect(() => sealValue(rk, '', KEY, PLAINTEXT, random)).toThrow(RangeError);
  });
});

describe('sealToPublicKey / openWithSecretKey (vault §3.3)', () => {
  it('round-trips with the layout version ‖ ephemeral public key (32) ‖ ciphertext ‖ tag', () => {
    const sealed = sealToPublicKey(storage.publicKey, 'readings', KEY, PLAINTEXT, random);
    expect(sealed[0]).toBe(PUBLIC_KEY_FORMAT);
    expect(sealed.length).toBe(1 + 32 + PLAINTEXT.length + 16);
    expect(openWithSecretKey(storage.secretKey, 'readings', KEY, sealed)).toEqual(PLAINTEXT);
  });

  it('uses a new ephemeral key for every value', () => {
    const a = sealToPublicKey(storage.publicKey, 'readings', KEY, PLAINTEXT, random);
    const b = sealToPublicKey(storage.publicKey, 'readings', KEY, PLAINTEXT, random);
    expect(toHex(a.subarray(1, 33))).not.toBe(toHex(b.subarray(1, 33)));
  });

  it('is reproducible from the random source (nothing else is drawn)', () => {
    const a = sealToPublicKey(storage.publicKey, 'readings', KEY, PLAINTEXT, deterministicRandom('same'));
    const b = sealToPublicKey(storage.publicKey, 'readings', KEY, PLAINTEXT, deterministicRandom('same'));
    expect(toHex(a)).toBe(toHex(b));
  });

  it('opens only with the storage secret key, never with a record key', () => {
    const sealed = sealToPublicKey(storage.publicKey, 'readings', KEY, PLAINTEXT, random);
    expect(integrityFailure(() => openWithSecretKey(otherStorage.secretKey, 'readings', KEY, sealed))).toBe('auth-failed');
    expect(integrityFailure(() => openValue(rk, 'readings', KEY, sealed))).toBe('unsupported-version');
    const underRk = sealValue(rk, 'readings', KEY, PLAINTEXT, random);
    expect(integrityFailure(() => openWithSecretKey(storage.secretKey, 'readings', KEY, underRk))).toBe('unsupported-version');
  });

  it('binds the same associated data: another row or store fails', () => {
    const sealed = sealToPublicKey(storage.publicKey, 'readings', KEY, PLAINTEXT, random);
    expect(integrityFailure(() => openWithSecretKey(storage.secretKey, 'sensors', KEY, sealed))).toBe('auth-failed');
    expect(integrityFailure(() => openWithSecretKey(storage.secretKey, 'readings', canonicalKey(['0123456789abcdef0123456789abcdef', 43]), sealed))).toBe(
      'auth-failed',
    );
  });

  it('property: any flipped bit is detected, a low-order ephemeral key included', () => {
    const sealed = sealToPublicKey(storage.publicKey, 'readings', KEY, PLAINTEXT, random);
    fc.assert(
      fc.property(fc.nat({ max: sealed.length - 1 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
        const tampered = sealed.slice();
        tampered[at] = (tampered[at] as number) ^ (1 << bit);
        expect(integrityFailure(() => openWithSecretKey(storage.secretKey, 'readings', KEY, tampered))).toBe(
          at === 0 ? 'unsupported-version' : 'auth-failed',
        );
      }),
    );
    const lowOrder = sealed.slice();
    lowOrder.set(new Uint8Array(32), 1);
    expect(integrityFailure(() => openWithSecretKey(storage.secretKey, 'readings', KEY, lowOrder))).toBe('auth-failed');
    expect(integrityFailure(() => openWithSecretKey(storage.secretKey, 'readings', KEY, sealed.subarray(0, 48)))).toBe('malformed');
  });

  it('refuses to seal to an unusable public key', () => {
    expect(() => sealToPublicKey(new Uint8Array(32), 'readings', KEY, PLAINTEXT, random)).toThrow(RangeError);
    expect(() => sealToPublicKey(fromHex('00'), 'readings', KEY, PLAINTEXT, random)).toThrow(RangeError);
  });
});
