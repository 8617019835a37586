/**
 * fast-check on every parser the server adds (issue 5 §9): FHIR search parameters (patient
 * reference, code tokens, prefixed dates), the backup archive's header and frames, and the
 * migration splitter. Each either returns a well-formed value or throws its typed error — never
 * anything else — and round-trips what it should. Seeded, so a failure reproduces.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { intersectDates, parseCodeTokens, parseDateParam, parsePatientReference, SearchParamError } from '../../server/fhir/search-params.js';
import { BackupError, FrameKind, newHeader, openFrame, parseHeader, sealFrame, HEADER_LEN } from '../../server/backup/archive-format.js';
import { splitStatements } from '../../server/db/migrate.js';

const SEED = { seed: 20261128, numRuns: 500 };
const onlyTyped = (Err: new (...a: never[]) => Error) => (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Err);
  }
};

describe('FHIR search parameters', () => {
  it('any string: a value or SearchParamError', () => {
    const typed = onlyTyped(SearchParamError);
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        typed(() => parsePatientReference(s));
        typed(() => parseCodeTokens(s));
        typed(() => parseDateParam(s));
      }),
      SEED,
    );
  });

  it('dates: every valid date at every precision parses; the range contains its instant; ge/le bound it', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-12-31T23:59:59Z'), noInvalidDate: true }), fc.integer({ min: 0, max: 5 }), (d, precision) => {
        const iso = d.toISOString();
        const text = [iso.slice(0, 4), iso.slice(0, 7), iso.slice(0, 10), iso.slice(0, 16) + 'Z', iso.slice(0, 19) + 'Z', iso][precision]!;
        const eq = parseDateParam(text);
        expect(eq.from!.getTime()).toBeLessThanOrEqual(d.getTime());
        expect(eq.to!.getTime()).toBeGreaterThanOrEqual(d.getTime());
        expect(parseDateParam(`ge${text}`)).toEqual({ from: eq.from });
        expect(parseDateParam(`le${text}`)).toEqual({ to: eq.to });
        expect(parseDateParam(`gt${text}`).from!.getTime()).toBe(eq.to!.getTime() + 1);
        expect(intersectDates([`ge${text}`, `le${text}`])).toEqual(eq);
      }),
      SEED,
    );
  });

  it('dates: impossible calendar dates and missing zones are refused', () => {
    for (const bad of ['2026-02-30', '2025-02-29', '2026-13-01', '2026-00-10', '2026-01-01T25:00Z', '2026-01-01T10:00', 'ge2026-01-01T10:00:00+15:00', 'xx2026', '26-01-01']) {
      expect(() => parseDateParam(bad), bad).toThrow(SearchParamError);
    }
    expect(parseDateParam('2024-02-29').from?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });

  it('code tokens round-trip system|code lists', () => {
    const token = fc.record({ system: fc.constantFrom(undefined, 'http://loinc.org', 'urn:iso:std:iso:11073:10101'), code: fc.stringMatching(/^[A-Za-z0-9.-]{1,32}$/) });
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 20 }), (tokens) => {
        const text = tokens.map((t) => (t.system === undefined ? t.code : `${t.system}|${t.code}`)).join(',');
        expect(parseCodeTokens(text)).toEqual(tokens);
      }),
      SEED,
    );
  });

  it('patient references accept the id alone or Patient/id, and nothing that could escape', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9-]{3,64}$/), (id) => {
        expect(parsePatientReference(id)).toBe(id);
        expect(parsePatientReference(`Patient/${id}`)).toBe(id);
      }),
      SEED,
    );
    for (const bad of ["p-1'--", 'Patient/../x', 'Device/abc', 'P-UPPER', 'ab']) expect(() => parsePatientReference(bad)).toThrow(SearchParamError);
  });
});

describe('backup archive', () => {
  const key = new Uint8Array(32).fill(9);

  it('any header bytes: a header or BackupError', () => {
    const typed = onlyTyped(BackupError);
    fc.assert(fc.property(fc.uint8Array({ maxLength: HEADER_LEN + 4 }), (b) => typed(() => parseHeader(b))), SEED);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: HEADER_LEN - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const h = newHeader('passphrase').bytes.slice();
        h[i]! ^= x;
        typed(() => parseHeader(h));
      }),
      SEED,
    );
  });

  it('frames round-trip; any change to a sealed frame, its index or the header is refused with BackupError', () => {
    const header = newHeader('master');
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.nat({ max: 1000 }), fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), (json, index, manifest, pos, flip) => {
        const kind = manifest ? FrameKind.Manifest : FrameKind.Rows;
        const framed = sealFrame(key, header, index, kind, json);
        const sealed = framed.subarray(4);
        expect(openFrame(key, header, index, sealed)).toEqual({ kind, json, final: manifest });
        const damaged = sealed.slice();
        damaged[pos % damaged.length]! ^= flip;
        expect(() => openFrame(key, header, index, damaged)).toThrow(BackupError);
        expect(() => openFrame(key, header, index + 1, sealed)).toThrow(BackupError);
        expect(() => openFrame(key, newHeader('master'), index, sealed)).toThrow(BackupError);
      }),
      { ...SEED, numRuns: 200 },
    );
  });
});

describe('migration splitter', () => {
  it('splits statements, keeps $$ bodies whole, and drops comment lines', () => {
    const script = `-- a comment\nCREATE TABLE a (x int);\nCREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE EXCEPTION 'no; really';\nEND\n$$;\n-- another\nINSERT INTO a VALUES (1);\n`;
    const parts = splitStatements(script);
    expect(parts).toHaveLength(3);
    expect(parts[1]).toContain("RAISE EXCEPTION 'no; really';");
    expect(parts[1]?.endsWith('$$')).toBe(true);
  });

  it('any statements joined by ;\\n come back as the same statements (property)', () => {
    const statement = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 (),'=_*]{0,40}[A-Za-z0-9)]$/).filter((s) => !s.includes('$$'));
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 10 }), (statements) => {
        expect(splitStatements(statements.map((s) => `${s};`).join('\n'))).toEqual(statements.map((s) => s.trim()));
      }),
      SEED,
    );
  });
});
