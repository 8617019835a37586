/**
 * The client of the ingestion route (docs/sync.md §3.2): one sealed batch to `POST /api/ingest`
 * with a DPoP-bound token, and what the answer means for that batch (`UploadOutcome`).
 *
 * Within one upload it answers the server's challenges at once — a DPoP nonce, a refused proof
 * (stale from the device's wrong clock, or replayed by a middlebox that delivered the request
 * twice), a token another batch already replaced, one refresh — and
 * acknowledges the batch in the outbox only on a 200 naming the same batch id. Everything else
 * is an outcome for the uploader to schedule (`uploader.ts`).
 *
 * Each request, body included, has an adaptive timeout: it doubles after a timeout (up to a
 * maximum) and halves back once answers are fast, so a server slower than the timeout is not
 * retried in vain forever.
 */
import type { Scheduler } from '../vault/pipeline.js';
import { parseRetryAfter } from './backoff.js';
import { AuthUnavailableError, SignedOutError } from './errors.js';
import { classifyStatus, clockOffsetFromDate, serverMessage } from './sync-problem.js';
import type { OutboxBatch, OutboxPort, TokenPort, Transport, UploadOutcome } from './upload-ports.js';

export interface IngestClientOptions {
  /** Absolute URL of the ingestion route. */
  readonly endpoint: string;
  readonly transport: Transport;
  readonly outbox: OutboxPort;
  readonly tokens: TokenPort;
  readonly scheduler: Scheduler;
  readonly requestTimeoutMs: number;
  readonly maxRequestTimeoutMs: number;
  /** Server minus device clock, from each answer's `Date`. */
  readonly onClockOffset?: (offsetMs: number) => void;
}

/** Requests for one batch before it waits for the backoff (401 → new token, nonce, clock). */
const MAX_ATTEMPTS = 4;

/** An attempt ran out of time (`limitMs`). */
class RequestTimeout extends Error {
  override readonly name = 'RequestTimeout';
  constructor(readonly limitMs: number) {
    super('request timed out');
  }
}

export class IngestClient {
  /** The request timeout in force. */
  private currentTimeoutMs: number;

  constructor(private readonly options: IngestClientOptions) {
    this.currentTimeoutMs = options.requestTimeoutMs;
  }

  /** Uploads one batch and acknowledges it in the outbox on a matching 200. */
  async upload(batch: OutboxBatch, stopped: AbortSignal): Promise<UploadOutcome> {
    const { tokens, endpoint } = this.options;
    let refreshed = false;
    let nonceRetried = false;
    let proofRetried = false;
    for (let attempts = 1; ; attempts++) {
      if (stopped.aborted) return { kind: 'aborted' };
      if (attempts > MAX_ATTEMPTS) return { kind: 'retry', problem: 'server-error' };
      let token: string;
      let proof: string;
      try {
        token = await tokens.accessToken();
        proof = await tokens.dpopProof('POST', endpoint, token);
      } catch (error) {
        return tokenFailure(error);
      }
      let answer: { status: number; headers: { get(name: string): string | null }; body: unknown };
      try {
        answer = await this.send(batch, token, proof, stopped);
      } catch (error) {
        if (stopped.aborted) return { kind: 'aborted' };
        if (error instanceof RequestTimeout) this.currentTimeoutMs = Math.min(this.options.maxRequestTimeoutMs, Math.max(this.currentTimeoutMs, error.limitMs * 2));
        return { kind: 'retry', problem: 'server-unreachable' };
      }
      this.noteClock(answer.headers.get('date'));
      const verdict = classifyStatus(answer.status, answer.headers.get('www-authenticate'));
      const message = serverMessage(answer.body);
      switch (verdict.kind) {
        case 'accepted': {
          const id = (answer.body as { batchId?: unknown } | undefined)?.batchId;
          // A 200 for another batch (a confused proxy or cache) acknowledges nothing.
          if (typeof id !== 'string' || id !== batch.batchId) return { kind: 'retry', problem: 'server-error' };
          await this.options.outbox.ack([batch.batchId]);
          return { kind: 'acked' };
        }
        case 'unauthorized':
          if (verdict.error === 'use_dpop_nonce' && !nonceRetried) {
            nonceRetried = true; // the nonce was cached by `tokens.observe`
            continue;
          }
          if (verdict.error === 'invalid_dpop_proof' && !proofRetried) {
            // The token is fine; the proof was refused: stale (the device's clock — proofs now
            // carry the server's time) or replayed (a middlebox delivered the request twice).
            // A fresh proof, not a refresh: a needless rotation is one more chance to lose a token.
            proofRetried = true;
            continue;
          }
          try {
            // Another batch may have refreshed meanwhile: then this one just uses the new token.
            if ((await tokens.accessToken()) !== token && attempts < MAX_ATTEMPTS) continue;
            if (!refreshed) {
              refreshed = true;
              await tokens.refresh();
              continue;
            }
          } catch (error) {
            return tokenFailure(error);
          }
          return { kind: 'stop', problem: 'signed-out', status: 401 };
        case 'not-allowed':
          return { kind: 'stop', problem: 'not-allowed', status: 403 };
        case 'rate-limited': {
          const after = parseRetryAfter(answer.headers.get('retry-after'), this.options.scheduler.now());
          return { kind: 'retry', problem: 'rate-limited', status: 429, ...(after !== undefined ? { retryAfterMs: after } : {}) };
        }
        case 'held':
          return { kind: 'held', status: answer.status, ...(message !== undefined ? { serverMessage: message } : {}) };
        case 'rejected':
          return { kind: 'rejected', status: answer.status, ...(message !== undefined ? { serverMessage: message } : {}) };
        case 'server-error': {
          const after = parseRetryAfter(answer.headers.get('retry-after'), this.options.scheduler.now());
          return { kind: 'retry', problem: 'server-error', status: answer.status, ...(after !== undefined ? { retryAfterMs: after } : {}) };
        }
        case 'unreachable':
          return { kind: 'retry', problem: 'server-unreachable', status: answer.status };
      }
    }
  }

  /** One POST, body read included, bounded by the request timeout and by `stop()`. */
  private async send(batch: OutboxBatch, token: string, proof: string, stopped: AbortSignal) {
    const attempt = new AbortController();
    const onStop = () => attempt.abort(stopped.reason);
    stopped.addEventListener('abort', onStop);
    const limitMs = this.currentTimeoutMs;
    const startedAt = this.options.scheduler.now();
    let timedOut = false;
    const cancelTimer = this.options.scheduler.after(limitMs, () => {
      timedOut = true;
      attempt.abort(new RequestTimeout(limitMs));
    });
    try {
      const response = await this.options.transport(this.options.endpoint, {
        method: 'POST',
        headers: { authorization: `DPoP ${token}`, dpop: proof, 'content-type': 'application/octet-stream', accept: 'application/json' },
        body: batch.sealed,
        signal: attempt.signal,
      });
      this.options.tokens.observe?.(this.options.endpoint, response);
      let body: unknown;
      try {
        body = await response.json();
      } catch (error) {
        // An unreadable 200 means the answer was lost on the way (sent again); others need no body.
        if (attempt.signal.aborted || response.status === 200) throw error;
        body = undefined;
      }
      if (attempt.signal.aborted) throw new RequestTimeout(limitMs);
      // A fast answer brings a raised timeout back down, halving at a time.
      if (this.options.scheduler.now() - startedAt < limitMs / 4) this.currentTimeoutMs = Math.max(this.options.requestTimeoutMs, Math.min(this.currentTimeoutMs, limitMs / 2));
      return { status: response.status, headers: response.headers, body };
    } catch (error) {
      throw timedOut ? new RequestTimeout(limitMs) : error;
    } finally {
      cancelTimer();
      stopped.removeEventListener('abort', onStop);
    }
  }

  /** Hands the server's clock (its `Date`) to the tokens and the caller. */
  private noteClock(date: string | null): void {
    const offset = clockOffsetFromDate(date, this.options.scheduler.now());
    if (offset === undefined) return;
    this.options.tokens.setServerTime?.(this.options.scheduler.now() + offset);
    this.options.onClockOffset?.(offset);
  }
}

function tokenFailure(error: unknown): UploadOutcome {
  if (error instanceof SignedOutError) return { kind: 'stop', problem: 'signed-out' };
  if (error instanceof AuthUnavailableError) return { kind: 'retry', problem: 'server-unreachable', ...(error.status !== undefined ? { status: error.status } : {}) };
  return { kind: 'retry', problem: 'server-error' };
}
