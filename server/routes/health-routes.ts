/**
 * Health and readiness (issue 5 §1): `/healthz` says the process is alive; `/readyz` says it can
 * serve — the database answers and every migration this build knows has been applied.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { loadMigrations } from '../db/migrate.js';
import { closed, errorResponses } from './http-schemas.js';

const Status = closed({ status: Type.String(), reason: Type.Optional(Type.String()) });

export const healthRoutes =
  (ctx: ServerContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const known = (await loadMigrations()).map((m) => m.version);

    app.get('/healthz', { schema: { response: { 200: Status, ...errorResponses } } }, async () => ({ status: 'alive' }));

    app.get('/readyz', { schema: { response: { 200: Status, ...errorResponses, 503: Status } } }, async (request, reply) => {
      try {
        const applied = new Set((await ctx.db.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
        const missing = known.filter((v) => !applied.has(v));
        if (missing.length > 0) return reply.status(503).send({ status: 'not-ready', reason: `${missing.length} migration(s) not applied` });
        return { status: 'ready' };
      } catch (e) {
        request.log.warn({ err: e }, 'readiness check failed');
        return reply.status(503).send({ status: 'not-ready', reason: 'database unreachable' });
      }
    });
  };
