/**
 * Schemas shared by every route (issue 5 §1): the one error body, the error statuses each route
 * declares, and the small id formats. Objects are closed (`additionalProperties: false`) so an
 * unknown field is a 400, not silently dropped.
 */
import { Type, type TSchema } from 'typebox';

export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String(),
        message: Type.String(),
        requestId: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** The error statuses every route may answer, each with the one error body. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
  429: ErrorBody,
  500: ErrorBody,
  503: ErrorBody,
} as const;

export const closed = <T extends Record<string, TSchema>>(properties: T) => Type.Object(properties, { additionalProperties: false });

/** Pseudonymous ids chosen by the server: lower-case letters, digits and dashes. */
export const EntityId = Type.String({ pattern: '^[a-z0-9-]{3,64}$', maxLength: 64 });
/** A device id as in its certificate: lower-case hex. */
export const DeviceId = Type.String({ pattern: '^[0-9a-f]{2,64}$', maxLength: 64 });
/** An account subject (OIDC `sub`). */
export const Subject = Type.String({ pattern: '^[A-Za-z0-9._:@-]{1,128}$', maxLength: 128 });
/** HL7 PurposeOfUse sent in the `x-purpose-of-use` header. */
export const PurposeHeader = Type.Object({ 'x-purpose-of-use': Type.Optional(Type.Union([Type.Literal('TREAT'), Type.Literal('ETREAT'), Type.Literal('PATRQT')])) });
