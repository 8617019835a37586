/**
 * The ports the uploader runs on (docs/sync.md §3.1): the outbox, the tokens and the transport.
 * The vault worker plugs in the sealed outbox (`workers/vault/outbox.ts`), the OAuth client
 * (`auth.ts`) and `fetch`; the unit tests plug in a simulated server.
 */
import type { SyncProblemKind } from './sync-problem.js';

/** A sealed batch as the outbox hands it out (it stays there until `ack`). */
export interface OutboxBatch {
  /** Hex of the 16-byte batch id; the server acknowledges by it. */
  readonly batchId: string;
  /** The bytes to POST, as sealed (protocol §11). */
  readonly sealed: Uint8Array;
}

export interface OutboxPort {
  /** Up to `limit` batches, oldest first, without removing them. */
  take(limit: number): Promise<readonly OutboxBatch[]>;
  /** Removes batches the server acknowledged durably; unknown ids are ignored. */
  ack(batchIds: readonly string[]): Promise<void>;
  stats(): Promise<{ readonly pending: number }>;
}

/** What the uploader needs of the OAuth client (`auth.ts`). */
export interface TokenPort {
  /** A valid access token, refreshed first when close to expiry. Throws `SignedOutError`. */
  accessToken(): Promise<string>;
  /** A DPoP proof (RFC 9449 §4) for this request, bound to `accessToken`. */
  dpopProof(method: string, url: string, accessToken: string): Promise<string>;
  /** Refreshes now (after a 401). Throws `SignedOutError` when refused, `AuthUnavailableError` when unreachable. */
  refresh(): Promise<void>;
  /** Every answer of the API, for its `DPoP-Nonce` (RFC 9449 §9). */
  observe?(url: string, response: TransportResponse): void;
  /**
   * The server's time (its `Date` header, ms), so proofs carry the server's time in `iat` when the
   * clock the proofs are made with is off (RFC 9449 §11.1 freshness).
   */
  setServerTime?(serverMs: number): void;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

export interface TransportRequest {
  readonly method: 'POST';
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
  readonly signal: AbortSignal;
}

/** `fetch`, narrowed to what the uploader uses. */
export type Transport = (url: string, init: TransportRequest) => Promise<TransportResponse>;

/** How one batch's upload ended. */
export type UploadOutcome =
  | { readonly kind: 'acked' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'retry'; readonly problem: SyncProblemKind; readonly status?: number; readonly retryAfterMs?: number }
  | { readonly kind: 'held'; readonly status: number; readonly serverMessage?: string }
  | { readonly kind: 'rejected'; readonly status: number; readonly serverMessage?: string }
  | { readonly kind: 'stop'; readonly problem: 'signed-out' | 'not-allowed'; readonly status?: number };
