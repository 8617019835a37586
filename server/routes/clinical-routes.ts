/**
 * Clinical reads (issue 5 §4, §5): a patient's summary and observations. Each request is decided
 * by the policy with the caller's purpose of use (`x-purpose-of-use`), audited, and answered with
 * values decrypted from their per-patient key.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { listDevices } from '../store/care-structure.js';
import { searchObservations } from '../store/observations.js';
import { readingView } from '../store/reading-view.js';
import { authorize } from './access.js';
import { closed, DeviceId, EntityId, errorResponses, PurposeHeader } from './http-schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Reading = closed({
  deviceId: Type.String(),
  seq: Type.Integer(),
  time: Type.String(),
  code: Type.Integer(),
  name: Type.String(),
  unit: Type.String(),
  flags: Type.Integer(),
  provenance: Type.String(),
  value: Nullable(Type.String()),
  components: Nullable(Type.Array(closed({ code: Type.Integer(), name: Type.String(), value: Type.String() }))),
  waveform: Nullable(closed({ intervalUs: Type.Integer(), scale: Type.String(), samples: Type.Array(Type.Integer()) })),
});
export const MAX_PAGE = 1000;

export const clinicalRoutes =
  (ctx: ServerContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/patients/:patientId',
      {
        schema: {
          params: closed({ patientId: EntityId }),
          headers: PurposeHeader,
          response: {
            200: closed({ id: Type.String(), wardId: Nullable(Type.String()), devices: Type.Array(closed({ id: DeviceId, model: Type.String(), manufacturer: Type.String() })) }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { patientId } = request.params;
        await authorize(ctx, request, 'clinical.read', { kind: 'patient', patientId }, { auditAction: 'patient.read' });
        const ward = (await ctx.db.query<{ ward_id: string }>('SELECT ward_id FROM ward_admissions WHERE patient_id = $1', [patientId])).rows[0];
        const devices = (await listDevices(ctx.db, patientId)).map((d) => ({ id: d.id, model: d.model, manufacturer: d.manufacturer }));
        return { id: patientId, wardId: ward?.ward_id ?? null, devices };
      },
    );

    app.get(
      '/patients/:patientId/observations',
      {
        schema: {
          params: closed({ patientId: EntityId }),
          headers: PurposeHeader,
          querystring: closed({
            code: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
            offset: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
            limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 100 }),
          }),
          response: { 200: closed({ total: Type.Integer(), offset: Type.Integer(), observations: Type.Array(Reading) }), ...errorResponses },
        },
      },
      async (request) => {
        const { patientId } = request.params;
        const q = request.query;
        const from = q.from === undefined ? undefined : new Date(q.from);
        const to = q.to === undefined ? undefined : new Date(q.to);
        if (from !== undefined && to !== undefined && from > to) throw new ApiError('bad-request', '`from` must not be after `to`.');
        await authorize(ctx, request, 'clinical.read', { kind: 'patient', patientId }, { auditAction: 'observation.read' });
        const page = await searchObservations(ctx.db, ctx.keyring, {
          patientId,
          ...(q.code !== undefined ? { codes: [q.code] } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          offset: q.offset,
          limit: q.limit,
        });
        return { total: page.total, offset: q.offset, observations: page.observations.map(readingView) };
      },
    );
  };
