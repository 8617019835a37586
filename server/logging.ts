/**
 * Structured logs (issue 5 §1): pino, one JSON line per event. What a request line carries is
 * chosen here, not left to defaults: method, path without its query, status, timing and the
 * request id. Headers that carry credentials (authorization, cookie, DPoP, set-cookie) are
 * redacted wherever they appear; bodies are never logged, so no password, token or clinical value
 * reaches the log.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.dpop',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers.dpop',
  '*.password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code',
];

interface LoggedRequest {
  id?: string;
  method?: string;
  url?: string;
  ip?: string;
}

export function requestSerializer(req: LoggedRequest): Record<string, unknown> {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return { id: req.id, method: req.method, path: q === -1 ? url : url.slice(0, q), address: req.ip };
}

export function createLogger(options: { level?: string; stream?: DestinationStream } = {}): Logger {
  const config = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      req: requestSerializer,
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
  return options.stream !== undefined ? pino(config, options.stream) : pino(config);
}
