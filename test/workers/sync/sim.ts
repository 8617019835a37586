// A simulated world for the uploader: a virtual clock with timers, an outbox, a token source and
// an ingestion server that deduplicates by batch id, reached through a transport that injects the
// faults of issue 6 §3 (500s, hangs, lost answers, cuts, 429, 401, nonces, 409, wrong 200s).
import { SignedOutError } from '../../../workers/sync/errors.js';
import type { OutboxBatch, OutboxPort, TokenPort, Transport, TransportRequest, TransportResponse } from '../../../workers/sync/upload-ports.js';
import type { Scheduler } from '../../../workers/vault/pipeline.js';

export class VirtualClock implements Scheduler {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, { due: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 10, 28, 12)) {
    this.t = start;
  }

  now = (): number => this.t;

  after = (ms: number, fn: () => void): (() => void) => {
    const id = ++this.seq;
    this.timers.set(id, { due: this.t + Math.max(0, ms), fn });
    return () => void this.timers.delete(id);
  };

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Runs the earliest timer (moving the clock to it); false if there is none. */
  step(): boolean {
    let first: [number, { due: number; fn: () => void }] | undefined;
    for (const e of this.timers) if (first === undefined || e[1].due < first[1].due || (e[1].due === first[1].due && e[0] < first[0])) first = e;
    if (first === undefined) return false;
    this.timers.delete(first[0]);
    this.t = Math.max(this.t, first[1].due);
    first[1].fn();
    return true;
  }

  /** Moves the clock forward by `ms` (a wrong device clock), running nothing. */
  jump(ms: number): void {
    this.t += ms;
  }
}

/** Lets every pending promise callback run (the simulated world does no real I/O). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Steps the clock until `done()` holds or `limitMs` of virtual time passed. */
export async function runUntil(clock: VirtualClock, done: () => boolean, limitMs = 7 * 86_400_000): Promise<boolean> {
  const end = clock.now() + limitMs;
  await flush();
  while (!done()) {
    if (clock.now() > end) return false;
    if (!clock.step()) {
      await flush();
      if (!done() && clock.pendingTimers === 0) return false;
      continue;
    }
    await flush();
  }
  return true;
}

export class SimOutbox implements OutboxPort {
  readonly rows = new Map<string, Uint8Array>();
  readonly ackCalls = new Map<string, number>();
  private next = 0;
  failNextTake = 0;

  /** With a clock, a read takes `readMs` of virtual time, so answers and acks interleave with it. */
  constructor(
    private readonly clock?: VirtualClock,
    private readonly readMs = 3,
  ) {}

  add(n: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = (this.next++).toString(16).padStart(32, '0');
      this.rows.set(id, new TextEncoder().encode(id)); // the simulated server reads the id from the body
      ids.push(id);
    }
    return ids;
  }

  /** Reads at call time and answers a task later, like IndexedDB: acks may land in between. */
  async take(limit: number): Promise<OutboxBatch[]> {
    if (this.failNextTake > 0) {
      this.failNextTake--;
      throw new Error('storage failed');
    }
    const snapshot = [...this.rows].slice(0, limit).map(([batchId, sealed]) => ({ batchId, sealed }));
    const clock = this.clock;
    await new Promise<void>((r) => (clock === undefined ? setImmediate(r) : clock.after(this.readMs, r)));
    return snapshot;
  }

  async ack(ids: readonly string[]): Promise<void> {
    await Promise.resolve();
    for (const id of ids) {
      this.ackCalls.set(id, (this.ackCalls.get(id) ?? 0) + 1);
      this.rows.delete(id);
    }
  }

  async stats(): Promise<{ pending: number }> {
    return { pending: this.rows.size };
  }
}

/** Tokens that expire: the server accepts only the current generation. */
export class SimTokens implements TokenPort {
  generation = 1;
  refreshes = 0;
  revoked = false;
  nonce: string | undefined;
  offsetMs = 0;
  offsets: number[] = [];

  async accessToken(): Promise<string> {
    if (this.revoked) throw new SignedOutError('refresh-rejected');
    return `at-${this.generation}`;
  }

  async dpopProof(method: string, _url: string, token: string): Promise<string> {
    return `proof:${method}:${token}:${this.nonce ?? ''}:${this.offsetMs}`;
  }

  async refresh(): Promise<void> {
    this.refreshes++;
    if (this.revoked) throw new SignedOutError('refresh-rejected');
    this.generation++;
  }

  observe(_url: string, response: TransportResponse): void {
    const n = response.headers.get('dpop-nonce');
    if (n !== null) this.nonce = n;
  }

  /** With a clock: records the offset the real client would derive (≥ 5 s applies, else 0). */
  clock: VirtualClock | undefined;

  setServerTime(serverMs: number): void {
    const offset = serverMs - (this.clock?.now() ?? serverMs);
    const applied = Math.abs(offset) >= 5_000 ? offset : 0;
    if (applied === this.offsetMs && this.offsets.length > 0) return;
    this.offsetMs = applied;
    this.offsets.push(applied);
  }
}

export type Fault =
  | 'none'
  | 'status-500'
  | 'status-503-retry-after'
  | 'refuse' // no connection: the request never reaches the server
  | 'hang' // the server never answers (the uploader times out)
  | 'hang-after-commit' // stored, then silence
  | 'lost-response' // stored, then the connection drops
  | 'cut-body' // stored, headers sent, body cut
  | 'duplicate' // a proxy delivers the request twice
  | 'rate-limit'
  | 'expire-token' // the access token expired: 401 invalid_token
  | 'nonce' // 401 use_dpop_nonce with a DPoP-Nonce
  | 'proof-refused' // 401 invalid_dpop_proof (a replayed or stale proof)
  | 'held' // 409 (sensor not assigned yet)
  | 'wrong-200' // 200 naming another batch
  | 'slow'; // 5 s latency

export const RETRYABLE_FAULTS: readonly Fault[] = [
  'none',
  'status-500',
  'status-503-retry-after',
  'refuse',
  'hang',
  'hang-after-commit',
  'lost-response',
  'cut-body',
  'duplicate',
  'rate-limit',
  'expire-token',
  'nonce',
  'proof-refused',
  'held',
  'wrong-200',
  'slow',
];

function response(status: number, body: unknown, headers: Record<string, string> = {}, cut = false): TransportResponse {
  const h = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    status,
    headers: { get: (name: string) => h.get(name.toLowerCase()) ?? null },
    json: async () => {
      if (cut) throw new TypeError('terminated');
      if (body === undefined) throw new SyntaxError('no body');
      return body;
    },
  };
}

export interface SimServerOptions {
  readonly clock: VirtualClock;
  readonly tokens: SimTokens;
  /** Faults for the next requests, in order; then none. */
  readonly script?: Fault[];
  readonly latencyMs?: number;
  /** Server minus device clock, for the `Date` header. */
  readonly serverClockOffsetMs?: number;
  /** Statuses to answer for given batch ids, always. */
  readonly fixed?: Map<string, number>;
}

/** The ingestion server: stores each batch once, answers the same for a duplicate. */
export class SimServer {
  readonly stored = new Map<string, number>();
  readonly deliveries: string[] = [];
  requests = 0;
  concurrent = 0;
  maxConcurrent = 0;
  readonly seenTokens = new Set<string>();
  readonly script: Fault[];
  nonceRequired: string | undefined;

  constructor(private readonly options: SimServerOptions) {
    this.script = [...(options.script ?? [])];
  }

  private commit(id: string): { batchId: string; accepted: number; duplicates: number } {
    this.deliveries.push(id);
    const seen = this.stored.has(id);
    this.stored.set(id, (this.stored.get(id) ?? 0) + 1);
    return { batchId: id, accepted: seen ? 0 : 1, duplicates: seen ? 1 : 0 };
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const at = this.options.clock.now() + (this.options.serverClockOffsetMs ?? 0);
    return { date: new Date(at).toUTCString(), ...extra };
  }

  /** When each request arrived (virtual time). */
  readonly requestTimes: number[] = [];

  readonly transport: Transport = (_url: string, init: TransportRequest) => {
    this.requests++;
    this.requestTimes.push(this.options.clock.now());
    const fault = this.script.shift() ?? 'none';
    const id = idOf(init.body);
    const clock = this.options.clock;
    const latency = (fault === 'slow' ? 5_000 : 0) + (this.options.latencyMs ?? 20);
    this.seenTokens.add(init.headers.authorization ?? '');
    return new Promise<TransportResponse>((resolve, reject) => {
      this.concurrent++;
      this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
      let settled = false;
      const done = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.concurrent--;
        f();
      };
      init.signal.addEventListener('abort', () => done(() => reject(new DOMException('aborted', 'AbortError'))));
      if (fault === 'refuse') return void clock.after(1, () => done(() => reject(new TypeError('fetch failed'))));
      if (fault === 'hang') return;
      clock.after(latency, () => {
        if (settled) return;
        const auth = init.headers.authorization ?? '';
        const current = `DPoP at-${this.options.tokens.generation}`;
        if (fault === 'expire-token' || auth !== current) {
          return done(() => resolve(response(401, { error: { message: 'Sign in again.' } }, this.headers({ 'www-authenticate': 'DPoP error="invalid_token"' }))));
        }
        if (fault === 'proof-refused') {
          return done(() => resolve(response(401, undefined, this.headers({ 'www-authenticate': 'DPoP error="invalid_dpop_proof"' }))));
        }
        if (fault === 'nonce') {
          this.nonceRequired = `n-${this.requests}`;
          return done(() => resolve(response(401, undefined, this.headers({ 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': this.nonceRequired ?? '' }))));
        }
        if (this.nonceRequired !== undefined && !(init.headers.dpop ?? '').includes(this.nonceRequired)) {
          return done(() => resolve(response(401, undefined, this.headers({ 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': this.nonceRequired ?? '' }))));
        }
        const fixed = this.options.fixed?.get(id);
        if (fixed !== undefined) return done(() => resolve(response(fixed, { error: { code: 'x', message: `refused batch ${id.slice(-4)}` } }, this.headers())));
        switch (fault) {
          case 'status-500':
            return done(() => resolve(response(500, { error: { message: 'internal' } }, this.headers())));
          case 'status-503-retry-after':
            return done(() => resolve(response(503, undefined, this.headers({ 'retry-after': '7' }))));
          case 'rate-limit':
            return done(() => resolve(response(429, { error: { message: 'Too many requests.' } }, this.headers({ 'retry-after': '3' }))));
          case 'held':
            return done(() => resolve(response(409, { error: { code: 'conflict', message: 'This sensor is not assigned to a patient yet.' } }, this.headers())));
          case 'wrong-200':
            return done(() => resolve(response(200, { batchId: 'f'.repeat(32), accepted: 0, duplicates: 0 }, this.headers())));
          case 'hang-after-commit':
            this.commit(id);
            return;
          case 'lost-response':
            this.commit(id);
            return done(() => reject(new TypeError('network connection lost')));
          case 'cut-body':
            this.commit(id);
            return done(() => resolve(response(200, undefined, this.headers(), true)));
          case 'duplicate':
            this.commit(id);
            return done(() => resolve(response(200, this.commit(id), this.headers())));
          default:
            return done(() => resolve(response(200, this.commit(id), this.headers())));
        }
      });
    });
  };
}

/** The simulated batches carry their id as their body. */
function idOf(body: Uint8Array): string {
  return new TextDecoder().decode(body);
}
