/**
 * The uploader (docs/sync.md §3; issue 6 §2): drains the sealed outbox to `POST /api/ingest`.
 *
 * Pure logic over injected ports — the transport (a `fetch`), the clock and timers, randomness,
 * the outbox and the tokens — so the same code runs in the vault worker and, with a simulated
 * clock and a scripted transport, in the unit tests.
 *
 * Rules it keeps:
 * - **Oldest first, bounded.** At most `maxInFlight` batches are on the wire; new ones are taken
 *   from the head of the outbox, skipping those in flight, set aside or held.
 * - **Idempotent.** Batch ids are stable and the server deduplicates, so any batch may be sent
 *   again at any time; a batch leaves the outbox only on a 200 whose body names the same batch id.
 * - **State is only the outbox.** Nothing here must survive an interruption: after a crash, a
 *   reload or `stop()`, `start()` resumes from what the outbox holds.
 * - **Nothing is dropped.** A refused batch (400/413/415/422) is set aside in memory and reported
 *   (it is retried after a restart); a 409 is retried slowly; everything else is retried with
 *   exponential backoff and full jitter, reset by a success.
 * - **Sign-in problems stop sync** (401 after one refresh, refresh refused, 403) and keep the outbox.
 */
import type { Scheduler } from '../vault/pipeline.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { IngestClient } from './ingest-client.js';
import { describeProblem, type SyncProblem, type SyncProblemKind } from './sync-problem.js';
import { SyncProblems } from './sync-problems.js';
import type { OutboxBatch, OutboxPort, TokenPort, Transport, UploadOutcome } from './upload-ports.js';

export type { OutboxBatch, OutboxPort, TokenPort, Transport, TransportResponse, UploadOutcome } from './upload-ports.js';

export interface UploaderOptions {
  /** Absolute URL of the ingestion route (`…/api/ingest`). */
  readonly endpoint: string;
  readonly transport: Transport;
  readonly outbox: OutboxPort;
  readonly tokens: TokenPort;
  readonly scheduler: Scheduler;
  /** Uniform in [0, 1): the jitter. */
  readonly random: () => number;
  /** Batches on the wire at once (default 4). */
  readonly maxInFlight?: number;
  /**
   * One request, body included, is abandoned after this long (default 30 s). The timeout doubles
   * after each timeout, up to `maxRequestTimeoutMs` (default 8×), and comes back down once answers
   * are fast again: a server slower than the timeout must not be retried forever in vain.
   */
  readonly requestTimeoutMs?: number;
  readonly maxRequestTimeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Retry policy of a batch the server holds (409; default 30 s doubling to 30 min). */
  readonly heldBackoff?: BackoffPolicy;
  /** With nothing to send, look at the outbox again after this long (default 15 s). */
  readonly idlePollMs?: number;
  /** Above this clock offset the user is told to check the clock (default 2 min). */
  readonly clockWarningMs?: number;
  /** Batches set aside (refused or held) before sync pauses as a whole (default 64). */
  readonly maxSetAside?: number;
  readonly onState?: (state: SyncState) => void;
}

export type SyncStatus = 'stopped' | 'idle' | 'uploading' | 'waiting' | 'blocked';

/** What the page shows (no token, no batch content). */
export interface SyncState {
  readonly status: SyncStatus;
  /** Batches in the outbox (including those in flight and set aside). */
  readonly pending: number;
  readonly inFlight: number;
  /** Refused by the server and kept (rejected-batch). */
  readonly setAside: number;
  /** The server cannot take them yet (409), retried slowly. */
  readonly held: number;
  readonly uploaded: number;
  readonly lastSuccessAtMs?: number;
  /** When the next attempt starts, while waiting after a failure. */
  readonly nextAttemptAtMs?: number;
  /** The most pressing problem, and all of them. */
  readonly problem?: SyncProblem;
  readonly problems: readonly SyncProblem[];
}

interface Flight {
  readonly controller: AbortController;
  readonly epoch: number;
}

interface Held {
  readonly until: number;
  readonly attempts: number;
}

const DEFAULT_HELD_BACKOFF: BackoffPolicy = { baseMs: 30_000, capMs: 30 * 60_000, floorMs: 5_000 };

export class Uploader {
  private readonly maxInFlight: number;
  private readonly backoff: BackoffPolicy;
  private readonly heldBackoff: BackoffPolicy;
  private readonly idlePollMs: number;
  private readonly clockWarningMs: number;
  private readonly client: IngestClient;
  private readonly maxSetAside: number;

  private running = false;
  private epoch = 0;
  private readonly inFlight = new Map<string, Flight>();
  private readonly setAside = new Map<string, number>();
  private readonly held = new Map<string, Held>();
  /** Acked ids, with the ack's sequence number, until a later `take` cannot return them. */
  private readonly recentlyAcked = new Map<string, number>();
  private ackSeq = 0;
  private failures = 0;
  private gateUntil = 0;
  private pumping = false;
  private pumpAgain = false;
  private cancelWake: (() => void) | undefined;
  private wakeAt = Infinity;
  private pending = 0;
  private uploaded = 0;
  private lastSuccessAtMs: number | undefined;
  private readonly problems = new SyncProblems();

  constructor(private readonly options: UploaderOptions) {
    this.maxInFlight = positive(options.maxInFlight ?? 4, 'maxInFlight');
    const requestTimeoutMs = positive(options.requestTimeoutMs ?? 30_000, 'requestTimeoutMs');
    this.client = new IngestClient({
      endpoint: options.endpoint,
      transport: options.transport,
      outbox: options.outbox,
      tokens: options.tokens,
      scheduler: options.scheduler,
      requestTimeoutMs,
      maxRequestTimeoutMs: Math.max(requestTimeoutMs, options.maxRequestTimeoutMs ?? requestTimeoutMs * 8),
      onClockOffset: (offset) => this.noteClock(offset),
    });
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.heldBackoff = options.heldBackoff ?? DEFAULT_HELD_BACKOFF;
    this.idlePollMs = positive(options.idlePollMs ?? 15_000, 'idlePollMs');
    this.clockWarningMs = options.clockWarningMs ?? 120_000;
    this.maxSetAside = positive(options.maxSetAside ?? 64, 'maxSetAside');
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts (or resumes) uploading; clears a previous sign-in problem. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.epoch++;
    this.problems.clear('signed-out', 'not-allowed');
    this.gateUntil = 0;
    void this.pump();
  }

  /** Stops: requests on the wire are abandoned, their batches stay in the outbox. */
  stop(): void {
    this.halt();
    this.emit();
  }

  /**
   * Something changed: new batches in the outbox, or (`wake`) the network came back or the user
   * asked to sync now — then a pending backoff is cut short.
   */
  notify(options: { readonly wake?: boolean } = {}): void {
    if (options.wake === true) {
      this.gateUntil = 0;
      for (const [id, h] of this.held) this.held.set(id, { ...h, until: 0 });
    }
    if (this.running) void this.pump();
  }

  state(): SyncState {
    const now = this.options.scheduler.now();
    const list = this.problems.list();
    const first = list[0];
    const blocked = list.some((p) => p.blocking);
    const status: SyncStatus = !this.running
      ? blocked
        ? 'blocked'
        : 'stopped'
      : this.inFlight.size > 0
        ? 'uploading'
        : this.gateUntil > now
          ? 'waiting'
          : 'idle';
    return {
      status,
      pending: Math.max(this.pending, this.inFlight.size),
      inFlight: this.inFlight.size,
      setAside: this.setAside.size,
      held: this.held.size,
      uploaded: this.uploaded,
      ...(this.lastSuccessAtMs !== undefined ? { lastSuccessAtMs: this.lastSuccessAtMs } : {}),
      ...(this.gateUntil > now && this.running ? { nextAttemptAtMs: this.gateUntil } : {}),
      ...(first !== undefined ? { problem: first } : {}),
      problems: list,
    };
  }

  // ── the pump: fills the window from the head of the outbox ────────────────────────────────────

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        await this.fill();
      } while (this.pumpAgain && this.running);
    } catch {
      // The outbox itself failed (local storage): wait and try again; nothing is lost, and the
      // server is not blamed for it.
      this.fail(undefined, undefined, undefined);
    } finally {
      this.pumping = false;
    }
    this.arm();
    this.emit();
  }

  private async fill(): Promise<void> {
    const now = this.options.scheduler.now();
    if (!this.running || now < this.gateUntil) return;
    const free = this.maxInFlight - this.inFlight.size;
    if (free <= 0) return;
    if (this.setAside.size + this.held.size >= this.maxSetAside) return;
    const excluded = this.excluded(now);
    const since = this.ackSeq;
    const batches = await this.options.outbox.take(free + excluded.size + this.recentlyAcked.size);
    this.pending = (await this.options.outbox.stats()).pending;
    for (const [id, seq] of this.recentlyAcked) if (seq <= since) this.recentlyAcked.delete(id);
    if (!this.running || this.options.scheduler.now() < this.gateUntil) return;
    const skip = this.excluded(this.options.scheduler.now());
    const candidates = batches.filter((b) => !skip.has(b.batchId) && !this.recentlyAcked.has(b.batchId));
    for (const batch of candidates.slice(0, this.maxInFlight - this.inFlight.size)) this.launch(batch);
  }

  private excluded(now: number): Set<string> {
    const ids = new Set<string>([...this.inFlight.keys(), ...this.setAside.keys()]);
    for (const [id, h] of this.held) if (h.until > now) ids.add(id);
    return ids;
  }

  private launch(batch: OutboxBatch): void {
    const flight: Flight = { controller: new AbortController(), epoch: this.epoch };
    this.inFlight.set(batch.batchId, flight);
    void this.client.upload(batch, flight.controller.signal).then(
      (outcome) => this.settle(batch.batchId, flight, outcome),
      () => this.settle(batch.batchId, flight, { kind: 'retry', problem: 'server-error' }),
    );
  }

  /** The clock-wrong warning follows each answer's `Date`. */
  private noteClock(offset: number): void {
    if (Math.abs(offset) >= this.clockWarningMs) this.problems.set(describeProblem('clock-wrong', this.options.scheduler.now(), { clockOffsetMs: offset }), true);
    else this.problems.clear('clock-wrong');
  }

  // ── outcomes ──────────────────────────────────────────────────────────────────────────────────

  private settle(batchId: string, flight: Flight, outcome: UploadOutcome): void {
    if (this.inFlight.get(batchId) === flight) this.inFlight.delete(batchId);
    const now = this.options.scheduler.now();
    switch (outcome.kind) {
      case 'acked':
        this.recentlyAcked.set(batchId, ++this.ackSeq);
        this.held.delete(batchId);
        this.uploaded++;
        this.pending = Math.max(0, this.pending - 1);
        this.lastSuccessAtMs = now;
        this.failures = 0;
        this.problems.clear('server-unreachable', 'server-error', 'rate-limited');
        if (this.held.size === 0) this.problems.clear('batch-held');
        break;
      case 'aborted':
        break;
      case 'retry':
        if (flight.epoch === this.epoch) this.fail(outcome.problem, outcome.status, outcome.retryAfterMs);
        break;
      case 'held': {
        const attempts = (this.held.get(batchId)?.attempts ?? 0) + 1;
        this.held.set(batchId, { until: now + backoffDelay(this.heldBackoff, attempts, this.options.random), attempts });
        this.problems.set(describeProblem('batch-held', now, { status: outcome.status, batches: this.held.size, ...serverWords(outcome.serverMessage) }));
        break;
      }
      case 'rejected':
        this.held.delete(batchId);
        this.setAside.set(batchId, outcome.status);
        this.problems.set(describeProblem('rejected-batch', now, { status: outcome.status, batches: this.setAside.size, ...serverWords(outcome.serverMessage) }));
        break;
      case 'stop':
        if (flight.epoch !== this.epoch) break;
        this.problems.set(describeProblem(outcome.problem, now, outcome.status !== undefined ? { status: outcome.status } : {}));
        this.halt();
        break;
    }
    void this.pump();
  }

  private fail(problem: SyncProblemKind | undefined, status: number | undefined, retryAfterMs: number | undefined): void {
    const now = this.options.scheduler.now();
    this.failures++;
    const delay = Math.max(backoffDelay(this.backoff, this.failures, this.options.random), retryAfterMs ?? 0);
    this.gateUntil = Math.max(this.gateUntil, now + delay);
    if (problem !== undefined) this.problems.set(describeProblem(problem, now, status !== undefined ? { status } : {}));
  }

  private halt(): void {
    this.running = false;
    for (const flight of this.inFlight.values()) flight.controller.abort(new Error('sync stopped'));
    this.cancelWake?.();
    this.cancelWake = undefined;
    this.wakeAt = Infinity;
  }

  /** One timer: the end of the backoff, the next held batch, or the idle poll. */
  private arm(): void {
    if (!this.running) return;
    const now = this.options.scheduler.now();
    let at = now + this.idlePollMs;
    if (this.gateUntil > now) at = Math.min(at, this.gateUntil);
    for (const h of this.held.values()) if (h.until > now) at = Math.min(at, h.until);
    if (this.inFlight.size >= this.maxInFlight && this.gateUntil <= now) return; // a settle will pump
    if (this.cancelWake !== undefined && this.wakeAt <= at && this.wakeAt > now) return;
    this.cancelWake?.();
    this.wakeAt = at;
    this.cancelWake = this.options.scheduler.after(at - now, () => {
      this.cancelWake = undefined;
      this.wakeAt = Infinity;
      void this.pump();
    });
  }

  private emit(): void {
    this.options.onState?.(this.state());
  }
}

function serverWords(message: string | undefined): { serverMessage?: string } {
  return message !== undefined ? { serverMessage: message } : {};
}

function positive(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be positive`);
  return n;
}
