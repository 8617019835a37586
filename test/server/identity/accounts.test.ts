// Local accounts on both engines: creation and validation, roles, disabling, TOTP enrolment
// (sealed at rest, each code once), no user enumeration by timing, lockout and per-address limits.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../server/db/database.js';
import {
  authenticatePassword,
  createAccount,
  disableAccount,
  enableAccount,
  enrolTotp,
  listAccounts,
  resetSecondFactor,
  setRoles,
  verifySecondFactor,
  type AccountContext,
} from '../../../server/identity/accounts.js';
import { AccountError, EncodingError } from '../../../server/identity/errors.js';
import { allowAddress, BASE_LOCK_SECONDS, FREE_FAILURES, lockedFor, lockSeconds, MAX_LOCK_SECONDS, recordFailure, recordSuccess } from '../../../server/identity/login-throttle.js';
import { decodeBase32, totp } from '../../../server/identity/totp.js';
import { ENGINES } from './support/engines.js';
import { RecordingAudit } from './support/recording-audit.js';

const PASSWORD = 'long enough passphrase 7';

for (const engine of ENGINES) {
  describe.skipIf(engine.skip !== undefined)(`accounts on ${engine.name}`, () => {
    let db: Database;
    let ctx: AccountContext;
    const audit = new RecordingAudit();
    beforeAll(async () => {
      db = await engine.open();
      ctx = { db, identityKey: new Uint8Array(randomBytes(32)), audit };
    });
    afterAll(async () => db.close());

    it('creates, lists, changes roles, disables and enables accounts, auditing each change', async () => {
      const a = await createAccount(ctx, { username: '  Nurse.Ada ', displayName: 'Ada Lovelace', password: PASSWORD, roles: ['nurse'] }, 'admin-1');
      expect(a).toMatchObject({ username: 'nurse.ada', displayName: 'Ada Lovelace', roles: ['nurse'], disabled: false, hasSecondFactor: false });
      expect((await listAccounts(db)).map((x) => x.username)).toContain('nurse.ada');
      expect((await setRoles(ctx, a.id, ['nurse', 'clinician', 'nurse'])).roles).toEqual(['nurse', 'clinician']);
      expect((await disableAccount(ctx, a.id)).disabled).toBe(true);
      expect(await authenticatePassword(db, 'nurse.ada', PASSWORD)).toBeUndefined();
      expect((await enableAccount(ctx, a.id)).disabled).toBe(false);
      expect((await authenticatePassword(db, 'NURSE.ADA', PASSWORD))?.id).toBe(a.id);
      expect(audit.actions()).toEqual(expect.arrayContaining(['account.create', 'account.roles', 'account.disable', 'account.enable']));
      expect(audit.events.find((e) => e.action === 'account.create')?.actor).toBe('admin-1');
      const stored = await db.query<{ password_hash: string }>('SELECT password_hash FROM identity_accounts WHERE id = $1', [a.id]);
      expect(stored.rows[0]?.password_hash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
    });

    it('refuses bad input with typed errors that say what to do', async () => {
      const base = { username: 'clin.bob', displayName: 'Bob', password: PASSWORD, roles: ['clinician'] };
      await createAccount(ctx, base);
      const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof AccountError ? e.code : String(e)));
      expect(await code(createAccount(ctx, base))).toBe('username-taken');
      expect(await code(createAccount(ctx, { ...base, username: 'x' }))).toBe('invalid-username');
      expect(await code(createAccount(ctx, { ...base, username: "bob'; DROP TABLE identity_accounts;--" }))).toBe('invalid-username');
      expect(await code(createAccount(ctx, { ...base, username: 'clin.carol', password: 'short' }))).toBe('weak-password');
      expect(await code(createAccount(ctx, { ...base, username: 'clin.carol', roles: ['root'] }))).toBe('invalid-role');
      expect(await code(createAccount(ctx, { ...base, username: 'clin.carol', displayName: 'a\u0000b' }))).toBe('invalid-display-name');
      expect(await code(setRoles(ctx, 'no-such-id', ['nurse']))).toBe('not-found');
    });

    it('enrols TOTP with the seed sealed at rest; each code works once; another key cannot open it', async () => {
      const a = await createAccount(ctx, { username: 'pat.cleo', displayName: 'Cleo', password: PASSWORD, roles: ['patient'] });
      const { secret, uri } = await enrolTotp(ctx, a.id);
      expect(uri).toContain('otpauth://totp/Vitalock:pat.cleo?');
      const seed = decodeBase32(secret);
      const row = await db.query<{ totp_secret: Uint8Array }>('SELECT totp_secret FROM identity_accounts WHERE id = $1', [a.id]);
      const sealed = Buffer.from(row.rows[0]?.totp_secret ?? new Uint8Array());
      expect(sealed.length).toBe(24 + 20 + 16);
      expect(sealed.includes(Buffer.from(seed))).toBe(false);
      const now = Math.floor(Date.now() / 1000);
      const code = totp(seed, now);
      expect(await verifySecondFactor(ctx, a.id, code, now)).toBe(true);
      expect(await verifySecondFactor(ctx, a.id, code, now)).toBe(false);
      expect(await verifySecondFactor(ctx, a.id, totp(seed, now - 30), now)).toBe(false);
      expect(await verifySecondFactor(ctx, a.id, totp(seed, now + 30), now)).toBe(true);
      await expect(verifySecondFactor({ db, identityKey: new Uint8Array(32) }, a.id, totp(seed, now + 60), now + 60)).rejects.toThrow(EncodingError);
      // Moving the sealed seed to another account does not work (bound to its row).
      const b = await createAccount(ctx, { username: 'pat.dora', displayName: 'Dora', password: PASSWORD, roles: ['patient'] });
      await db.query('UPDATE identity_accounts SET totp_secret = $2 WHERE id = $1', [b.id, new Uint8Array(sealed)]);
      await expect(verifySecondFactor(ctx, b.id, totp(seed, now + 90), now + 90)).rejects.toThrow(EncodingError);
      expect((await listAccounts(db)).find((x) => x.id === a.id)?.hasSecondFactor).toBe(true);
      // Lost phone: the administrator resets it; the old seed no longer signs in.
      expect((await resetSecondFactor(ctx, a.id, 'admin-1')).hasSecondFactor).toBe(false);
      expect(await verifySecondFactor(ctx, a.id, totp(seed, now + 120), now + 120)).toBe(false);
      expect(audit.actions()).toContain('account.totp-reset');
    });

    it('an unknown username costs the same time as a wrong password (no enumeration)', async () => {
      const time = async (username: string) => {
        const t0 = performance.now();
        expect(await authenticatePassword(db, username, 'wrong password entirely')).toBeUndefined();
        return performance.now() - t0;
      };
      await time('nobody.here'); // warm the dummy hash
      const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 7; i++) {
        known.push(await time('nurse.ada'));
        unknown.push(await time(`nobody.${i}`));
      }
      const ratio = median(unknown) / median(known);
      console.info(`[identity] password check: known ${median(known).toFixed(0)} ms, unknown ${median(unknown).toFixed(0)} ms (ratio ${ratio.toFixed(2)})`);
      // Without the dummy hash an unknown name would answer in well under 1% of the time; the
      // bounds are wide because the machine is shared and timings under load are noisy.
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    });

    it('locks a username after repeated failures, with a growing delay, the same for unknown names', async () => {
      expect([FREE_FAILURES - 1, FREE_FAILURES, FREE_FAILURES + 1, FREE_FAILURES + 2, 40].map(lockSeconds)).toEqual([0, BASE_LOCK_SECONDS, 2 * BASE_LOCK_SECONDS, 4 * BASE_LOCK_SECONDS, MAX_LOCK_SECONDS]);
      const t = new Date('2026-01-01T00:00:00Z');
      for (const name of ['nurse.ada', 'nobody.at.all']) {
        for (let i = 1; i < FREE_FAILURES; i++) expect(await recordFailure(db, name, t)).toBe(0);
        expect(await lockedFor(db, name, t)).toBe(0);
        expect(await recordFailure(db, name, t)).toBe(BASE_LOCK_SECONDS);
        expect(await lockedFor(db, name.toUpperCase(), t)).toBe(BASE_LOCK_SECONDS);
        expect(await lockedFor(db, name, new Date(t.getTime() + 10_000))).toBe(BASE_LOCK_SECONDS - 10);
        expect(await recordFailure(db, name, t)).toBe(2 * BASE_LOCK_SECONDS);
        expect(await lockedFor(db, name, new Date(t.getTime() + 61_000))).toBe(0);
        await recordSuccess(db, name);
        expect(await lockedFor(db, name, t)).toBe(0);
      }
      // Failures an hour apart do not add up.
      for (let i = 0; i < FREE_FAILURES + 2; i++) expect(await recordFailure(db, 'slow.typist', new Date(t.getTime() + i * 3_700_000))).toBe(0);
    });

    it('limits sign-in attempts per address per window', async () => {
      const limit = { attempts: 3, windowSeconds: 60 };
      const t = new Date('2026-01-01T00:00:10Z');
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await allowAddress(db, '203.0.113.7', limit, t));
      expect(results).toEqual([true, true, true, false, false]);
      expect(await allowAddress(db, '203.0.113.8', limit, t)).toBe(true);
      expect(await allowAddress(db, '203.0.113.7', limit, new Date(t.getTime() + 60_000))).toBe(true);
    });
  });
}
