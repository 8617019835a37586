/**
 * The embedded OpenID provider (oidc-provider 9; OpenID Connect Core, RFC 6749, RFC 7636 PKCE,
 * RFC 8707 resource indicators, RFC 9068 JWT access tokens, RFC 9449 DPoP):
 *
 * - one client, the app: public (`token_endpoint_auth_method: none`), authorization code only,
 *   PKCE S256 required, DPoP required (`dpop_bound_access_tokens`), redirect URIs on our origin;
 * - access tokens are JWTs for one resource, the API (audience = its URL), signed ES256 with a key
 *   from the database, with the account's roles in a `roles` claim, TTL ≈ 5 min;
 * - refresh tokens always issued to the app, rotated on every use; presenting a rotated (consumed)
 *   one revokes the whole grant — oidc-provider's reuse detection over our adapter;
 * - models in the shared database (`oidc-adapter.ts`), accounts from `accounts.ts`, the sign-in
 *   interaction served by `interaction-routes.ts`.
 */
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { base64url } from 'jose';
import type { Database } from '../db/database.js';
import { findAccountById } from './accounts.js';
import { embeddedDefaults, type EmbeddedIdentityConfig } from './config.js';
import { DatabaseAdapter } from './oidc-adapter.js';
import { errorPage, logoutPage, noticePage } from './interaction-pages.js';
import { subkey } from './sealed-secret.js';
import type { SigningKeys } from './signing-keys.js';
import { SIGNING_ALG } from './signing-keys.js';

export const API_SCOPE = 'api';
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile'] as const;

export interface EmbeddedProvider {
  readonly provider: Provider;
  readonly issuer: string;
  readonly resource: string;
  readonly clientId: string;
}

/**
 * Every authorization asks for the password and the code again: no silent single sign-on from the
 * provider's session cookie, because a bedside tablet is shared and the next nurse must not
 * inherit the last one's session. (The app keeps its own session with its refresh token.)
 */
function alwaysAuthenticate() {
  const { Check, base } = interactionPolicy;
  const policy = base();
  policy.get('login')?.checks.add(
    new Check('fresh_login_required', 'every authorization asks for credentials', (ctx) =>
      ctx.oidc.result?.login !== undefined ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT,
    ),
  );
  return policy;
}

export function createProvider(db: Database, config: EmbeddedIdentityConfig, keys: SigningKeys): EmbeddedProvider {
  const d = embeddedDefaults(config);
  const configuration: Configuration = {
    adapter: (name: string) => new DatabaseAdapter(db, name),
    clients: [
      {
        client_id: d.appClientId,
        client_name: 'Vitalock',
        token_endpoint_auth_method: 'none',
        application_type: 'web',
        redirect_uris: [...d.appRedirectUris],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        dpop_bound_access_tokens: true,
        id_token_signed_response_alg: SIGNING_ALG,
      },
    ],
    jwks: keys.privateJwks as Configuration['jwks'],
    cookies: {
      keys: [base64url.encode(subkey(config.identityKey, 'cookie-keys'))],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    async findAccount(_ctx, sub) {
      const account = await findAccountById(db, sub);
      if (account === undefined || account.disabled) return undefined;
      return { accountId: account.id, claims: () => ({ sub: account.id, name: account.displayName, preferred_username: account.username }) };
    },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    scopes: [...OIDC_SCOPES],
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = noticePage('Signed out', 'You are signed out. You can close this page.');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => d.resource,
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx, indicator) {
          if (indicator !== d.resource) throw new errors.InvalidTarget();
          return { scope: API_SCOPE, audience: d.resource, accessTokenTTL: d.accessTokenTtl, accessTokenFormat: 'jwt', jwt: { sign: { alg: SIGNING_ALG } } };
        },
      },
    },
    rotateRefreshToken: true,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // The app holds its tokens in a worker, not in the provider's cookie session.
    expiresWithSession: () => false,
    async extraTokenClaims(_ctx, token) {
      if (token.kind !== 'AccessToken' || token.accountId === undefined) return undefined;
      const account = await findAccountById(db, token.accountId);
      return { roles: account === undefined || account.disabled ? [] : [...account.roles] };
    },
    ttl: {
      AccessToken: d.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: d.accessTokenTtl,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: d.refreshTokenTtl,
      RefreshToken: d.refreshTokenTtl,
    },
    interactions: { policy: alwaysAuthenticate(), url: (_ctx, interaction) => `/oidc/interaction/${interaction.uid}` },
    clientBasedCORS: () => false,
    async renderError(ctx: KoaContextWithOIDC) {
      ctx.type = 'html';
      ctx.body = errorPage('Sign-in could not continue', 'Go back to Vitalock and start signing in again. If this keeps happening, tell your administrator.');
    },
  };
  const provider = new Provider(d.issuer, configuration);
  provider.proxy = config.trustProxy === true;
  return { provider, issuer: d.issuer, resource: d.resource, clientId: d.appClientId };
}
