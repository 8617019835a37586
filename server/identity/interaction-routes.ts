/**
 * The sign-in interaction of the embedded provider (issue 5 §3): password, then a TOTP code, as
 * server-rendered forms under `/oidc/interaction/:uid`. Each POST must carry the interaction's
 * signed cookie (SameSite=Lax, so a cross-site form post has none), a CSRF token bound to the
 * interaction (HMAC of its uid) and, when the browser sends them, our own `Origin` and
 * `Sec-Fetch-Site: same-origin`.
 *
 * Brute force: the per-address limit and the per-username lockout (`login-throttle.ts`) apply to
 * both steps; every sign-in, failure and lockout is appended to the audit log. After the second
 * factor, the app (our own first-party client) is granted its scopes without a consent screen.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { base64url } from 'jose';
import type { InteractionResults } from 'oidc-provider';
import { Type } from 'typebox';
import type { Database } from '../db/database.js';
import { equalBytes, toHex, utf8 } from '../../src/core/bytes.js';
import { randomBytes } from 'node:crypto';
import { authenticatePassword, enrolConfirmedTotp, findAccountById, normaliseUsername, verifySecondFactor } from './accounts.js';
import { identityEvent, type IdentityAudit } from './audit.js';
import { embeddedDefaults, type EmbeddedIdentityConfig } from './config.js';
import { EncodingError } from './errors.js';
import { enrolPage, errorPage, loginPage, STYLESHEET, STYLESHEET_PATH, totpPage } from './interaction-pages.js';
import { allowAddress, lockedFor, recordFailure, recordSuccess } from './login-throttle.js';
import { API_SCOPE, OIDC_SCOPES, type EmbeddedProvider } from './provider.js';
import { open, seal, subkey } from './sealed-secret.js';
import { encodeBase32, matchTotp, otpauthUri, parseTotpCode, TOTP_SECRET_BYTES } from './totp.js';

type Interaction = Awaited<ReturnType<EmbeddedProvider['provider']['interactionDetails']>>;
interface PendingSecondFactor {
  readonly accountId: string;
  readonly username: string;
  /** First sign-in enrolment: the candidate seed, sealed to this interaction (base64url). */
  readonly enrol?: string;
}
const PENDING = 'vitalockPendingSecondFactor';

const MESSAGES = {
  wrongPassword: 'The username or password is not right. Check both and try again.',
  wrongCode: 'That code is not right, or it was already used. Type the newest 6-digit code from your authenticator app.',
  wrongEnrolCode: 'That code does not match the key. Check that the app shows the account you just added, then type its newest 6-digit code.',
  noSecondFactor: 'This account has no authenticator app set up yet. Ask your administrator to set one up, then sign in again.',
  expired: 'This sign-in page has expired. Go back to Vitalock and start signing in again.',
} as const;

function addressLimitedMessage(windowSeconds: number): string {
  const minutes = Math.max(1, Math.ceil(windowSeconds / 60));
  return `Too many sign-in attempts from this network. Wait ${minutes} minute${minutes === 1 ? '' : 's'}, then try again.`;
}

function lockedMessage(seconds: number): string {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return `Too many failed attempts for this username. Wait ${minutes} minute${minutes === 1 ? '' : 's'}, then try again.`;
}

const UidParams = Type.Object({ uid: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
const LoginBody = Type.Object({ csrf: Type.String({ maxLength: 128 }), username: Type.String({ maxLength: 256 }), password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
const TotpBody = Type.Object({ csrf: Type.String({ maxLength: 128 }), code: Type.String({ maxLength: 32 }) }, { additionalProperties: false });
const AbortBody = Type.Object({ csrf: Type.String({ maxLength: 128 }) }, { additionalProperties: false });

export interface InteractionDeps {
  readonly db: Database;
  readonly config: EmbeddedIdentityConfig;
  readonly audit: IdentityAudit;
  readonly oidc: EmbeddedProvider;
  readonly now?: () => Date;
}

export function interactionRoutes(deps: InteractionDeps) {
  const { db, audit, oidc } = deps;
  const { provider } = oidc;
  const d = embeddedDefaults(deps.config);
  const now = deps.now ?? (() => new Date());
  const csrfKey = subkey(deps.config.identityKey, 'csrf');
  const csrfFor = (uid: string) => base64url.encode(hmac(sha256, csrfKey, utf8(`interaction\0${uid}`)));
  const usernameRef = (username: string) => `account/unknown:${toHex(sha256(utf8(normaliseUsername(username)))).slice(0, 16)}`;

  const html = (reply: FastifyReply, status: number, body: string) => reply.status(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);

  /** The interaction this request belongs to, or undefined (expired, wrong cookie, forged post). */
  async function load(request: FastifyRequest, reply: FastifyReply, uid: string, csrf?: string): Promise<Interaction | undefined> {
    let details: Interaction;
    try {
      details = await provider.interactionDetails(request.raw, reply.raw);
    } catch {
      return undefined;
    }
    if (details.uid !== uid) return undefined;
    if (csrf !== undefined) {
      if (!equalBytes(utf8(csrf), utf8(csrfFor(uid)))) return undefined;
      // Browsers under a no-referrer policy send `Origin: null` on form posts; Fetch Metadata
      // (`Sec-Fetch-Site`) still says where the post came from.
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== 'null' && origin !== deps.config.origin) return undefined;
      const site = request.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin') return undefined;
    }
    return details;
  }

  function pendingOf(details: Interaction): PendingSecondFactor | undefined {
    const p = (details.result as Record<string, unknown> | undefined)?.[PENDING] as PendingSecondFactor | undefined;
    return typeof p?.accountId === 'string' && typeof p.username === 'string' ? p : undefined;
  }

  const enrolAad = (uid: string, accountId: string) => `enrol/${uid}/${accountId}`;
  function candidateSeed(uid: string, pending: PendingSecondFactor): Uint8Array | undefined {
    if (typeof pending.enrol !== 'string') return undefined;
    return open(deps.config.identityKey, 'totp-secret', enrolAad(uid, pending.accountId), base64url.decode(pending.enrol));
  }
  function enrolHtml(uid: string, pending: PendingSecondFactor, seed: Uint8Array, error?: string): string {
    return enrolPage(uid, csrfFor(uid), encodeBase32(seed), otpauthUri(seed, 'Vitalock', pending.username), error !== undefined ? { error } : {});
  }

  async function remember(details: Interaction, result: Record<string, unknown>): Promise<void> {
    details.result = result as InteractionResults;
    await details.save(Math.max(1, (details.exp ?? 0) - Math.floor(Date.now() / 1000)));
  }

  /** Grants the app what it asked for (first-party: no consent screen) and resumes the authorization. */
  async function finish(request: FastifyRequest, reply: FastifyReply, details: Interaction, accountId: string, amr: string[] | undefined) {
    const clientId = String(details.params.client_id);
    // An existing grant is reused only if it is this account's: on a shared device the session
    // may still name the previous user.
    const existing = details.grantId !== undefined ? await provider.Grant.find(details.grantId) : undefined;
    if (amr !== undefined && details.session !== undefined) {
      // A fresh sign-in starts from a clean provider session. Left alone, oidc-provider would meet
      // the previous user's session and answer with a logout page that needs inline script.
      await (await provider.Session.find(details.session.cookie))?.destroy();
      details.session = undefined;
      await details.save(Math.max(1, (details.exp ?? 0) - Math.floor(Date.now() / 1000)));
    }
    const grant = existing !== undefined && existing.accountId === accountId && existing.clientId === clientId ? existing : new provider.Grant({ accountId, clientId });
    const requested = String(details.params.scope ?? '').split(' ');
    grant.addOIDCScope(requested.filter((s) => (OIDC_SCOPES as readonly string[]).includes(s)).join(' '));
    grant.addResourceScope(d.resource, API_SCOPE);
    const grantId = await grant.save();
    const result: InteractionResults = { consent: { grantId }, ...(amr !== undefined ? { login: { accountId, amr } } : {}) };
    const to = await provider.interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
    return reply.header('cache-control', 'no-store').redirect(to, 303);
  }

  async function guard(request: FastifyRequest, username: string): Promise<string | undefined> {
    const at = now();
    if (!(await allowAddress(db, request.ip, d.addressLimit, at))) {
      await audit.append(identityEvent('auth.address-limited', 'failure', 'anonymous', 'auth', { address: request.ip, reason: 'address over its sign-in limit' }));
      return addressLimitedMessage(d.addressLimit.windowSeconds);
    }
    const locked = await lockedFor(db, username, at);
    if (locked > 0) {
      await audit.append(identityEvent('auth.locked-out', 'failure', 'anonymous', usernameRef(username), { address: request.ip, reason: 'username locked after repeated failures' }));
      return lockedMessage(locked);
    }
    return undefined;
  }

  return async function routes(app: FastifyInstance): Promise<void> {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    app.get(STYLESHEET_PATH, async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(STYLESHEET));

    app.get('/oidc/interaction/:uid', { schema: { params: UidParams } }, async (request, reply) => {
      const { uid } = request.params as { uid: string };
      const details = await load(request, reply, uid);
      if (details === undefined) return html(reply, 400, errorPage('Sign-in expired', MESSAGES.expired));
      if (details.prompt.name === 'consent' && typeof details.session?.accountId === 'string') {
        return finish(request, reply, details, details.session.accountId, undefined);
      }
      const pending = pendingOf(details);
      if (pending !== undefined) {
        const seed = candidateSeed(uid, pending);
        return html(reply, 200, seed === undefined ? totpPage(uid, csrfFor(uid)) : enrolHtml(uid, pending, seed));
      }
      return html(reply, 200, loginPage(uid, csrfFor(uid)));
    });

    app.post('/oidc/interaction/:uid/login', { schema: { params: UidParams, body: LoginBody } }, async (request, reply) => {
      const { uid } = request.params as { uid: string };
      const { csrf, username, password } = request.body as { csrf: string; username: string; password: string };
      const details = await load(request, reply, uid, csrf);
      if (details === undefined) return html(reply, 400, errorPage('Sign-in expired', MESSAGES.expired));
      const shownName = normaliseUsername(username).slice(0, 64);
      const blocked = await guard(request, username);
      if (blocked !== undefined) return html(reply, 429, loginPage(uid, csrfFor(uid), { error: blocked, username: shownName }));
      const account = await authenticatePassword(db, username, password);
      if (account === undefined) {
        await recordFailure(db, username, now());
        const known = await db.query<{ id: string }>('SELECT id FROM identity_accounts WHERE username = $1', [normaliseUsername(username)]);
        const ref = known.rows[0] !== undefined ? `account/${known.rows[0].id}` : usernameRef(username);
        await audit.append(identityEvent('auth.sign-in-failed', 'failure', 'anonymous', ref, { address: request.ip, reason: 'wrong username or password, or account disabled' }));
        return html(reply, 400, loginPage(uid, csrfFor(uid), { error: MESSAGES.wrongPassword, username: shownName }));
      }
      if (!account.hasSecondFactor) {
        if (d.requireSecondFactor && d.enrolSecondFactorAtSignIn) {
          const seed = new Uint8Array(randomBytes(TOTP_SECRET_BYTES));
          const enrol = base64url.encode(seal(deps.config.identityKey, 'totp-secret', enrolAad(uid, account.id), seed));
          seed.fill(0);
          await remember(details, { [PENDING]: { accountId: account.id, username: account.username, enrol } });
          return reply.header('cache-control', 'no-store').redirect(`/oidc/interaction/${uid}`, 303);
        }
        if (d.requireSecondFactor) {
          await audit.append(identityEvent('auth.sign-in-failed', 'failure', 'anonymous', `account/${account.id}`, { address: request.ip, reason: 'no second factor enrolled' }));
          return html(reply, 403, errorPage('Set up an authenticator first', MESSAGES.noSecondFactor));
        }
        await recordSuccess(db, username);
        await audit.append(identityEvent('auth.sign-in', 'success', account.id, `account/${account.id}`, { address: request.ip, detail: { factors: 'password' } }));
        return finish(request, reply, details, account.id, ['pwd']);
      }
      await remember(details, { [PENDING]: { accountId: account.id, username: account.username } });
      return reply.header('cache-control', 'no-store').redirect(`/oidc/interaction/${uid}`, 303);
    });

    app.post('/oidc/interaction/:uid/totp', { schema: { params: UidParams, body: TotpBody } }, async (request, reply) => {
      const { uid } = request.params as { uid: string };
      const { csrf, code } = request.body as { csrf: string; code: string };
      const details = await load(request, reply, uid, csrf);
      const pending = details === undefined ? undefined : pendingOf(details);
      if (details === undefined || pending === undefined) return html(reply, 400, errorPage('Sign-in expired', MESSAGES.expired));
      const blocked = await guard(request, pending.username);
      if (blocked !== undefined) return html(reply, 429, totpPage(uid, csrfFor(uid), { error: blocked }));
      let ok = false;
      try {
        ok = await verifySecondFactor({ db, identityKey: deps.config.identityKey }, pending.accountId, parseTotpCode(code), Math.floor(now().getTime() / 1000));
      } catch (e) {
        if (!(e instanceof EncodingError)) throw e;
      }
      const account = ok ? await findAccountById(db, pending.accountId) : undefined;
      if (account === undefined || account.disabled) {
        await recordFailure(db, pending.username, now());
        await audit.append(identityEvent('auth.second-factor-failed', 'failure', 'anonymous', `account/${pending.accountId}`, { address: request.ip, reason: 'wrong or reused one-time code' }));
        return html(reply, 400, totpPage(uid, csrfFor(uid), { error: MESSAGES.wrongCode }));
      }
      await recordSuccess(db, pending.username);
      await audit.append(identityEvent('auth.sign-in', 'success', account.id, `account/${account.id}`, { address: request.ip, detail: { factors: 'password totp' } }));
      return finish(request, reply, details, account.id, ['pwd', 'otp']);
    });

    app.post('/oidc/interaction/:uid/enrol', { schema: { params: UidParams, body: TotpBody } }, async (request, reply) => {
      const { uid } = request.params as { uid: string };
      const { csrf, code } = request.body as { csrf: string; code: string };
      const details = await load(request, reply, uid, csrf);
      const pending = details === undefined ? undefined : pendingOf(details);
      const seed = pending === undefined ? undefined : candidateSeed(uid, pending);
      if (details === undefined || pending === undefined || seed === undefined) return html(reply, 400, errorPage('Sign-in expired', MESSAGES.expired));
      const blocked = await guard(request, pending.username);
      if (blocked !== undefined) return html(reply, 429, enrolHtml(uid, pending, seed, blocked));
      let step: bigint | undefined;
      try {
        step = matchTotp(seed, parseTotpCode(code), Math.floor(now().getTime() / 1000));
      } catch (e) {
        if (!(e instanceof EncodingError)) throw e;
      }
      const enrolled = step !== undefined && (await enrolConfirmedTotp({ db, identityKey: deps.config.identityKey, audit }, pending.accountId, seed, step));
      if (!enrolled) {
        await recordFailure(db, pending.username, now());
        await audit.append(identityEvent('auth.second-factor-failed', 'failure', 'anonymous', `account/${pending.accountId}`, { address: request.ip, reason: 'enrolment code did not match' }));
        return html(reply, 400, enrolHtml(uid, pending, seed, MESSAGES.wrongEnrolCode));
      }
      seed.fill(0);
      await recordSuccess(db, pending.username);
      await audit.append(identityEvent('auth.sign-in', 'success', pending.accountId, `account/${pending.accountId}`, { address: request.ip, detail: { factors: 'password totp', enrolled: true } }));
      return finish(request, reply, details, pending.accountId, ['pwd', 'otp']);
    });

    app.post('/oidc/interaction/:uid/abort', { schema: { params: UidParams, body: AbortBody } }, async (request, reply) => {
      const { uid } = request.params as { uid: string };
      const details = await load(request, reply, uid, (request.body as { csrf: string }).csrf);
      if (details === undefined) return html(reply, 400, errorPage('Sign-in expired', MESSAGES.expired));
      const to = await provider.interactionResult(request.raw, reply.raw, { error: 'access_denied', error_description: 'The user cancelled sign-in.' }, { mergeWithLastSubmission: false });
      return reply.header('cache-control', 'no-store').redirect(to, 303);
    });
  };
}
