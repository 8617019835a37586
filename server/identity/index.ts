/**
 * Identity for the cloud endpoint (issue 5 §3; architecture §4–§5): what the rest of the server
 * uses.
 *
 * `identityPlugin` mounts the embedded OpenID provider under `/oidc` on the API's origin (or, with
 * a hospital's issuer configured, mounts nothing) and adds an `onRequest` hook for `/api/*` and
 * `/fhir/*` that sets `request.principal` from a verified DPoP-bound access token — undefined
 * when the request carries none — and answers 401 `WWW-Authenticate: DPoP error="invalid_token"`
 * (or `invalid_dpop_proof`) when one is present but does not verify. The account functions serve
 * the admin routes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Database } from '../db/database.js';
import { ApiError } from '../errors.js';
import type { AccountDirectory, AccountView } from '../routes/account-directory.js';
import { createTokenVerifier, type Principal, type TokenVerifier } from './access-token.js';
import {
  createAccount,
  disableAccount,
  enableAccount,
  listAccounts,
  setRoles,
  type Account,
  type AccountContext,
} from './accounts.js';
import { identityEvent, type IdentityAudit } from './audit.js';
import { embeddedDefaults, type IdentityConfig } from './config.js';
import { databaseReplayCache } from './dpop-proof.js';
import { AccessTokenError, AccountError, DpopProofError } from './errors.js';
import { interactionRoutes } from './interaction-routes.js';
import { createProvider } from './provider.js';
import { loadSigningKeys } from './signing-keys.js';

export type { Principal } from './access-token.js';
export type { Role, Account, AccountContext, NewAccount, TotpEnrolment } from './accounts.js';
export { createAccount, setRoles, disableAccount, enableAccount, listAccounts, enrolTotp, resetSecondFactor, setPassword, findAccountById } from './accounts.js';
export type { IdentityConfig, EmbeddedIdentityConfig, ExternalIdentityConfig } from './config.js';
export { identityConfigFromEnv, issuerOf, audienceOf } from './config.js';
export type { IdentityAudit } from './audit.js';
export { AccessTokenError, DpopProofError, AccountError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking, from a verified access token; undefined when anonymous. */
    principal?: Principal;
  }
}

export interface IdentityOptions {
  readonly db: Database;
  readonly config: IdentityConfig;
  readonly audit: IdentityAudit;
  readonly now?: () => Date;
}

const PROTECTED = /^\/(api|fhir)(\/|$)/;

/** The Fastify plugin (not encapsulated: its hook covers the whole app). */
export async function identityPlugin(app: FastifyInstance, options: IdentityOptions): Promise<void> {
  const { db, config, audit } = options;
  let verifier: TokenVerifier;
  if (config.kind === 'embedded') {
    const keys = await loadSigningKeys(db, config.identityKey);
    const oidc = createProvider(db, config, keys);
    const callback = oidc.provider.callback();
    await app.register(async (child) => {
      // oidc-provider reads its own bodies: leave the stream untouched.
      child.removeAllContentTypeParsers();
      child.addContentTypeParser('*', (_request, _payload, done) => done(null));
      const handler = (request: FastifyRequest, reply: FastifyReply) => {
        reply.hijack();
        const raw = request.raw as IncomingMessage & { originalUrl?: string };
        raw.originalUrl = raw.url ?? '/';
        raw.url = (raw.url ?? '/').slice('/oidc'.length) || '/';
        void callback(raw, reply.raw);
      };
      child.all('/oidc/*', handler);
    });
    await app.register(interactionRoutes({ db, config, audit, oidc, ...(options.now !== undefined ? { now: options.now } : {}) }));
    const d = embeddedDefaults(config);
    verifier = createTokenVerifier({ issuer: d.issuer, audience: d.resource, keys: { jwks: keys.publicJwks }, rolesClaim: 'roles', requireAtJwtType: true, replay: databaseReplayCache(db) });
  } else {
    verifier = createTokenVerifier({ issuer: config.issuer, audience: config.audience, keys: { jwksUrl: config.jwksUrl }, rolesClaim: config.rolesClaim, requireAtJwtType: false, replay: databaseReplayCache(db) });
  }

  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request, reply) => {
    // Decide by the route that matched (not the raw text, which may be percent-encoded); check the
    // proof's htu against the path as the client sent it.
    if (!PROTECTED.test(request.routeOptions.url ?? '')) return;
    const path = request.url.split('?')[0] ?? '/';
    try {
      const principal = await verifier.verify({ authorization: request.headers.authorization, dpop: request.headers.dpop, method: request.method, url: config.origin + path }, (options.now?.() ?? new Date()).getTime());
      if (principal !== undefined) request.principal = principal;
    } catch (e) {
      if (!(e instanceof AccessTokenError || e instanceof DpopProofError)) throw e;
      request.log.info({ reason: e.reason }, 'access token rejected');
      await audit.append(identityEvent('auth.token-rejected', 'failure', 'anonymous', path.startsWith('/fhir') ? 'fhir' : 'api', { address: request.ip, reason: e.reason }));
      return reply
        .status(401)
        .header('www-authenticate', `DPoP error="${e.wireError}", algs="ES256 EdDSA"`)
        .header('cache-control', 'no-store')
        .send({ error: { code: 'unauthenticated', message: 'Your sign-in is not valid any more. Sign in again.' } });
    }
  });
}
(identityPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

/** What `buildApp({ identity })` takes: registers identity with the app's own audit log. */
export function identityForApp(db: Database, config: IdentityConfig): (app: FastifyInstance, audit: IdentityAudit) => Promise<void> {
  return (app, audit) => identityPlugin(app, { db, config, audit });
}

function view(a: Account): AccountView {
  return { id: a.id, username: a.username, displayName: a.displayName, roles: a.roles, disabled: a.disabled, hasSecondFactor: a.hasSecondFactor };
}

async function asApiError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (!(e instanceof AccountError)) throw e;
    const code = e.code === 'username-taken' ? 'conflict' : e.code === 'not-found' ? 'not-found' : 'bad-request';
    throw new ApiError(code, e.message);
  }
}

/** The admin routes' `AccountDirectory`, over the local accounts. */
export function accountDirectory(ctx: AccountContext): AccountDirectory {
  return {
    list: async () => (await listAccounts(ctx.db)).map(view),
    create: (input, actor) => asApiError(async () => view(await createAccount(ctx, input, actor))),
    setRoles: (id, roles, actor) => asApiError(async () => view(await setRoles(ctx, id, roles, actor))),
    setDisabled: (id, disabled, actor) => asApiError(async () => view(await (disabled ? disableAccount : enableAccount)(ctx, id, actor))),
  };
}
