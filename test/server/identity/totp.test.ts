// RFC 6238 (TOTP), RFC 4226 (HOTP) and RFC 4648 (base32) against their published vectors; the
// one-use and drift rules; fast-check on the code and base32 parsers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.js';
import { EncodingError } from '../../../server/identity/errors.js';
import { decodeBase32, encodeBase32, hotp, matchTotp, otpauthUri, parseTotpCode, totp, type TotpHash } from '../../../server/identity/totp.js';

const SEEDS: Record<TotpHash, Uint8Array> = {
  sha1: utf8('12345678901234567890'),
  sha256: utf8('12345678901234567890123456789012'),
  sha512: utf8('1234567890123456789012345678901234567890123456789012345678901234'),
};

// RFC 6238 Appendix B: time, SHA1, SHA256, SHA512 (8 digits).
const RFC6238: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(RFC6238)('Appendix B at T=%d', (time, s1, s256, s512) => {
    expect(totp(SEEDS.sha1, time, 8, 'sha1')).toBe(s1);
    expect(totp(SEEDS.sha256, time, 8, 'sha256')).toBe(s256);
    expect(totp(SEEDS.sha512, time, 8, 'sha512')).toBe(s512);
  });

  it('HOTP matches RFC 4226 Appendix D', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    expect(expected.map((_, i) => hotp(SEEDS.sha1, BigInt(i)))).toEqual(expected);
  });

  it('accepts the current step and one either side, not two', () => {
    const t = 1_700_000_000;
    for (const d of [-1, 0, 1]) expect(matchTotp(SEEDS.sha1, totp(SEEDS.sha1, t + d * 30), t)).toBeDefined();
    for (const d of [-2, 2]) expect(matchTotp(SEEDS.sha1, totp(SEEDS.sha1, t + d * 30), t)).toBeUndefined();
  });

  it('a code is usable once: a step at or before the last used one never matches', () => {
    const t = 1_700_000_000;
    const code = totp(SEEDS.sha1, t);
    const step = matchTotp(SEEDS.sha1, code, t);
    expect(step).toBeDefined();
    expect(matchTotp(SEEDS.sha1, code, t, step)).toBeUndefined();
    // The previous step's code, after the current one was used, is refused too.
    expect(matchTotp(SEEDS.sha1, totp(SEEDS.sha1, t - 30), t, step)).toBeUndefined();
    expect(matchTotp(SEEDS.sha1, totp(SEEDS.sha1, t + 30), t, step)).toBeDefined();
  });

  it('rejects wrong codes of every shape', () => {
    expect(matchTotp(SEEDS.sha1, '000000', 59)).toBeUndefined();
    expect(matchTotp(SEEDS.sha1, '', 59)).toBeUndefined();
    expect(matchTotp(SEEDS.sha1, '2870820', 59)).toBeUndefined();
  });

  it('builds an otpauth URI with the base32 secret', () => {
    const uri = new URL(otpauthUri(SEEDS.sha1, 'Vitalock', 'nurse.ada'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(uri.searchParams.get('period')).toBe('30');
  });
});

describe('parseTotpCode', () => {
  it('accepts six digits with a space or dash', () => {
    expect(parseTotpCode('123456')).toBe('123456');
    expect(parseTotpCode(' 123 456 ')).toBe('123456');
    expect(parseTotpCode('123-456')).toBe('123456');
  });

  it('fuzz: returns six digits or throws EncodingError, nothing else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          expect(parseTotpCode(s)).toMatch(/^[0-9]{6}$/);
        } catch (e) {
          expect(e).toBeInstanceOf(EncodingError);
        }
      }),
      { seed: 6238, numRuns: 2000 },
    );
  });

  it('fuzz: every 6-digit code, however spaced, parses to itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999 }), fc.constantFrom('', ' ', '-'), (n, sep) => {
        const code = n.toString().padStart(6, '0');
        expect(parseTotpCode(code.slice(0, 3) + sep + code.slice(3))).toBe(code);
      }),
      { seed: 4226 },
    );
  });
});

describe('base32 (RFC 4648 §10)', () => {
  const VECTORS: [string, string][] = [
    ['', ''],
    ['f', 'MY======'],
    ['fo', 'MZXQ===='],
    ['foo', 'MZXW6==='],
    ['foob', 'MZXW6YQ='],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI======'],
  ];
  it.each(VECTORS)('%j ↔ %s', (plain, encoded) => {
    expect(encodeBase32(utf8(plain))).toBe(encoded.replace(/=+$/, ''));
    expect(decodeBase32(encoded)).toEqual(utf8(plain));
    expect(decodeBase32(encoded.toLowerCase().replace(/=/g, ''))).toEqual(utf8(plain));
  });

  it('rejects bad characters and impossible lengths', () => {
    for (const bad of ['M', 'MZX', 'MZXW6Y', 'MZ1Q', 'MZ!Q', 'MZ', 'MZXR']) expect(() => decodeBase32(bad)).toThrow(EncodingError);
  });

  it('fuzz: round trip for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(decodeBase32(encodeBase32(bytes))).toEqual(bytes);
      }),
      { seed: 4648 },
    );
  });

  it('fuzz: any string decodes canonically or throws EncodingError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          const bytes = decodeBase32(s);
          expect(encodeBase32(bytes)).toBe(s.replace(/[\s=]/g, '').toUpperCase());
        } catch (e) {
          expect(e).toBeInstanceOf(EncodingError);
        }
      }),
      { seed: 32, numRuns: 2000 },
    );
  });
});
