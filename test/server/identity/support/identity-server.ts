// A Fastify instance on 127.0.0.1 with the identity plugin and one protected test route, plus the
// browser side of a sign-in: a cookie jar, the interaction forms driven with fetch, and
// oauth4webapi for authorization code + PKCE + DPoP, as the app's worker will do it.
import Fastify, { type FastifyInstance } from 'fastify';
import { createServer } from 'node:net';
import * as oauth from 'oauth4webapi';
import type { Database } from '../../../../server/db/database.js';
import type { EmbeddedIdentityConfig } from '../../../../server/identity/config.js';
import { identityPlugin } from '../../../../server/identity/index.js';
import { totp } from '../../../../server/identity/totp.js';
import { RecordingAudit } from './recording-audit.js';

export interface TestServer {
  readonly app: FastifyInstance;
  readonly origin: string;
  readonly audit: RecordingAudit;
  readonly logs: string[];
  readonly config: EmbeddedIdentityConfig;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startServer(db: Database, identityKey: Uint8Array, overrides: Partial<EmbeddedIdentityConfig> = {}, now?: () => Date): Promise<TestServer> {
  const p = await freePort();
  const origin = `http://127.0.0.1:${p}`;
  const logs: string[] = [];
  const audit = new RecordingAudit();
  const config: EmbeddedIdentityConfig = { kind: 'embedded', origin, identityKey, ...overrides };
  const app = Fastify({ logger: { level: 'debug', stream: { write: (line: string) => void logs.push(line) } } });
  await identityPlugin(app, { db, config, audit, ...(now !== undefined ? { now } : {}) });
  app.get('/api/whoami', async (request) => ({ principal: request.principal ?? null }));
  app.post('/api/whoami', async (request) => ({ principal: request.principal ?? null }));
  app.get('/fhir/metadata', async (request) => ({ principal: request.principal ?? null }));
  await app.listen({ host: '127.0.0.1', port: p });
  return { app, origin, audit, logs, config, close: () => app.close() };
}

/** Just enough of a browser: cookies by name (path ignored), no redirects followed automatically. */
export class Browser {
  private readonly cookies = new Map<string, string>();

  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const gone = value === '' || attrs.some((a) => /^\s*max-age=0/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Posts a form found in `html` (by its action ending) with `fields` plus its hidden CSRF field. */
  async submit(origin: string, html: string, actionEnding: string, fields: Record<string, string>, extra: RequestInit = {}): Promise<Response> {
    const action = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1] ?? '').find((a) => a.endsWith(actionEnding));
    if (action === undefined) throw new Error(`no form ending in ${actionEnding} in: ${html.slice(0, 400)}`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    return this.fetch(origin + action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
      ...extra,
    });
  }
}

export const insecure = { [oauth.allowInsecureRequests]: true } as const;
export const APP_CLIENT: oauth.Client = { client_id: 'vitalock-app', id_token_signed_response_alg: 'ES256' };

export async function discover(origin: string): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(`${origin}/oidc`);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
}

export interface Authorization {
  readonly as: oauth.AuthorizationServer;
  readonly url: URL;
  readonly state: string;
  readonly verifier: string;
  readonly redirectUri: string;
}

export async function startAuthorization(origin: string, scope = 'openid offline_access api'): Promise<Authorization> {
  const as = await discover(origin);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const redirectUri = `${origin}/auth/callback`;
  const url = new URL(as.authorization_endpoint ?? '');
  url.searchParams.set('client_id', APP_CLIENT.client_id);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', scope);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('resource', `${origin}/api`);
  return { as, url, state, verifier, redirectUri };
}

/** Follows redirects by hand until a page (2xx/4xx) or a redirect to the app. */
export async function follow(browser: Browser, origin: string, res: Response): Promise<Response | URL> {
  let current = res;
  for (let i = 0; i < 10 && current.status >= 300 && current.status < 400; i++) {
    const to = new URL(current.headers.get('location') ?? '', origin);
    if (to.pathname === '/auth/callback') return to;
    current = await browser.fetch(to);
  }
  return current;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
  readonly totpSeed: Uint8Array;
}

/** The whole front-channel sign-in: returns the callback URL with the code. */
export async function signInThroughForms(origin: string, auth: Authorization, who: Credentials, browser = new Browser(), at = () => Math.floor(Date.now() / 1000)): Promise<URL> {
  const login = await follow(browser, origin, await browser.fetch(auth.url));
  if (login instanceof URL) return login;
  const loginHtml = await login.text();
  const second = await follow(browser, origin, await browser.submit(origin, loginHtml, '/login', { username: who.username, password: who.password }));
  if (second instanceof URL) return second;
  const totpHtml = await second.text();
  if (!totpHtml.includes('name="code"')) throw new Error(`expected the code page, got ${second.status}: ${totpHtml.slice(0, 600)}`);
  const done = await follow(browser, origin, await browser.submit(origin, totpHtml, '/totp', { code: totp(who.totpSeed, at()) }));
  if (!(done instanceof URL)) throw new Error(`expected a redirect to the app, got ${done.status}: ${(await done.text()).slice(0, 600)}`);
  return done;
}

export interface Tokens {
  readonly dpop: oauth.DPoPHandle;
  readonly keyPair: CryptoKeyPair;
  readonly response: oauth.TokenEndpointResponse;
}

export async function exchangeCode(auth: Authorization, callback: URL, keyPair?: CryptoKeyPair): Promise<Tokens> {
  const keys = keyPair ?? (await oauth.generateKeyPair('ES256'));
  const dpop = oauth.DPoP(APP_CLIENT, keys);
  const params = oauth.validateAuthResponse(auth.as, APP_CLIENT, callback, auth.state);
  const res = await oauth.authorizationCodeGrantRequest(auth.as, APP_CLIENT, oauth.None(), params, auth.redirectUri, auth.verifier, { DPoP: dpop, ...insecure });
  const response = await oauth.processAuthorizationCodeResponse(auth.as, APP_CLIENT, res);
  return { dpop, keyPair: keys, response };
}
