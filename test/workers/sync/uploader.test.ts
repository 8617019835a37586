// The uploader against a simulated server and clock (docs/sync.md §3): order, the in-flight
// bound, acknowledgement only on a matching 200, every failure class, backoff, and resumption.
import { describe, expect, it } from 'vitest';
import { Uploader, type SyncState, type UploaderOptions } from '../../../workers/sync/uploader.js';
import { flush, runUntil, SimOutbox, SimServer, SimTokens, VirtualClock, type Fault } from './sim.js';

const ENDPOINT = 'https://cloud.example/api/ingest';

function world(options: { script?: Fault[]; batches?: number; latencyMs?: number; serverClockOffsetMs?: number; fixed?: Map<string, number> } = {}, uploader: Partial<UploaderOptions> = {}) {
  const clock = new VirtualClock();
  const outbox = new SimOutbox(clock);
  const tokens = new SimTokens();
  tokens.clock = clock;
  const server = new SimServer({ clock, tokens, ...options });
  const ids = outbox.add(options.batches ?? 10);
  const states: SyncState[] = [];
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const up = new Uploader({
    endpoint: ENDPOINT,
    transport: server.transport,
    outbox,
    tokens,
    scheduler: clock,
    random,
    requestTimeoutMs: 10_000,
    onState: (s) => states.push(s),
    ...uploader,
  });
  const drained = () => outbox.rows.size === 0 && up.state().inFlight === 0;
  return { clock, outbox, tokens, server, ids, up, states, drained };
}

describe('uploader: the happy path', () => {
  it('uploads every batch once, oldest first, and acknowledges each exactly once', async () => {
    const w = world({ batches: 25 }, { maxInFlight: 1 });
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect(w.server.deliveries).toEqual(w.ids);
    expect([...w.outbox.ackCalls.values()].every((n) => n === 1)).toBe(true);
    expect(w.outbox.ackCalls.size).toBe(25);
    const s = w.up.state();
    expect(s).toMatchObject({ status: 'idle', pending: 0, inFlight: 0, uploaded: 25, problems: [] });
    expect(s.lastSuccessAtMs).toBe(w.clock.now());
  });

  it('keeps at most maxInFlight requests on the wire and still starts them oldest first', async () => {
    const w = world({ batches: 40, latencyMs: 100 }, { maxInFlight: 5 });
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect(w.server.maxConcurrent).toBe(5);
    expect([...w.server.stored.keys()].sort()).toEqual(w.ids);
    // Starting order is the outbox order (the window slides over the head).
    expect(w.server.deliveries.slice(0, 5).sort()).toEqual(w.ids.slice(0, 5));
    expect(w.states.some((s) => s.inFlight === 5 && s.status === 'uploading')).toBe(true);
  });

  it('a week of batches (3,000: 3 M readings in 1,000-reading batches) drains in minutes of simulated time', async () => {
    const w = world({ batches: 3_000, latencyMs: 40 }, { maxInFlight: 8 });
    const start = w.clock.now();
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect(w.server.stored.size).toBe(3_000);
    // 40 ms a request, eight at a time: 15 s, nowhere near backoff territory.
    expect(w.clock.now() - start).toBeLessThan(20_000);
  });

  it('picks up batches added while it runs, and polls an idle outbox', async () => {
    const w = world({ batches: 3 }, { idlePollMs: 10_000 });
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    w.outbox.add(4); // no notify: the idle poll finds them
    expect(await runUntil(w.clock, w.drained, 11_000)).toBe(true);
    expect(w.server.stored.size).toBe(7);
    w.outbox.add(2);
    w.up.notify();
    await flush();
    await runUntil(w.clock, w.drained, 1_000);
    expect(w.server.stored.size).toBe(9);
  });
});

describe('uploader: failures the user never has to act on', () => {
  it.each<[Fault, string]>([
    ['status-500', 'server-error'],
    ['refuse', 'server-unreachable'],
    ['hang', 'server-unreachable'],
    ['lost-response', 'server-unreachable'],
    ['cut-body', 'server-unreachable'],
    ['hang-after-commit', 'server-unreachable'],
    ['rate-limit', 'rate-limited'],
    ['wrong-200', 'server-error'],
  ])('%s: reported as %s, retried, and the batch is stored once and acked once', async (fault, kind) => {
    const w = world({ batches: 3, script: [fault] }, { maxInFlight: 1 });
    w.up.start();
    await runUntil(w.clock, () => w.up.state().problem !== undefined, 60_000);
    expect(w.up.state().problem?.kind).toBe(kind);
    expect(w.up.state().problem?.blocking).toBe(false);
    expect(w.up.state().status).toBe('waiting');
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect([...w.server.stored.keys()].sort()).toEqual(w.ids);
    expect([...w.outbox.ackCalls.values()]).toEqual([1, 1, 1]);
    expect(w.up.state().problems).toEqual([]); // a success clears it
  });

  it('a request that hangs is abandoned after the timeout and sent again', async () => {
    const w = world({ batches: 1, script: ['hang'] }, { requestTimeoutMs: 8_000 });
    const t0 = w.clock.now();
    w.up.start();
    await runUntil(w.clock, () => w.server.requests === 2, 60_000);
    expect(w.clock.now() - t0).toBeGreaterThanOrEqual(8_000);
    expect(await runUntil(w.clock, w.drained)).toBe(true);
  });

  it('a server slower than the timeout is not retried in vain: the timeout grows, then shrinks', async () => {
    const w = world({ batches: 4, latencyMs: 15_000 }, { maxInFlight: 1, requestTimeoutMs: 10_000 });
    w.up.start();
    expect(await runUntil(w.clock, w.drained, 3_600_000)).toBe(true);
    // The first attempt timed out at 10 s, the next had 20 s: the rest went through first time.
    expect(w.server.requests).toBe(5);
    expect([...w.outbox.ackCalls.values()]).toEqual([1, 1, 1, 1]);
    // Fast answers again: the timeout comes back down to 10 s (a hang costs 10 s, not 20 s).
    (w.server as unknown as { options: { latencyMs: number } }).options.latencyMs = 10;
    w.outbox.add(3);
    w.up.notify();
    expect(await runUntil(w.clock, w.drained, 60_000)).toBe(true);
    w.server.script.push('hang');
    w.outbox.add(1);
    const t = w.clock.now();
    w.up.notify();
    await runUntil(w.clock, () => w.up.state().problem !== undefined, 60_000);
    expect(w.clock.now() - t).toBeLessThanOrEqual(10_100);
  });

  it('waits at least Retry-After after a 429, and at least the 503 Retry-After', async () => {
    for (const [fault, seconds] of [['rate-limit', 3], ['status-503-retry-after', 7]] as const) {
      const w = world({ batches: 1, script: [fault], latencyMs: 0 }, { backoff: { baseMs: 10, capMs: 20, floorMs: 1 } });
      w.up.start();
      await runUntil(w.clock, () => w.up.state().problem !== undefined, 1_000);
      const failedAt = w.clock.now();
      expect(w.up.state().nextAttemptAtMs).toBeGreaterThanOrEqual(failedAt + seconds * 1000);
      await runUntil(w.clock, () => w.server.requests === 2, 60_000);
      expect(w.clock.now() - failedAt).toBeGreaterThanOrEqual(seconds * 1000);
    }
  });

  it('backs off exponentially with jitter under a cap, and resets after a success', async () => {
    const script: Fault[] = Array.from({ length: 12 }, () => 'status-500');
    const w = world({ batches: 2, script, latencyMs: 0 }, { maxInFlight: 1, backoff: { baseMs: 1_000, capMs: 60_000, floorMs: 100 } });
    const starts = w.server.requestTimes;
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? 0));
    // Gap i is drawn from [floor, min(cap, base·2^i)].
    gaps.slice(0, 12).forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual(100);
      expect(g).toBeLessThanOrEqual(Math.min(60_000, 1_000 * 2 ** i));
    });
    expect(Math.max(...gaps.slice(0, 12))).toBeGreaterThan(4_000); // it did grow
    // After the first success the second batch goes at once (backoff reset).
    expect(gaps[12]).toBeLessThan(100);
  });

  it('refreshes the access token once on a 401 and resends', async () => {
    const w = world({ batches: 2, script: ['expire-token'] });
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect(w.tokens.refreshes).toBe(1);
    expect(w.server.seenTokens.has('DPoP at-2')).toBe(true);
    expect(w.up.state().problems).toEqual([]);
  });

  it('a refused proof (replayed by a middlebox, or stale) is resent with a fresh proof, without a refresh', async () => {
    const w = world({ batches: 2, script: ['proof-refused'] }, { maxInFlight: 1 });
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect(w.tokens.refreshes).toBe(0);
    expect(w.server.requests).toBe(3);
    // Twice in a row: then one refresh, as for any 401.
    const v = world({ batches: 1, script: ['proof-refused', 'proof-refused'] });
    v.up.start();
    expect(await runUntil(v.clock, v.drained)).toBe(true);
    expect(v.tokens.refreshes).toBe(1);
  });

  it('answers use_dpop_nonce by resending with the nonce, without a refresh', async () => {
    const w = world({ batches: 2, script: ['nonce'] }, { maxInFlight: 1 });
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect(w.tokens.refreshes).toBe(0);
    expect(w.tokens.nonce).toBe('n-1');
  });

  it('a 409 holds that batch back and retries it slowly while the rest flows', async () => {
    const w = world({ batches: 6, script: ['held'] }, { maxInFlight: 1, heldBackoff: { baseMs: 60_000, capMs: 60_000, floorMs: 60_000 } });
    w.up.start();
    await runUntil(w.clock, () => w.outbox.rows.size === 1, 30_000);
    const s = w.up.state();
    expect(s.held).toBe(1);
    expect(s.problem?.kind).toBe('batch-held');
    expect(s.problem?.message).toContain('not assigned to a patient');
    expect(w.outbox.rows.has(w.ids[0] ?? '')).toBe(true);
    expect(await runUntil(w.clock, w.drained, 120_000)).toBe(true);
    expect(w.up.state()).toMatchObject({ held: 0, problems: [] });
  });

  it('a failing outbox read is retried later, not fatal', async () => {
    const w = world({ batches: 2 });
    w.outbox.failNextTake = 1;
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
  });
});

describe('uploader: what the user must know', () => {
  it('signed out: a 401 after a refresh stops sync, keeps the outbox and says to sign in again', async () => {
    const w = world({ batches: 3, script: ['expire-token', 'expire-token'] }, { maxInFlight: 1 });
    w.up.start();
    await runUntil(w.clock, () => !w.up.isRunning, 60_000);
    const s = w.up.state();
    expect(s.status).toBe('blocked');
    expect(s.problem).toMatchObject({ kind: 'signed-out', blocking: true });
    expect(s.problem?.action).toMatch(/Sign in again/);
    expect(w.outbox.rows.size).toBe(3);
    // Nothing more is attempted while stopped.
    const before = w.server.requests;
    await runUntil(w.clock, () => false, 3_600_000);
    expect(w.server.requests).toBe(before);
    // Signing in again (start) resumes from the outbox.
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect(w.up.state().problems).toEqual([]);
  });

  it('signed out: a refused refresh token stops sync at once', async () => {
    const w = world({ batches: 2, script: ['expire-token'] });
    w.tokens.revoked = true;
    w.up.start();
    await runUntil(w.clock, () => !w.up.isRunning, 60_000);
    expect(w.up.state().problem?.kind).toBe('signed-out');
    expect(w.outbox.rows.size).toBe(2);
  });

  it('a 403 stops sync: this account may not send readings', async () => {
    const w = world({ batches: 2, fixed: new Map([['0'.repeat(32), 403]]) });
    w.up.start();
    await runUntil(w.clock, () => !w.up.isRunning, 60_000);
    expect(w.up.state().problem).toMatchObject({ kind: 'not-allowed', blocking: true, status: 403 });
    expect(w.outbox.rows.has('0'.repeat(32))).toBe(true);
  });

  it('a refused batch (400) is set aside, reported, never dropped, and the rest syncs', async () => {
    const bad = '1'.padStart(32, '0');
    const w = world({ batches: 5, fixed: new Map([[bad, 400]]) }, { maxInFlight: 2 });
    w.up.start();
    await runUntil(w.clock, () => w.outbox.rows.size === 1 && w.up.state().inFlight === 0);
    const s = w.up.state();
    expect(w.outbox.rows.has(bad)).toBe(true);
    expect(s).toMatchObject({ setAside: 1, pending: 1 });
    expect(s.problem).toMatchObject({ kind: 'rejected-batch', blocking: false, status: 400 });
    expect(s.problem?.message).toContain('refused batch');
    // It is not sent again in this run …
    const before = w.server.requests;
    await runUntil(w.clock, () => false, 600_000);
    expect(w.server.requests).toBe(before);
    // … but a new start (after a restart of the worker) tries it once more.
    const again = new Uploader({ endpoint: ENDPOINT, transport: w.server.transport, outbox: w.outbox, tokens: w.tokens, scheduler: w.clock, random: () => 0.5 });
    w.up.stop();
    again.start();
    await runUntil(w.clock, () => w.server.requests > before, 60_000);
    expect(w.outbox.rows.has(bad)).toBe(true);
  });

  it('clock wrong: a Date far from the device clock is reported and proofs carry the server time', async () => {
    const w = world({ batches: 2, serverClockOffsetMs: -7 * 60_000 });
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    const s = w.up.state();
    expect(s.problem?.kind).toBe('clock-wrong');
    expect(s.problem?.message).toContain('7 minutes');
    expect(s.problem?.action).toMatch(/Check the device’s clock/);
    expect(Math.abs((w.tokens.offsets.at(-1) ?? 0) + 7 * 60_000)).toBeLessThan(2_000);
  });

  it('clock right again: the warning clears and proofs go back to the device time', async () => {
    const w = world({ batches: 1, serverClockOffsetMs: 10 * 60_000 });
    w.up.start();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect(w.up.state().problem?.kind).toBe('clock-wrong');
    (w.server as unknown as { options: { serverClockOffsetMs: number } }).options.serverClockOffsetMs = 0;
    w.outbox.add(1);
    w.up.notify();
    expect(await runUntil(w.clock, w.drained)).toBe(true);
    expect(w.up.state().problems).toEqual([]);
    expect(w.tokens.offsets.at(-1)).toBe(0);
  });

  it('every problem says what to do, in words, and says readings are kept where sync waits', async () => {
    const { describeProblem } = await import('../../../workers/sync/sync-problem.js');
    for (const kind of ['signed-out', 'not-allowed', 'server-unreachable', 'server-error', 'rate-limited', 'clock-wrong', 'batch-held', 'rejected-batch'] as const) {
      const p = describeProblem(kind, 0, { status: 500, clockOffsetMs: 3_600_000 });
      expect(p.message.length).toBeGreaterThan(15);
      expect(p.action.length).toBeGreaterThan(15);
      if (kind !== 'clock-wrong') expect(`${p.message} ${p.action}`).toMatch(/kept/);
    }
  });
});

describe('uploader: interruption', () => {
  it('stop() abandons requests on the wire; a new uploader resumes from the outbox alone', async () => {
    const w = world({ batches: 20, latencyMs: 500 }, { maxInFlight: 4 });
    w.up.start();
    await runUntil(w.clock, () => w.server.stored.size >= 6, 60_000);
    w.up.stop();
    await flush();
    expect(w.up.state()).toMatchObject({ status: 'stopped', inFlight: 0 });
    const left = w.outbox.rows.size;
    expect(left).toBeGreaterThan(0);
    // A fresh uploader (a new worker after a crash) knows nothing but the outbox.
    const next = new Uploader({ endpoint: ENDPOINT, transport: w.server.transport, outbox: w.outbox, tokens: w.tokens, scheduler: w.clock, random: () => 0.3, maxInFlight: 4 });
    next.start();
    expect(await runUntil(w.clock, () => w.outbox.rows.size === 0 && next.state().inFlight === 0)).toBe(true);
    expect([...w.server.stored.keys()].sort()).toEqual(w.ids);
    expect([...w.outbox.ackCalls.values()].every((n) => n === 1)).toBe(true);
  });

  it('notify({wake}) cuts a long backoff short when the network returns', async () => {
    const script: Fault[] = Array.from({ length: 10 }, () => 'refuse');
    const w = world({ batches: 1, script }, { backoff: { baseMs: 60_000, capMs: 600_000, floorMs: 60_000 } });
    w.up.start();
    await runUntil(w.clock, () => w.server.requests === 10 && w.up.state().status === 'waiting', 30 * 86_400_000);
    expect(w.up.state().status).toBe('waiting');
    const t = w.clock.now();
    w.up.notify({ wake: true });
    await runUntil(w.clock, w.drained, 5_000);
    expect(w.outbox.rows.size).toBe(0);
    expect(w.clock.now() - t).toBeLessThan(1_000);
  });

  it('rejects nonsense options', () => {
    const w = world();
    expect(() => new Uploader({ endpoint: ENDPOINT, transport: w.server.transport, outbox: w.outbox, tokens: w.tokens, scheduler: w.clock, random: Math.random, maxInFlight: 0 })).toThrow(RangeError);
  });
});
