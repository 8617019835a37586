/**
 * The audit log through the API (issue 5 §6): an auditor reads it page by page and can run the
 * chain verification. Only GET routes exist here: nothing can change the log through the API
 * (a test enumerates every route to prove it).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { verifyAuditChain } from '../audit/verify.js';
import { authorize } from './access.js';
import { closed, errorResponses } from './http-schemas.js';

const Entry = closed({
  seq: Type.Integer(),
  at: Type.String(),
  actor: Type.String(),
  action: Type.String(),
  resource: Type.String(),
  decision: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  detail: Type.String(),
  prevHash: Type.String(),
  hash: Type.String(),
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export const auditRoutes =
  (ctx: ServerContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/audit',
      {
        schema: {
          querystring: closed({ after: Type.Integer({ minimum: 0, default: 0 }), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
          response: { 200: closed({ entries: Type.Array(Entry) }), ...errorResponses },
        },
      },
      async (request) => {
        await authorize(ctx, request, 'audit.read', { kind: 'audit' });
        const entries = await ctx.audit.read(request.query.after, request.query.limit);
        return { entries: entries.map((e) => ({ ...e, at: e.at.toISOString(), prevHash: hex(e.prevHash), hash: hex(e.hash) })) };
      },
    );

    app.get(
      '/audit/verify',
      {
        schema: {
          response: {
            200: closed({ ok: Type.Boolean(), entries: Type.Integer(), headSeq: Type.Optional(Type.Integer()), firstBadSeq: Type.Optional(Type.Integer()), problem: Type.Optional(Type.String()) }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        await authorize(ctx, request, 'audit.read', { kind: 'audit' }, { auditAction: 'audit.verify' });
        return verifyAuditChain(ctx.db, ctx.keys);
      },
    );
  };
