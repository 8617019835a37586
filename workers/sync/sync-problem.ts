/**
 * What went wrong with sync, in the user's words (docs/sync.md §4), and how an HTTP answer of
 * `POST /api/ingest` is classified (§3.2).
 *
 * Every problem says what happened and what to do; none blames the user, none shows a status code
 * as the only explanation, and every one of them says the readings are kept — sync never drops a
 * batch to make a problem go away.
 */

export type SyncProblemKind =
  /** 401 after a refresh attempt, or the refresh token refused: sync stops until sign-in. */
  | 'signed-out'
  /** 403: this account may not deliver readings: sync stops until another account signs in. */
  | 'not-allowed'
  /** Network error or timeout: retried with backoff. */
  | 'server-unreachable'
  /** 5xx (or an unexpected answer): retried with backoff. */
  | 'server-error'
  /** 429: retried after `Retry-After`. */
  | 'rate-limited'
  /** The server's clock and the device's disagree: uploads go on, the user is told. */
  | 'clock-wrong'
  /** 409: the server cannot take a batch yet (unknown key, sensor not assigned): retried slowly. */
  | 'batch-held'
  /** 400/413/415/422: the server refused a batch; it stays in the outbox, set aside. */
  | 'rejected-batch';

export interface SyncProblem {
  readonly kind: SyncProblemKind;
  /** What happened, in plain words. */
  readonly message: string;
  /** What to do. */
  readonly action: string;
  /** When the problem was first seen (device clock, ms). */
  readonly sinceMs: number;
  /** The HTTP status behind it, when there is one (for support, not as the explanation). */
  readonly status?: number;
  /** Does sync stop until the user acts (true), or retry by itself (false)? */
  readonly blocking: boolean;
}

export interface ProblemDetails {
  readonly status?: number;
  /** The server's own plain-language message (its JSON `error.message`), if any. */
  readonly serverMessage?: string;
  /** For `clock-wrong`: server minus device, in ms. */
  readonly clockOffsetMs?: number;
  /** For `rejected-batch` / `batch-held`: how many batches are set aside. */
  readonly batches?: number;
}

const KEPT = 'Readings are kept on this device until they are sent.';

/** The words for a problem. */
export function describeProblem(kind: SyncProblemKind, sinceMs: number, details: ProblemDetails = {}): SyncProblem {
  const status = details.status !== undefined ? { status: details.status } : {};
  const server = details.serverMessage !== undefined ? ` The server says: “${details.serverMessage}”` : '';
  const batches = details.batches ?? 1;
  const text = ((): { message: string; action: string; blocking: boolean } => {
    switch (kind) {
      case 'signed-out':
        return { message: 'You are signed out of the hospital server, so readings are not being sent.', action: `Sign in again. ${KEPT}`, blocking: true };
      case 'not-allowed':
        return {
          message: 'This account may not send readings to the hospital server.',
          action: `Sign in with a patient’s, nurse’s or clinician’s account. ${KEPT}`,
          blocking: true,
        };
      case 'server-unreachable':
        return { message: 'Cannot reach the hospital server.', action: `Check the internet connection. Vitalock keeps trying by itself. ${KEPT}`, blocking: false };
      case 'server-error':
        return {
          message: `The hospital server has a problem${details.status !== undefined ? ` (error ${details.status})` : ''}.`,
          action: `Nothing to do now: Vitalock tries again by itself. If this lasts, tell your IT support. ${KEPT}`,
          blocking: false,
        };
      case 'rate-limited':
        return { message: 'The hospital server asked Vitalock to slow down.', action: `Nothing to do: sending resumes by itself. ${KEPT}`, blocking: false };
      case 'clock-wrong':
        return {
          message: `This device’s clock is off by about ${formatOffset(details.clockOffsetMs ?? 0)} compared with the hospital server.`,
          action: 'Check the device’s clock: set the date, time and time zone automatically. Readings are timed by this clock.',
          blocking: false,
        };
      case 'batch-held':
        return {
          message: `The hospital server cannot take ${batches === 1 ? 'a batch' : `${batches} batches`} of readings yet.${server}`,
          action: `Ask your administrator to check this sensor’s assignment. Vitalock tries again by itself. ${KEPT}`,
          blocking: false,
        };
      case 'rejected-batch':
        return {
          message: `The hospital server refused ${batches === 1 ? 'a batch' : `${batches} batches`} of readings.${server}`,
          action: 'They are kept on this device and set aside. Tell your IT support; the rest keeps syncing.',
          blocking: false,
        };
    }
  })();
  return { kind, sinceMs, ...status, ...text };
}

function formatOffset(ms: number): string {
  const s = Math.abs(ms) / 1000;
  if (s < 90) return `${Math.round(s)} seconds`;
  if (s < 90 * 60) return `${Math.round(s / 60)} minutes`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} hours`;
  return `${Math.round(s / 86_400)} days`;
}

/** How the uploader treats an answer to one batch. */
export type ResponseClass =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'unauthorized'; readonly error: string | undefined }
  | { readonly kind: 'not-allowed' }
  | { readonly kind: 'rate-limited' }
  | { readonly kind: 'held' }
  | { readonly kind: 'rejected' }
  | { readonly kind: 'server-error' }
  | { readonly kind: 'unreachable' };

/** Statuses that condemn the batch itself, not the moment or the account. */
const BATCH_REJECTIONS = new Set([400, 413, 415, 422]);

/** Classifies a status (the 200 body is checked separately: its batch id must match). */
export function classifyStatus(status: number, wwwAuthenticate: string | null): ResponseClass {
  if (status === 200) return { kind: 'accepted' };
  if (status === 401) return { kind: 'unauthorized', error: dpopError(wwwAuthenticate) };
  if (status === 403) return { kind: 'not-allowed' };
  if (status === 408) return { kind: 'unreachable' };
  if (status === 409) return { kind: 'held' };
  if (status === 429) return { kind: 'rate-limited' };
  if (BATCH_REJECTIONS.has(status)) return { kind: 'rejected' };
  // 5xx, and 4xx that say nothing about this batch (404 of a misrouted proxy, 405 …): retry.
  return { kind: 'server-error' };
}

/** The `error` parameter of a `DPoP` (or `Bearer`) challenge in `WWW-Authenticate` (RFC 6750 §3). */
export function dpopError(header: string | null): string | undefined {
  if (header === null || header.length > 2048) return undefined;
  const m = /(?:^|[\s,])error="?([A-Za-z0-9_]+)"?/.exec(header);
  return m?.[1];
}

/** Server minus device clock from an HTTP `Date` header (1 s resolution), undefined if absent. */
export function clockOffsetFromDate(dateHeader: string | null, deviceNowMs: number): number | undefined {
  if (dateHeader === null || dateHeader.length > 64) return undefined;
  const at = Date.parse(dateHeader);
  return Number.isNaN(at) ? undefined : at - deviceNowMs;
}

/** The server's plain message from its error body `{error: {message}}`, bounded and single-line. */
export function serverMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const message = (error as { message?: unknown }).message;
  if (typeof message !== 'string') return undefined;
  const clean = [...message].map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? ' ' : c)).join('').replace(/ +/g, ' ').trim();
  return clean === '' ? undefined : clean.slice(0, 200);
}
