/**
 * Admin routes for the care structure (issue 5 §4): patients (pseudonymous), wards, admissions,
 * staff ward assignments with shift hours, care relationships, devices ↔ patients. Only an admin
 * may call them (`care-structure.manage`); none returns clinical data.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import * as store from '../store/care-structure.js';
import { authorize } from './access.js';
import { closed, DeviceId, EntityId, errorResponses, Subject } from './http-schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Patient = closed({ id: EntityId, accountSubject: Nullable(Type.String()), wardId: Nullable(Type.String()) });
const Ward = closed({ id: EntityId, name: Type.String() });
const Device = closed({ id: DeviceId, model: Type.String(), serial: Type.String(), manufacturer: Type.String(), patientId: Nullable(Type.String()) });
const Done = closed({ ok: Type.Literal(true) });
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max, pattern: '^[^\\u0000-\\u001f]*$' });
const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$' });

export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const careStructureRoutes =
  (ctx: ServerContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const admin = (request: Parameters<typeof authorize>[1], auditAction: string, auditResource: string) =>
      authorize(ctx, request, 'care-structure.manage', { kind: 'care-structure' }, { auditAction, auditResource });

    app.get('/admin/patients', { schema: { response: { 200: closed({ patients: Type.Array(Patient) }), ...errorResponses } } }, async (request) => {
      await admin(request, 'patient.list', 'patients');
      return { patients: await store.listPatients(ctx.db) };
    });

    app.post(
      '/admin/patients',
      { schema: { body: closed({ accountSubject: Type.Optional(Subject) }), response: { 201: Patient, ...errorResponses } } },
      async (request, reply) => {
        await admin(request, 'patient.create', 'patients');
        return reply.status(201).send(await store.createPatient(ctx.db, request.body.accountSubject ?? null));
      },
    );

    app.get('/admin/wards', { schema: { response: { 200: closed({ wards: Type.Array(Ward) }), ...errorResponses } } }, async (request) => {
      await admin(request, 'ward.list', 'wards');
      return { wards: await store.listWards(ctx.db) };
    });

    app.post('/admin/wards', { schema: { body: closed({ name: Text(120) }), response: { 201: Ward, ...errorResponses } } }, async (request, reply) => {
      await admin(request, 'ward.create', 'wards');
      return reply.status(201).send(await store.createWard(ctx.db, request.body.name.trim()));
    });

    app.put(
      '/admin/patients/:patientId/ward',
      { schema: { params: closed({ patientId: EntityId }), body: closed({ wardId: EntityId }), response: { 200: Done, ...errorResponses } } },
      async (request) => {
        await admin(request, 'patient.admit', `patient/${request.params.patientId}`);
        await store.admitPatient(ctx.db, request.params.patientId, request.body.wardId);
        return { ok: true as const };
      },
    );

    app.delete('/admin/patients/:patientId/ward', { schema: { params: closed({ patientId: EntityId }), response: { 200: Done, ...errorResponses } } }, async (request) => {
      await admin(request, 'patient.discharge', `patient/${request.params.patientId}`);
      if (!(await store.dischargePatient(ctx.db, request.params.patientId))) throw new ApiError('not-found', 'That patient is not on a ward.');
      return { ok: true as const };
    });

    app.put(
      '/admin/wards/:wardId/staff/:subject',
      {
        schema: {
          params: closed({ wardId: EntityId, subject: Subject }),
          body: closed({ shiftStart: ClockTime, shiftEnd: ClockTime, timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_+/-]+$' })) }),
          response: { 200: Done, ...errorResponses },
        },
      },
      async (request) => {
        await admin(request, 'assignment.ward', `ward/${request.params.wardId}`);
        const timeZone = request.body.timeZone ?? 'UTC';
        if (!validTimeZone(timeZone)) throw new ApiError('bad-request', 'Unknown time zone: use an IANA name such as Europe/Paris.');
        const startMinute = minutesOf(request.body.shiftStart);
        if (startMinute === 1440) throw new ApiError('bad-request', 'A shift starts between 00:00 and 23:59.');
        await store.assignToWard(ctx.db, request.params.subject, request.params.wardId, { startMinute, endMinute: minutesOf(request.body.shiftEnd), timeZone });
        return { ok: true as const };
      },
    );

    app.delete('/admin/wards/:wardId/staff/:subject', { schema: { params: closed({ wardId: EntityId, subject: Subject }), response: { 200: Done, ...errorResponses } } }, async (request) => {
      await admin(request, 'assignment.ward-remove', `ward/${request.params.wardId}`);
      if (!(await store.unassignFromWard(ctx.db, request.params.subject, request.params.wardId))) throw new ApiError('not-found', 'No such assignment.');
      return { ok: true as const };
    });

    app.put(
      '/admin/patients/:patientId/care-team/:subject',
      { schema: { params: closed({ patientId: EntityId, subject: Subject }), response: { 200: Done, ...errorResponses } } },
      async (request) => {
        await admin(request, 'assignment.care', `patient/${request.params.patientId}`);
        await store.addCareRelationship(ctx.db, request.params.subject, request.params.patientId);
        return { ok: true as const };
      },
    );

    app.delete(
      '/admin/patients/:patientId/care-team/:subject',
      { schema: { params: closed({ patientId: EntityId, subject: Subject }), response: { 200: Done, ...errorResponses } } },
      async (request) => {
        await admin(request, 'assignment.care-remove', `patient/${request.params.patientId}`);
        if (!(await store.removeCareRelationship(ctx.db, request.params.subject, request.params.patientId))) throw new ApiError('not-found', 'No such care relationship.');
        return { ok: true as const };
      },
    );

    app.get('/admin/devices', { schema: { response: { 200: closed({ devices: Type.Array(Device) }), ...errorResponses } } }, async (request) => {
      await admin(request, 'device.list', 'devices');
      return { devices: await store.listDevices(ctx.db) };
    });

    app.post(
      '/admin/devices',
      { schema: { body: closed({ id: DeviceId, model: Text(120), serial: Text(120), manufacturer: Text(120) }), response: { 201: Device, ...errorResponses } } },
      async (request, reply) => {
        await admin(request, 'device.register', `device/${request.body.id}`);
        return reply.status(201).send(await store.registerDevice(ctx.db, request.body));
      },
    );

    app.put(
      '/admin/devices/:deviceId/patient',
      { schema: { params: closed({ deviceId: DeviceId }), body: closed({ patientId: Nullable(EntityId) }), response: { 200: Device, ...errorResponses } } },
      async (request) => {
        await admin(request, 'device.link', `device/${request.params.deviceId}`);
        const device = await store.linkDevice(ctx.db, request.params.deviceId, request.body.patientId);
        if (device === undefined) throw new ApiError('not-found', 'No device with that id.');
        return device;
      },
    );
  };
