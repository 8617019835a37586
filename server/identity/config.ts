/**
 * Identity configuration (issue 5 §3): the embedded OpenID provider with local accounts (default),
 * or a hospital's own issuer (`OIDC_ISSUER`, `OIDC_AUDIENCE`, `OIDC_JWKS_URL`, `OIDC_ROLES_CLAIM`),
 * in which case no provider is mounted and roles come from the configured claim.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { IdentityConfigError } from './errors.js';

export interface EmbeddedIdentityConfig {
  readonly kind: 'embedded';
  /** The public origin users and the app reach (scheme://host[:port]); the issuer is `${origin}/oidc`. */
  readonly origin: string;
  /** 32 bytes: seals TOTP seeds and signing keys at rest, and derives cookie and CSRF keys. */
  readonly identityKey: Uint8Array;
  /** The API's resource URL: the audience of access tokens. Default `${origin}/api`. */
  readonly resource?: string;
  /** The app (public client, PKCE + DPoP). */
  readonly appClientId?: string;
  readonly appRedirectUris?: readonly string[];
  /** Access-token lifetime in seconds (default 300). */
  readonly accessTokenTtl?: number;
  /** Refresh-token lifetime in seconds (default 30 days; rotation keeps the family). */
  readonly refreshTokenTtl?: number;
  /** Refuse sign-in without a second factor (default true). */
  readonly requireSecondFactor?: boolean;
  /**
   * An account without a second factor sets up its authenticator app at its first sign-in, after
   * the password (default true). When false, an administrator must enrol it (`enrolTotp`).
   */
  readonly enrolSecondFactorAtSignIn?: boolean;
  /** Sign-in posts per client address per window (default 100 per 5 min: a ward behind one NAT address signs in together at a shift change). */
  readonly addressLimit?: { readonly attempts: number; readonly windowSeconds: number };
  /** Trust X-Forwarded-* from a reverse proxy for the scheme the provider sees. */
  readonly trustProxy?: boolean;
}

export interface ExternalIdentityConfig {
  readonly kind: 'external';
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  /** Claim holding the Vitalock roles (a string array, or a space-separated string). Default `roles`. */
  readonly rolesClaim: string;
  /** The public origin of this server, for the DPoP `htu` check. */
  readonly origin: string;
  readonly trustProxy?: boolean;
}

export type IdentityConfig = EmbeddedIdentityConfig | ExternalIdentityConfig;

/** Resolved defaults of the embedded provider. */
export function embeddedDefaults(c: EmbeddedIdentityConfig) {
  return {
    issuer: `${c.origin}/oidc`,
    resource: c.resource ?? `${c.origin}/api`,
    appClientId: c.appClientId ?? 'vitalock-app',
    appRedirectUris: c.appRedirectUris ?? [`${c.origin}/auth/callback`],
    accessTokenTtl: c.accessTokenTtl ?? 300,
    refreshTokenTtl: c.refreshTokenTtl ?? 30 * 24 * 3600,
    requireSecondFactor: c.requireSecondFactor ?? true,
    enrolSecondFactorAtSignIn: c.enrolSecondFactorAtSignIn ?? true,
    addressLimit: c.addressLimit ?? { attempts: 100, windowSeconds: 300 },
  };
}

export function issuerOf(c: IdentityConfig): string {
  return c.kind === 'embedded' ? embeddedDefaults(c).issuer : c.issuer;
}

export function audienceOf(c: IdentityConfig): string {
  return c.kind === 'embedded' ? embeddedDefaults(c).resource : c.audience;
}

function origin(url: string, name: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new IdentityConfigError(`${name} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.hostname !== 'localhost' && u.hostname !== '127.0.0.1' && u.hostname !== '[::1]') {
    throw new IdentityConfigError(`${name} must use https (plain http only on loopback)`);
  }
  return url.replace(/\/+$/, '');
}

/**
 * Reads the identity settings from the environment. `identityKey` comes from
 * `VITALOCK_IDENTITY_KEY` (64 hex digits) or, for the zero-setup default, `keyFile` in the data
 * folder (created on first run, mode 0600).
 */
export async function identityConfigFromEnv(env: NodeJS.ProcessEnv, publicOrigin: string, keyFile?: string): Promise<IdentityConfig> {
  const base = origin(publicOrigin, 'the public origin');
  const trustProxy = env.VITALOCK_TRUST_PROXY === '1';
  if (env.OIDC_ISSUER !== undefined && env.OIDC_ISSUER !== '') {
    const audience = env.OIDC_AUDIENCE;
    const jwksUrl = env.OIDC_JWKS_URL;
    if (audience === undefined || audience === '') throw new IdentityConfigError('OIDC_AUDIENCE is required with OIDC_ISSUER');
    if (jwksUrl === undefined || jwksUrl === '') throw new IdentityConfigError('OIDC_JWKS_URL is required with OIDC_ISSUER');
    origin(jwksUrl, 'OIDC_JWKS_URL');
    return { kind: 'external', issuer: env.OIDC_ISSUER, audience, jwksUrl, rolesClaim: env.OIDC_ROLES_CLAIM ?? 'roles', origin: base, trustProxy };
  }
  return { kind: 'embedded', origin: base, identityKey: await identityKey(env, keyFile), trustProxy };
}

async function identityKey(env: NodeJS.ProcessEnv, keyFile: string | undefined): Promise<Uint8Array> {
  const fromEnv = env.VITALOCK_IDENTITY_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return parseKey(fromEnv, 'VITALOCK_IDENTITY_KEY');
  if (keyFile === undefined) throw new IdentityConfigError('VITALOCK_IDENTITY_KEY is required (64 hex digits)');
  try {
    return parseKey((await readFile(keyFile, 'utf8')).trim(), 'the identity key file');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = randomBytes(32);
  await mkdir(dirname(keyFile), { recursive: true });
  await writeFile(keyFile, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  await chmod(keyFile, 0o600);
  return new Uint8Array(key);
}

function parseKey(hex: string, name: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new IdentityConfigError(`${name} must be 64 hex digits`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
