/**
 * The cloud endpoint's HTTP service (issue 5 §1; architecture §5), in the order of fastify/demo:
 * external plugins (helmet with a strict CSP, rate limits), then the error handler, then routes —
 * health, the API under `/api`, FHIR R4 under `/fhir`, and the built app from `dist/app` — all on
 * one origin. Validation is strict: bodies are never coerced, and an unknown field is a 400.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { Database } from './db/database.js';
import type { KeyProvider } from './crypto/key-provider.js';
import { PatientKeyring } from './crypto/patient-keys.js';
import { AuditLog } from './audit/audit-log.js';
import { ApiError, codeForStatus } from './errors.js';
import { createLogger } from './logging.js';
import { validatorCompiler } from './validation.js';
import type { Authenticate, ServerContext } from './context.js';
import type { AccountDirectory } from './routes/account-directory.js';
import type { Principal } from './policy/principal.js';
import { healthRoutes } from './routes/health-routes.js';
import { adminRoutes } from './routes/admin-routes.js';
import { careStructureRoutes } from './routes/care-structure-routes.js';
import { clinicalRoutes } from './routes/clinical-routes.js';
import { breakGlassRoutes } from './routes/break-glass-routes.js';
import { auditRoutes } from './routes/audit-routes.js';
import { fhirRoutes } from './fhir/fhir-routes.js';
import { appRoutes, inlineHashes } from './routes/app-routes.js';
import { ingestRoutes, type IngestOptions } from './ingest/ingest-route.js';

export interface AppOptions {
  readonly db: Database;
  readonly keys: KeyProvider;
  /** Who is asking; by default what identity's plugin put on `request.principal`. */
  readonly authenticate?: Authenticate;
  /** Registers identity (the OpenID provider and token verification) before the routes. */
  readonly identity?: (app: FastifyInstance, audit: AuditLog) => Promise<void>;
  readonly accounts?: AccountDirectory;
  readonly logger?: Logger;
  readonly rateLimit?: { readonly max: number; readonly timeWindow: number };
  readonly bodyLimit?: number;
  readonly appDir?: string;
  readonly now?: () => Date;
  readonly trustProxy?: FastifyServerOptions['trustProxy'];
  /** Ingestion of sealed batches (`POST /api/ingest`): the ingestion keys and the manufacturer trust store. */
  readonly ingest?: IngestOptions;
  /** Close the database when the app closes (default true; false when the caller owns it). */
  readonly closeDatabase?: boolean;
}

export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface RouteInfo {
  readonly method: string;
  readonly url: string;
}

/** Every route the app registered (tests check each is covered and that none writes the audit log). */
export function registeredRoutes(app: FastifyInstance): readonly RouteInfo[] {
  return (app as unknown as { vitalockRoutes: RouteInfo[] }).vitalockRoutes;
}

/** The principal identity's plugin decorates requests with (undefined when anonymous). */
const fromRequest: Authenticate = async (request) => (request as unknown as { principal?: Principal }).principal;

/** The policy for the app on this origin; `inline` adds the hashes of the built page's inline blocks. */
export function contentSecurityPolicy(inline: { styles: readonly string[]; scripts: readonly string[] } = { styles: [], scripts: [] }) {
  const base = CONTENT_SECURITY_POLICY.directives;
  return { ...CONTENT_SECURITY_POLICY, directives: { ...base, scriptSrc: [...base.scriptSrc, ...inline.scripts], styleSrc: [...base.styleSrc, ...inline.styles] } };
}

export const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
    workerSrc: ["'self'"],
    connectSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    styleSrc: ["'self'"],
    fontSrc: ["'self'"],
    manifestSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
    formAction: ["'self'"],
  },
};

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger ?? createLogger(),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: () => randomUUID(),
    forceCloseConnections: 'idle',
    trustProxy: options.trustProxy ?? false,
    routerOptions: { maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  app.decorate('vitalockRoutes', routes);

  const audit = new AuditLog(options.db, options.keys);
  const ctx: ServerContext = {
    db: options.db,
    keys: options.keys,
    keyring: new PatientKeyring(options.keys),
    audit,
    now: options.now ?? (() => new Date()),
    authenticate: options.authenticate ?? fromRequest,
    accounts: options.accounts,
  };

  await app.register(helmet, { contentSecurityPolicy: contentSecurityPolicy(inlineHashes(options.appDir)), crossOriginEmbedderPolicy: false });
  await app.register(rateLimit, {
    max: options.rateLimit?.max ?? 600,
    timeWindow: options.rateLimit?.timeWindow ?? 60_000,
    errorResponseBuilder: () => new ApiError('rate-limited', 'Too many requests. Wait a minute, then try again.'),
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ApiError) return reply.status(error.statusCode).send({ error: { code: error.code, message: error.message } });
    if (error.validation !== undefined) {
      return reply.status(400).send({ error: { code: 'bad-request', message: `Invalid request: ${error.message}.` } });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).send({ error: { code: codeForStatus(status), message: error.message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({
      error: { code: 'internal', message: `Something went wrong on the server. If it keeps happening, give your administrator this request id: ${request.id}.`, requestId: request.id },
    });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: { code: 'not-found', message: `Nothing at ${request.method} ${request.url.split('?')[0] ?? ''}.` } });
  });

  if (options.identity !== undefined) await options.identity(app as unknown as FastifyInstance, audit);
  await app.register(healthRoutes(ctx));
  await app.register(
    async (api) => {
      await api.register(adminRoutes(ctx));
      await api.register(careStructureRoutes(ctx));
      await api.register(clinicalRoutes(ctx));
      await api.register(breakGlassRoutes(ctx));
      await api.register(auditRoutes(ctx));
      if (options.ingest !== undefined) await api.register(ingestRoutes(ctx, options.ingest));
    },
    { prefix: '/api' },
  );
  await app.register(fhirRoutes(ctx), { prefix: '/fhir' });
  await app.register(appRoutes(options.appDir));
  // Graceful shutdown: once closing, a response that was in flight ends its connection, so a
  // keep-alive client does not hold `close()` open until its idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  if (options.closeDatabase !== false) {
    app.addHook('onClose', async () => {
      await options.db.close();
    });
  }
  return app as unknown as FastifyInstance;
}
