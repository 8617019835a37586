/**
 * Local accounts of the embedded OpenID provider (issue 5 §3): username, display name, roles,
 * Argon2id password hash, disabled flag, and a TOTP second factor whose seed is sealed at rest.
 *
 * `authenticatePassword` costs one Argon2id verification whether the username exists or not,
 * and answers the same `undefined` for an unknown user, a wrong password and a disabled account:
 * the sign-in page cannot be used to find out which usernames exist.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { identityEvent, type IdentityAudit } from './audit.js';
import { AccountError } from './errors.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './password.js';
import { open, seal } from './sealed-secret.js';
import { matchTotp, otpauthUri, TOTP_SECRET_BYTES, encodeBase32 } from './totp.js';

export type Role = 'patient' | 'nurse' | 'clinician' | 'admin' | 'auditor';
export const ROLES: readonly Role[] = ['patient', 'nurse', 'clinician', 'admin', 'auditor'];

export interface Account {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly roles: readonly Role[];
  readonly disabled: boolean;
  readonly hasSecondFactor: boolean;
  readonly createdAt: Date;
}

/** What the account functions need: the database, the identity key (sealing) and the audit log. */
export interface AccountContext {
  readonly db: Queryable;
  readonly identityKey: Uint8Array;
  readonly audit: IdentityAudit;
}

interface AccountRow {
  id: string;
  username: string;
  display_name: string;
  roles: string[];
  password_hash: string;
  disabled: boolean;
  totp_secret: Uint8Array | null;
  totp_last_step: string | number | null;
  created_at: Date;
}

const COLUMNS = 'id, username, display_name, roles, password_hash, disabled, totp_secret, totp_last_step, created_at';
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export function normaliseUsername(input: string): string {
  return input.normalize('NFC').trim().toLowerCase();
}

function checkUsername(input: string): string {
  const u = normaliseUsername(input);
  if (!/^[a-z0-9][a-z0-9._@-]{2,63}$/.test(u)) {
    throw new AccountError('invalid-username', 'A username has 3 to 64 characters: letters, digits, dot, dash, underscore or @.');
  }
  return u;
}

function checkDisplayName(input: string): string {
  const name = input.normalize('NFC').trim();
  // eslint-disable-next-line no-control-regex
  if (name.length < 1 || name.length > 100 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new AccountError('invalid-display-name', 'A display name has 1 to 100 characters and no control characters.');
  }
  return name;
}

function checkPassword(password: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw new AccountError('weak-password', `A password has ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`);
  }
}

export function checkRoles(roles: readonly string[]): Role[] {
  const out = [...new Set(roles)];
  for (const r of out) if (!(ROLES as readonly string[]).includes(r)) throw new AccountError('invalid-role', `Unknown role. Roles: ${ROLES.join(', ')}.`);
  return out as Role[];
}

function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    roles: r.roles as Role[],
    disabled: r.disabled,
    hasSecondFactor: r.totp_secret !== null,
    createdAt: r.created_at,
  };
}

export interface NewAccount {
  readonly username: string;
  readonly displayName: string;
  readonly password: string;
  readonly roles: readonly string[];
}

export async function createAccount(ctx: AccountContext, input: NewAccount, actor = 'system'): Promise<Account> {
  const username = checkUsername(input.username);
  const displayName = checkDisplayName(input.displayName);
  checkPassword(input.password);
  const roles = checkRoles(input.roles);
  const hash = await hashPassword(input.password);
  const r = await ctx.db.query<AccountRow>(
    `INSERT INTO identity_accounts (id, username, display_name, roles, password_hash) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (username) DO NOTHING RETURNING ${COLUMNS}`,
    [randomUUID(), username, displayName, roles, hash],
  );
  const row = r.rows[0];
  if (row === undefined) throw new AccountError('username-taken', 'That username is taken. Choose another.');
  await ctx.audit.append(identityEvent('account.create', 'success', actor, `account/${row.id}`, { detail: { roles: roles.join(' ') } }));
  return toAccount(row);
}

export async function findAccountById(db: Queryable, id: string): Promise<Account | undefined> {
  const r = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM identity_accounts WHERE id = $1`, [id]);
  return r.rows[0] === undefined ? undefined : toAccount(r.rows[0]);
}

export async function listAccounts(db: Queryable): Promise<Account[]> {
  const r = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM identity_accounts ORDER BY username`);
  return r.rows.map(toAccount);
}

async function update(ctx: AccountContext, id: string, sql: string, params: readonly (string | boolean | string[] | Uint8Array | null)[]): Promise<Account> {
  const r = await ctx.db.query<AccountRow>(`UPDATE identity_accounts SET ${sql}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id, ...params]);
  const row = r.rows[0];
  if (row === undefined) throw new AccountError('not-found', 'No such account.');
  return toAccount(row);
}

export async function setRoles(ctx: AccountContext, id: string, roles: readonly string[], actor = 'system'): Promise<Account> {
  const checked = checkRoles(roles);
  const account = await update(ctx, id, 'roles = $2', [checked]);
  await ctx.audit.append(identityEvent('account.roles', 'success', actor, `account/${id}`, { detail: { roles: checked.join(' ') } }));
  return account;
}

/**
 * Disables the account and revokes every grant it holds (sessions, codes, refresh tokens): no new
 * access token is issued; one already issued lives at most its short TTL.
 */
export async function disableAccount(ctx: AccountContext, id: string, actor = 'system'): Promise<Account> {
  const account = await update(ctx, id, 'disabled = $2', [true]);
  await ctx.db.query(`DELETE FROM identity_oidc_models WHERE payload->>'accountId' = $1`, [id]);
  await ctx.audit.append(identityEvent('account.disable', 'success', actor, `account/${id}`));
  return account;
}

export async function enableAccount(ctx: AccountContext, id: string, actor = 'system'): Promise<Account> {
  const account = await update(ctx, id, 'disabled = $2', [false]);
  await ctx.audit.append(identityEvent('account.enable', 'success', actor, `account/${id}`));
  return account;
}

export async function setPassword(ctx: AccountContext, id: string, password: string, actor = 'system'): Promise<Account> {
  checkPassword(password);
  const account = await update(ctx, id, 'password_hash = $2', [await hashPassword(password)]);
  await ctx.audit.append(identityEvent('account.password', 'success', actor, `account/${id}`));
  return account;
}

export interface TotpEnrolment {
  /** Base32, to type into an authenticator app. Shown once; stored only sealed. */
  readonly secret: string;
  /** `otpauth://` URI for a QR code. */
  readonly uri: string;
}

/** Gives the account a new TOTP seed (replacing any old one) and returns it once. */
export async function enrolTotp(ctx: AccountContext, id: string, issuerName = 'Vitalock', actor = 'system'): Promise<TotpEnrolment> {
  const current = await findAccountById(ctx.db, id);
  if (current === undefined) throw new AccountError('not-found', 'No such account.');
  const secret = new Uint8Array(randomBytes(TOTP_SECRET_BYTES));
  const sealed = seal(ctx.identityKey, 'totp-secret', `account/${id}`, secret);
  await ctx.db.query('UPDATE identity_accounts SET totp_secret = $2, totp_last_step = NULL, updated_at = now() WHERE id = $1', [id, sealed]);
  await ctx.audit.append(identityEvent('account.totp-enrol', 'success', actor, `account/${id}`));
  const enrolment = { secret: encodeBase32(secret), uri: otpauthUri(secret, issuerName, current.username) };
  secret.fill(0);
  return enrolment;
}

/** Lost phone: clears the second factor, so the user sets up a new authenticator at the next sign-in. */
export async function resetSecondFactor(ctx: AccountContext, id: string, actor = 'system'): Promise<Account> {
  const account = await update(ctx, id, 'totp_secret = $2, totp_last_step = NULL', [null]);
  await ctx.audit.append(identityEvent('account.totp-reset', 'success', actor, `account/${id}`));
  return account;
}

/**
 * First sign-in enrolment: stores a seed the user has just proved they hold (their code matched
 * `step`), only if the account still has none, and marks that step used.
 */
export async function enrolConfirmedTotp(ctx: AccountContext, id: string, secret: Uint8Array, step: bigint): Promise<boolean> {
  const sealed = seal(ctx.identityKey, 'totp-secret', `account/${id}`, secret);
  const r = await ctx.db.query(
    'UPDATE identity_accounts SET totp_secret = $2, totp_last_step = $3, updated_at = now() WHERE id = $1 AND totp_secret IS NULL AND NOT disabled',
    [id, sealed, step.toString()],
  );
  if (r.rowCount !== 1) return false;
  await ctx.audit.append(identityEvent('account.totp-enrol', 'success', id, `account/${id}`, { detail: { at: 'sign-in' } }));
  return true;
}

/**
 * The password step of sign-in. Returns the account when the password is right and the account
 * is enabled; `undefined` otherwise, after the same Argon2id work in every case.
 */
export async function authenticatePassword(db: Queryable, username: string, password: string): Promise<Account | undefined> {
  const r = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM identity_accounts WHERE username = $1`, [normaliseUsername(username)]);
  const row = r.rows[0];
  const tooLong = password.length > PASSWORD_MAX * 4;
  // Verify against a dummy hash when there is no such account (or the input is absurd), so the time is the same.
  const ok = await verifyPassword(tooLong ? '' : password, row?.password_hash ?? (await dummyPasswordHash()));
  if (!ok || row === undefined || tooLong || row.disabled) return undefined;
  return toAccount(row);
}

/**
 * The second step: checks a TOTP code and marks its step used in the same statement, so a code
 * works once even when two instances receive it at the same moment.
 */
export async function verifySecondFactor(ctx: Pick<AccountContext, 'db' | 'identityKey'>, id: string, code: string, unixSeconds: number): Promise<boolean> {
  const r = await ctx.db.query<AccountRow>(`SELECT ${COLUMNS} FROM identity_accounts WHERE id = $1`, [id]);
  const row = r.rows[0];
  if (row === undefined || row.totp_secret === null || row.disabled) return false;
  const secret = open(ctx.identityKey, 'totp-secret', `account/${id}`, new Uint8Array(row.totp_secret));
  const last = row.totp_last_step === null ? undefined : BigInt(row.totp_last_step);
  const step = matchTotp(secret, code, unixSeconds, last);
  secret.fill(0);
  if (step === undefined) return false;
  const used = await ctx.db.query(
    'UPDATE identity_accounts SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)',
    [id, step.toString()],
  );
  return used.rowCount === 1;
}
