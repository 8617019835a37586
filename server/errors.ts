/**
 * Typed errors of the cloud endpoint (issue 5 §1): what a route may throw on purpose. The one
 * error handler (`app.ts`) turns an `ApiError` into its status and a plain message; anything else
 * becomes a 500 with a generic message and the request id, its details only in the log.
 */

export type ApiErrorCode =
  | 'bad-request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'rate-limited'
  | 'unavailable';

const STATUS: Readonly<Record<ApiErrorCode, number>> = {
  'bad-request': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'rate-limited': 429,
  unavailable: 503,
};

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.statusCode = STATUS[code];
  }
}

/** The code an HTTP 4xx status maps to, for errors raised by Fastify itself. */
export function codeForStatus(status: number): ApiErrorCode {
  const found = (Object.entries(STATUS) as [ApiErrorCode, number][]).find(([, s]) => s === status);
  return found?.[0] ?? 'bad-request';
}

/** A stored secret (a wrapped key, a sealed value, the audit head) failed authentication. */
export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
}

/** Configuration missing or malformed at start-up; the message says what to set. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
