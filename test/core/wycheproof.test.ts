/**
 * Wycheproof vector suites (C2SP/wycheproof testvectors_v1) run through the wrappers of
 * src/core/primitives.ts, so they test exactly the code paths the protocol uses.
 *
 * Each `it` runs one file, collects every failing vector as "tcId N: reason" and asserts the list
 * is empty, so one run reports all failures at once.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes, fromHex, isAllZero, toHex } from '../../src/core/bytes.js';
import { ProtocolError } from '../../src/core/errors.js';
import {
  aeadOpen,
  aeadSeal,
  dh,
  hkdfSha256,
  hmacSha256,
  NONCE_LEN,
  verify,
  xaeadOpen,
  xaeadSeal,
  XNONCE_LEN,
} from '../../src/core/primitives.js';
import { readVectorFile, vectorsDir } from '../support/vectors.js';

type Result = 'valid' | 'invalid' | 'acceptable';

interface TestCase {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: Result;
}

interface TestFile<G> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly G[];
}

interface XdhTest extends TestCase {
  readonly public: string;
  readonly private: string;
  readonly shared: string;
}
interface XdhGroup {
  readonly curve: string;
  readonly tests: readonly XdhTest[];
}

interface EddsaTest extends TestCase {
  readonly msg: string;
  readonly sig: string;
}
interface EddsaGroup {
  readonly publicKey: { readonly pk: string };
  readonly tests: readonly EddsaTest[];
}

interface AeadTest extends TestCase {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}
interface AeadGroup {
  readonly ivSize: number;
  readonly keySize: number;
  readonly tagSize: number;
  readonly tests: readonly AeadTest[];
}

interface HkdfTest extends TestCase {
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
}
interface HkdfGroup {
  readonly tests: readonly HkdfTest[];
}

interface MacTest extends TestCase {
  readonly key: string;
  readonly msg: string;
  readonly tag: string;
}
interface MacGroup {
  readonly tagSize: number;
  readonly tests: readonly MacTest[];
}

const DIR = 'wycheproof';

function load<G extends { readonly tests: readonly TestCase[] }>(name: string): { file: TestFile<G>; count: number } {
  const text = readVectorFile(`${DIR}/${name}`);
  if (text === undefined) throw new Error(`missing vector file ${DIR}/${name} in ${vectorsDir() ?? '(none)'}`);
  const file = JSON.parse(text) as TestFile<G>;
  let count = 0;
  for (const g of file.testGroups) count += g.tests.length;
  return { file, count };
}

/** Runs `fn`; returns its value, or the thrown error wrapped so callers can tell the two apart. */
function attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

const dir = vectorsDir();
const skipReason = `vectors folder not found (set VITALOCK_VECTORS or provide ../shared/vectors); Wycheproof suites skipped`;
if (dir === undefined) console.log(skipReason);
const suite = dir === undefined ? describe.skip : describe;

suite(dir === undefined ? `Wycheproof (skipped: ${skipReason})` : 'Wycheproof vectors through primitives.ts', () => {
  it('x25519_test.json through dh()', () => {
    const { file, count } = load<XdhGroup>('x25519_test.json');
    expect(count).toBeGreaterThan(0);
    expect(count).toBe(file.numberOfTests);
    const failures: string[] = [];
    let acceptableAccepted = 0;
    let acceptableRejected = 0;
    for (const g of file.testGroups) {
      expect(g.curve).toBe('curve25519');
      for (const t of g.tests) {
        const expected = fromHex(t.shared);
        const r = attempt(() => dh(fromHex(t.private), fromHex(t.public)));
        if (!r.ok && !(r.error instanceof ProtocolError && r.error.code === 'auth-failed')) {
          failures.push(`tcId ${t.tcId}: threw something other than ProtocolError(auth-failed): ${describeError(r.error)}`);
          continue;
        }
        if (t.result === 'valid') {
          if (!r.ok) failures.push(`tcId ${t.tcId}: valid vector rejected (${t.flags.join(',')})`);
          else if (!equalBytes(r.value, expected)) failures.push(`tcId ${t.tcId}: got ${toHex(r.value)}, want ${t.shared}`);
        } else if (t.result === 'acceptable') {
          if (isAllZero(expected)) {
            // RFC 7748 §6.1: an all-zero output must be refused, whatever Wycheproof tolerates.
            if (r.ok) failures.push(`tcId ${t.tcId}: all-zero shared secret accepted`);
          } else if (r.ok) {
            acceptableAccepted++;
            if (!equalBytes(r.value, expected)) failures.push(`tcId ${t.tcId}: acceptable vector returned a wrong value`);
          } else {
            acceptableRejected++;
          }
        } else if (r.ok && equalBytes(r.value, expected)) {
          failures.push(`tcId ${t.tcId}: invalid vector accepted`);
        }
      }
    }
    console.log(
      `x25519: ${count} vectors; acceptable with a non-zero secret: ${acceptableAccepted} computed, ${acceptableRejected} rejected`,
    );
    expect(failures).toEqual([]);
  });

  it('ed25519_test.json through verify() (strict RFC 8032)', () => {
    const { file, count } = load<EddsaGroup>('ed25519_test.json');
    expect(count).toBeGreaterThan(0);
    expect(count).toBe(file.numberOfTests);
    const failures: string[] = [];
    for (const g of file.testGroups) {
      const pk = fromHex(g.publicKey.pk);
      for (const t of g.tests) {
        const r = attempt(() => verify(pk, fromHex(t.msg), fromHex(t.sig)));
        if (!r.ok) {
          failures.push(`tcId ${t.tcId}: verify threw ${describeError(r.error)}`);
          continue;
        }
        // The file has no 'acceptable' vectors; if one appears, strict verification may go either way.
        if (t.result === 'valid' && !r.value) failures.push(`tcId ${t.tcId}: valid signature refused (${t.comment})`);
        if (t.result === 'invalid' && r.value) failures.push(`tcId ${t.tcId}: invalid signature accepted (${t.flags.join(',')}: ${t.comment})`);
      }
    }
    expect(failures).toEqual([]);
  });

  function runAead(
    name: string,
    nonceLen: number,
    seal: (key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, ad: Uint8Array) => Uint8Array,
    open: (key: Uint8Array, nonce: Uint8Array, ct: Uint8Array, ad: Uint8Array) => Uint8Array,
  ): void {
    const { file, count } = load<AeadGroup>(name);
    expect(count).toBeGreaterThan(0);
    expect(count).toBe(file.numberOfTests);
    const failures: string[] = [];
    let wrongSizeVectors = 0;
    for (const g of file.testGroups) {
      expect(g.tagSize).toBe(128);
      for (const t of g.tests) {
        const key = fromHex(t.key);
        const nonce = fromHex(t.iv);
        const aad = fromHex(t.aad);
        const msg = fromHex(t.msg);
        const sealed = fromHex(t.ct + t.tag);
        if (nonce.length !== nonceLen || key.length !== 32) {
          // Wrong nonce or key size: both directions must throw, never silently succeed.
          wrongSizeVectors++;
          if (t.result === 'valid') failures.push(`tcId ${t.tcId}: unexpected 'valid' vector with a ${nonce.length}-byte nonce`);
          if (attempt(() => seal(key, nonce, msg, aad)).ok) failures.push(`tcId ${t.tcId}: seal accepted a ${nonce.length}-byte nonce / ${key.length}-byte key`);
          if (attempt(() => open(key, nonce, sealed, aad)).ok) failures.push(`tcId ${t.tcId}: open accepted a ${nonce.length}-byte nonce / ${key.length}-byte key`);
          continue;
        }
        const opened = attempt(() => open(key, nonce, sealed, aad));
        if (!opened.ok && !(opened.error instanceof ProtocolError && opened.error.code === 'auth-failed')) {
          failures.push(`tcId ${t.tcId}: open threw something other than ProtocolError(auth-failed): ${describeError(opened.error)}`);
          continue;
        }
        if (t.result === 'valid') {
          const s = attempt(() => seal(key, nonce, msg, aad));
          if (!s.ok) failures.push(`tcId ${t.tcId}: seal threw ${describeError(s.error)}`);
          else if (!equalBytes(s.value, sealed)) failures.push(`tcId ${t.tcId}: seal output differs`);
          if (!opened.ok) failures.push(`tcId ${t.tcId}: valid ciphertext refused`);
          else if (!equalBytes(opened.value, msg)) failures.push(`tcId ${t.tcId}: open returned a wrong plaintext`);
        } else if (opened.ok) {
          failures.push(`tcId ${t.tcId}: ${t.result} ciphertext opened (${t.flags.join(',')})`);
        }
      }
    }
    expect(wrongSizeVectors).toBeGreaterThan(0);
    // No vector has a wrong key size; check that case directly.
    const shortKey = new Uint8Array(16);
    const goodNonce = new Uint8Array(nonceLen);
    if (attempt(() => seal(shortKey, goodNonce, new Uint8Array(1), new Uint8Array(0))).ok) failures.push('seal accepted a 16-byte key');
    if (attempt(() => open(shortKey, goodNonce, new Uint8Array(17), new Uint8Array(0))).ok) failures.push('open accepted a 16-byte key');
    expect(failures).toEqual([]);
  }

  it('chacha20_poly1305_test.json through aeadSeal()/aeadOpen()', () => {
    runAead('chacha20_poly1305_test.json', NONCE_LEN, aeadSeal, aeadOpen);
  });

  it('xchacha20_poly1305_test.json through xaeadSeal()/xaeadOpen()', () => {
    runAead('xchacha20_poly1305_test.json', XNONCE_LEN, xaeadSeal, xaeadOpen);
  });

  it('hkdf_sha256_test.json through hkdfSha256()', () => {
    const { file, count } = load<HkdfGroup>('hkdf_sha256_test.json');
    expect(count).toBeGreaterThan(0);
    expect(count).toBe(file.numberOfTests);
    const failures: string[] = [];
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        const r = attempt(() => hkdfSha256(fromHex(t.ikm), fromHex(t.salt), fromHex(t.info), t.size));
        if (t.result === 'valid') {
          if (!r.ok) failures.push(`tcId ${t.tcId}: threw ${describeError(r.error)}`);
          else if (toHex(r.value) !== t.okm.toLowerCase()) failures.push(`tcId ${t.tcId}: wrong okm`);
        } else if (r.ok) {
          failures.push(`tcId ${t.tcId}: ${t.result} vector did not throw (${t.flags.join(',')}, size ${t.size})`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('hmac_sha256_test.json through hmacSha256()', () => {
    const { file, count } = load<MacGroup>('hmac_sha256_test.json');
    expect(count).toBeGreaterThan(0);
    expect(count).toBe(file.numberOfTests);
    const failures: string[] = [];
    for (const g of file.testGroups) {
      expect(g.tagSize % 8).toBe(0);
      const tagLen = g.tagSize / 8;
      for (const t of g.tests) {
        const r = attempt(() => hmacSha256(fromHex(t.key), fromHex(t.msg)).subarray(0, tagLen));
        if (!r.ok) {
          failures.push(`tcId ${t.tcId}: threw ${describeError(r.error)}`);
          continue;
        }
        const match = equalBytes(r.value, fromHex(t.tag));
        if (t.result === 'valid' && !match) failures.push(`tcId ${t.tcId}: wrong tag`);
        if (t.result === 'invalid' && match) failures.push(`tcId ${t.tcId}: modified tag matched`);
      }
    }
    expect(failures).toEqual([]);
  });
});
