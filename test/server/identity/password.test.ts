// Argon2id password hashes: parameters at least OWASP's minimum, random salts, PHC encoding, and
// fast-check on the PHC parser.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EncodingError } from '../../../server/identity/errors.js';
import { DEFAULT_ARGON2, encodePhc, hashPassword, parsePhc, verifyPassword } from '../../../server/identity/password.js';

describe('Argon2id password hashes', () => {
  it('uses at least m = 19 MiB, t = 2, p = 1, a 16-byte random salt, and the PHC string format', async () => {
    expect(DEFAULT_ARGON2.m).toBeGreaterThanOrEqual(19 * 1024);
    expect(DEFAULT_ARGON2.t).toBeGreaterThanOrEqual(2);
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(parsePhc(a).salt).toHaveLength(16);
  });

  it('verifies the right password and refuses others (NFC-normalised)', async () => {
    const phc = await hashPassword('Caf\u00e9 au lait, 2 sugars');
    expect(await verifyPassword('Caf\u00e9 au lait, 2 sugars', phc)).toBe(true);
    expect(await verifyPassword('Cafe\u0301 au lait, 2 sugars', phc)).toBe(true);
    expect(await verifyPassword('Caf\u00e9 au lait, 2 sugar', phc)).toBe(false);
    expect(await verifyPassword('', phc)).toBe(false);
  });

  it('the Argon2id it uses matches RFC 9106 §5.3', async () => {
    const { argon2idAsync } = await import('@noble/hashes/argon2.js');
    const tag = await argon2idAsync(new Uint8Array(32).fill(1), new Uint8Array(16).fill(2), {
      m: 32,
      t: 3,
      p: 4,
      dkLen: 32,
      key: new Uint8Array(8).fill(3),
      personalization: new Uint8Array(12).fill(4),
    });
    expect(Buffer.from(tag).toString('hex')).toBe('0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });

  it('rejects weak or absurd stored parameters and other algorithms', () => {
    const good = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$' + 'A'.repeat(43);
    expect(parsePhc(good).params).toEqual({ m: 19456, t: 2, p: 1 });
    for (const bad of [
      good.replace('argon2id', 'argon2i'),
      good.replace('v=19', 'v=16'),
      good.replace('m=19456', 'm=1024'),
      good.replace('m=19456', 'm=99999999'),
      good.replace('t=2', 't=1'),
      good.replace('t=2', 't=99'),
      good.replace('p=1', 'p=64'),
      good.replace('c29tZXNhbHRzb21lc2FsdA', 'c29tZXNhbHQ'),
      good + 'A',
      good.slice(0, -1),
    ]) {
      expect(() => parsePhc(bad), bad).toThrow(EncodingError);
    }
  });

  it('fuzz: the PHC parser returns a well-formed hash or throws EncodingError', () => {
    const phcLike = fc.tuple(
      fc.constantFrom('$argon2id$v=19$', '$argon2id$v=', '$argon2i$v=19$', ''),
      fc.constantFrom('m=19456,t=2,p=1', 'm=65536,t=3,p=4', 'm=0,t=0,p=0', 'm=19456,t=2'),
      fc.string({ maxLength: 30 }),
      fc.base64String({ maxLength: 90 }),
    ).map(([a, b, c, d]) => `${a}${b}$${c}$${d}`);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 250 }), phcLike), (s) => {
        try {
          const parsed = parsePhc(s);
          expect(parsed.hash).toHaveLength(32);
          expect(encodePhc(parsed)).toBe(s);
        } catch (e) {
          expect(e).toBeInstanceOf(EncodingError);
        }
      }),
      { seed: 9106, numRuns: 3000 },
    );
  });

  it('fuzz: encode then parse is the identity', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 19456, max: 262144 }), fc.integer({ min: 2, max: 10 }), fc.integer({ min: 1, max: 4 }), (salt, hash, m, t, p) => {
        const parsed = parsePhc(encodePhc({ params: { m, t, p }, salt, hash }));
        expect(parsed).toEqual({ params: { m, t, p }, salt, hash });
      }),
      { seed: 19 },
    );
  });
});
