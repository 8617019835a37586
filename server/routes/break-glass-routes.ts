/**
 * Break-glass (issue 5 §4): a clinician opens a patient's record outside the usual rules by
 * writing a reason. The grant lasts `BREAK_GLASS_MINUTES`; it is allowed, flagged, audited and
 * alerted (a warning log line for the privacy office's log pipeline), and every grant is listed
 * in the report an auditor reads, with how many reads it was used for.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { MIN_BREAK_GLASS_REASON } from '../policy/decide.js';
import { authorize } from './access.js';
import { closed, EntityId, errorResponses } from './http-schemas.js';

export const BREAK_GLASS_MINUTES = 60;

const Grant = closed({ id: Type.String(), subject: Type.String(), patientId: Type.String(), reason: Type.String(), openedAt: Type.String(), expiresAt: Type.String(), reads: Type.Integer() });

export const breakGlassRoutes =
  (ctx: ServerContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/break-glass',
      {
        schema: {
          body: closed({ patientId: EntityId, reason: Type.String({ minLength: MIN_BREAK_GLASS_REASON, maxLength: 2000 }) }),
          response: { 201: closed({ id: Type.String(), patientId: Type.String(), expiresAt: Type.String() }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { patientId, reason } = request.body;
        const { principal } = await authorize(ctx, request, 'break-glass.open', { kind: 'patient', patientId }, { breakGlassReason: reason });
        const openedAt = ctx.now();
        const expiresAt = new Date(openedAt.getTime() + BREAK_GLASS_MINUTES * 60_000);
        const id = randomUUID();
        await ctx.db.transaction(async (tx) => {
          await tx.query('INSERT INTO break_glass_grants (id, subject, patient_id, reason, opened_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
            id,
            principal.subject,
            patientId,
            reason.trim(),
            openedAt,
            expiresAt,
          ]);
          await ctx.audit.appendIn(tx, {
            actor: principal.subject,
            action: 'break-glass.grant',
            resource: `patient/${patientId}`,
            decision: 'allow',
            reason: reason.trim(),
            detail: { requestId: request.id, grant: id, breakGlass: true, minutes: BREAK_GLASS_MINUTES },
          });
        });
        return reply.status(201).send({ id, patientId, expiresAt: expiresAt.toISOString() });
      },
    );

    app.get(
      '/break-glass',
      {
        schema: {
          querystring: closed({ since: Type.Optional(Type.String({ format: 'date-time' })), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
          response: { 200: closed({ grants: Type.Array(Grant) }), ...errorResponses },
        },
      },
      async (request) => {
        await authorize(ctx, request, 'break-glass.report', { kind: 'audit' }, { auditResource: 'break-glass' });
        const since = request.query.since === undefined ? new Date(0) : new Date(request.query.since);
        const rows = await ctx.db.query<{ id: string; subject: string; patient_id: string; reason: string; opened_at: Date; expires_at: Date; reads: string }>(
          `SELECT g.id, g.subject, g.patient_id, g.reason, g.opened_at, g.expires_at,
                  (SELECT count(*) FROM audit_log a
                    WHERE a.actor = g.subject AND a.resource = 'patient/' || g.patient_id AND a.decision = 'allow'
                      AND a.action NOT LIKE 'break-glass.%' AND a.detail LIKE '%"grant":"' || g.id || '"%')::text AS reads
             FROM break_glass_grants g WHERE g.opened_at >= $1 ORDER BY g.opened_at DESC LIMIT $2`,
          [since, request.query.limit],
        );
        return {
          grants: rows.rows.map((g) => ({
            id: g.id,
            subject: g.subject,
            patientId: g.patient_id,
            reason: g.reason,
            openedAt: new Date(g.opened_at).toISOString(),
            expiresAt: new Date(g.expires_at).toISOString(),
            reads: Number(g.reads),
          })),
        };
      },
    );
  };
