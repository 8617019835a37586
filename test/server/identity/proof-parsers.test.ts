// fast-check on the parsers that read what a client sends: the Authorization header, the DPoP
// proof (any bytes, and well-formed JWTs with random headers), and the htu comparison.
import fc from 'fast-check';
import { base64url } from 'jose';
import { describe, expect, it } from 'vitest';
import { parseAuthorization, rolesFrom } from '../../../server/identity/access-token.js';
import { checkProofHeader, sameTarget, verifyDpopProof, type ReplayCache } from '../../../server/identity/dpop-proof.js';
import { AccessTokenError, DpopProofError } from '../../../server/identity/errors.js';

const noReplay: ReplayCache = { remember: async () => true };
const request = (proof: string) => ({ proof, method: 'GET', url: 'https://vitalock.example/api/x', accessToken: 'tok', boundThumbprint: 'jkt' });

describe('proof and header parsers (fuzz)', () => {
  it('parseAuthorization: a token, undefined, or AccessTokenError — nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 100 }), fc.string({ maxLength: 60 }).map((s) => `DPoP ${s}`)), (h) => {
        try {
          const t = parseAuthorization(h);
          if (t !== undefined) {
            expect(h.slice(0, 5).toLowerCase()).toBe('dpop ');
            expect(h.slice(5)).toBe(t);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(AccessTokenError);
        }
      }),
      { seed: 6750, numRuns: 2000 },
    );
    expect(parseAuthorization(undefined)).toBeUndefined();
    expect(() => parseAuthorization(`DPoP ${'a'.repeat(9000)}`)).toThrow(AccessTokenError);
  });

  it('verifyDpopProof: any string is a DpopProofError, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((p) => p.join('.'))), async (s) => {
        await expect(verifyDpopProof(request(s), noReplay)).rejects.toBeInstanceOf(DpopProofError);
      }),
      { seed: 9449, numRuns: 500 },
    );
  });

  it('verifyDpopProof: JWTs with random protected headers are DpopProofErrors', async () => {
    const header = fc.record(
      {
        typ: fc.oneof(fc.constant('dpop+jwt'), fc.string({ maxLength: 10 })),
        alg: fc.constantFrom('ES256', 'EdDSA', 'none', 'HS256', 'RS256', 'X'),
        jwk: fc.oneof(fc.constant({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }), fc.object({ maxDepth: 1 }), fc.string(), fc.constant(null)),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(header, fc.object({ maxDepth: 1 }), async (h, body) => {
        const jwt = `${base64url.encode(JSON.stringify(h))}.${base64url.encode(JSON.stringify(body))}.${base64url.encode(new Uint8Array(64))}`;
        await expect(verifyDpopProof(request(jwt), noReplay)).rejects.toBeInstanceOf(DpopProofError);
      }),
      { seed: 7638, numRuns: 500 },
    );
  });

  it('checkProofHeader: returns a public JWK or throws DpopProofError', () => {
    fc.assert(
      fc.property(fc.object({ maxDepth: 2 }), fc.constantFrom('EC', 'OKP', 'RSA', 'oct'), fc.boolean(), (extra, kty, withD) => {
        const h = { typ: 'dpop+jwt', alg: 'ES256', ...extra, jwk: { kty, x: 'AA', ...(withD ? { d: 'AA' } : {}) } };
        try {
          const jwk = checkProofHeader(h);
          expect('d' in jwk).toBe(false);
          expect(['EC', 'OKP', 'RSA']).toContain(jwk.kty);
        } catch (e) {
          expect(e).toBeInstanceOf(DpopProofError);
        }
      }),
      { seed: 1, numRuns: 1000 },
    );
  });

  it('sameTarget: compares scheme, host, port and path only', () => {
    expect(sameTarget('https://Vitalock.example:443/api/x?q=1#f', 'https://vitalock.example/api/x')).toBe(true);
    expect(sameTarget('http://vitalock.example/api/x', 'https://vitalock.example/api/x')).toBe(false);
    expect(sameTarget('https://vitalock.example:8443/api/x', 'https://vitalock.example/api/x')).toBe(false);
    expect(sameTarget('https://vitalock.example/api/x/', 'https://vitalock.example/api/x')).toBe(false);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.anything()), (htu) => {
        expect(typeof sameTarget(htu, 'https://vitalock.example/api/x')).toBe('boolean');
      }),
      { seed: 2, numRuns: 1000 },
    );
  });

  it('rolesFrom: keeps only known roles, from an array or a space-separated string', () => {
    expect(rolesFrom(['nurse', 'root', 'nurse', 3])).toEqual(['nurse']);
    expect(rolesFrom('clinician auditor superuser')).toEqual(['clinician', 'auditor']);
    expect(rolesFrom({ nurse: true })).toEqual([]);
    fc.assert(
      fc.property(fc.anything(), (v) => {
        for (const r of rolesFrom(v)) expect(['patient', 'nurse', 'clinician', 'admin', 'auditor']).toContain(r);
      }),
      { seed: 3 },
    );
  });
});
