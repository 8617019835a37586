/**
 * FHIR R4 read and search (issue 5 §8): `GET /fhir/Observation?patient=&code=&date=&_count=`
 * answers a searchset Bundle with `self`/`next`/`previous` links (and the Provenance of each
 * Observation with `_revinclude=Provenance:target`); `GET /fhir/Patient/:id` and
 * `GET /fhir/Device/:id` read one resource. Same policy and audit as the API; errors are
 * OperationOutcomes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { authorize } from '../routes/access.js';
import { DeviceId, EntityId, PurposeHeader } from '../routes/http-schemas.js';
import { findDevice } from '../store/care-structure.js';
import { searchObservations } from '../store/observations.js';
import { codesForToken, operationOutcome, toDevice, toPatient, toProvenance, toServerObservation } from './resources.js';
import { intersectDates, parseCodeTokens, parsePatientReference, SearchParamError } from './search-params.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const Resource = Type.Unsafe<Record<string, unknown>>({ type: 'object', properties: { resourceType: { type: 'string' } }, required: ['resourceType'], additionalProperties: true });
const Outcome = Type.Unsafe<Record<string, unknown>>({ type: 'object', properties: { resourceType: { const: 'OperationOutcome' } }, required: ['resourceType'], additionalProperties: true });
const outcomes = { 400: Outcome, 401: Outcome, 403: Outcome, 404: Outcome, 413: Outcome, 415: Outcome, 429: Outcome, 500: Outcome, 503: Outcome } as const;
const ISSUE_CODE: Readonly<Record<number, string>> = { 400: 'invalid', 401: 'login', 403: 'forbidden', 404: 'not-found', 413: 'too-costly', 415: 'not-supported', 429: 'throttled' };

export const MAX_COUNT = 1000;

const baseUrl = (request: FastifyRequest): string => `${request.protocol}://${request.host}/fhir`;

export const fhirRoutes =
  (ctx: ServerContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      let status = error instanceof ApiError ? error.statusCode : error.validation !== undefined || error instanceof SearchParamError ? 400 : (error.statusCode ?? 500);
      if (status < 400) status = 500;
      if (status >= 500) {
        request.log.error({ err: error }, 'FHIR request failed');
        return reply.status(500).type(FHIR_JSON).send(operationOutcome('error', 'exception', `Something went wrong on the server. Request id: ${request.id}.`));
      }
      return reply.status(status).type(FHIR_JSON).send(operationOutcome('error', ISSUE_CODE[status] ?? 'invalid', error.message));
    });

    app.get(
      '/Observation',
      {
        schema: {
          headers: PurposeHeader,
          querystring: Type.Object(
            {
              patient: Type.String({ minLength: 1, maxLength: 80 }),
              code: Type.Optional(Type.String({ minLength: 1, maxLength: 600 })),
              date: Type.Optional(Type.Array(Type.String({ minLength: 4, maxLength: 40 }), { maxItems: 2 })),
              _count: Type.Integer({ minimum: 0, maximum: MAX_COUNT, default: 50 }),
              _offset: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
              _revinclude: Type.Optional(Type.Literal('Provenance:target')),
            },
            { additionalProperties: false },
          ),
          response: { 200: Resource, ...outcomes },
        },
      },
      async (request, reply) => {
        const q = request.query;
        const patientId = parsePatientReference(q.patient);
        const tokens = q.code === undefined ? undefined : parseCodeTokens(q.code);
        const range = intersectDates(q.date ?? []);
        await authorize(ctx, request, 'clinical.read', { kind: 'patient', patientId }, { auditAction: 'fhir.observation.search' });
        const codes = tokens?.flatMap((t) => codesForToken(t.system, t.code));
        const noMatch = codes !== undefined && codes.length === 0;
        const page = noMatch
          ? { total: 0, observations: [] }
          : await searchObservations(ctx.db, ctx.keyring, {
              patientId,
              ...(codes !== undefined ? { codes } : {}),
              ...range,
              offset: q._offset,
              limit: q._count,
            });
        const base = baseUrl(request);
        const link = (offset: number): string => {
          const params = new URLSearchParams({ patient: q.patient });
          if (q.code !== undefined) params.set('code', q.code);
          for (const d of q.date ?? []) params.append('date', d);
          params.set('_count', String(q._count));
          params.set('_offset', String(offset));
          if (q._revinclude !== undefined) params.set('_revinclude', q._revinclude);
          return `${base}/Observation?${params.toString()}`;
        };
        const links = [{ relation: 'self', url: link(q._offset) }];
        if (q._count > 0 && q._offset + q._count < page.total) links.push({ relation: 'next', url: link(q._offset + q._count) });
        if (q._offset > 0 && q._count > 0) links.push({ relation: 'previous', url: link(Math.max(0, q._offset - q._count)) });
        const entry = page.observations.map((o) => {
          const resource = toServerObservation(o);
          return { fullUrl: `${base}/Observation/${resource.id}`, resource, search: { mode: 'match' } };
        });
        const included =
          q._revinclude === undefined
            ? []
            : page.observations.map((o) => {
                const resource = toProvenance(o);
                return { fullUrl: `${base}/Provenance/${resource.id}`, resource, search: { mode: 'include' } };
              });
        return reply.type(FHIR_JSON).send({ resourceType: 'Bundle', type: 'searchset', total: page.total, link: links, entry: [...entry, ...included] });
      },
    );

    app.get(
      '/Patient/:id',
      { schema: { params: Type.Object({ id: EntityId }, { additionalProperties: false }), headers: PurposeHeader, response: { 200: Resource, ...outcomes } } },
      async (request, reply) => {
        await authorize(ctx, request, 'clinical.read', { kind: 'patient', patientId: request.params.id }, { auditAction: 'fhir.patient.read' });
        return reply.type(FHIR_JSON).send(toPatient(request.params.id, true));
      },
    );

    app.get(
      '/Device/:id',
      { schema: { params: Type.Object({ id: DeviceId }, { additionalProperties: false }), headers: PurposeHeader, response: { 200: Resource, ...outcomes } } },
      async (request, reply) => {
        if ((await ctx.authenticate(request)) === undefined) await authorize(ctx, request, 'care-structure.manage', { kind: 'care-structure' }, { auditAction: 'fhir.device.read' });
        const device = await findDevice(ctx.db, request.params.id);
        if (device === undefined) throw new ApiError('not-found', 'No device with that id.');
        if (device.patientId !== null) {
          await authorize(ctx, request, 'clinical.read', { kind: 'patient', patientId: device.patientId }, { auditAction: 'fhir.device.read' });
        } else {
          await authorize(ctx, request, 'care-structure.manage', { kind: 'care-structure' }, { auditAction: 'fhir.device.read', auditResource: `device/${device.id}` });
        }
        return reply.type(FHIR_JSON).send(toDevice(device));
      },
    );
  };
