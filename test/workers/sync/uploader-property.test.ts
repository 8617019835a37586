// Property (issue 6 §3, docs/sync.md §3.4): under ANY sequence of injected faults — 500s, hangs,
// refused connections, answers lost after the server stored the batch, cut bodies, duplicate
// deliveries, 429s, expired tokens, nonce challenges, 409s, wrong 200s, slow answers — with
// batches arriving during the run and the uploader restarted at random moments (a worker killed),
// once the faults stop every batch reaches the server and is acknowledged exactly once, and none
// is lost: the outbox ends empty, the server holds exactly the batches produced.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Uploader } from '../../../workers/sync/uploader.js';
import { flush, RETRYABLE_FAULTS, runUntil, SimOutbox, SimServer, SimTokens, VirtualClock, type Fault } from './sim.js';

const faultArb = fc.constantFrom<Fault>(...RETRYABLE_FAULTS);

describe('uploader property: no batch lost, none acknowledged twice', () => {
  it('holds under any fault sequence, arrivals during the run and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          initial: fc.integer({ min: 0, max: 30 }),
          arrivals: fc.array(fc.tuple(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 1, max: 5 })), { maxLength: 5 }),
          faults: fc.array(faultArb, { maxLength: 60 }),
          maxInFlight: fc.integer({ min: 1, max: 6 }),
          restarts: fc.array(fc.integer({ min: 0, max: 300_000 }), { maxLength: 3 }),
          latencyMs: fc.integer({ min: 0, max: 300 }),
          seed: fc.integer({ min: 1, max: 2 ** 31 - 2 }),
        }),
        async (c) => {
          const clock = new VirtualClock();
          const outbox = new SimOutbox(clock);
          const tokens = new SimTokens();
          const server = new SimServer({ clock, tokens, script: c.faults, latencyMs: c.latencyMs });
          let seed = c.seed;
          const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
          const make = () =>
            new Uploader({
              endpoint: 'https://cloud.example/api/ingest',
              transport: server.transport,
              outbox,
              tokens,
              scheduler: clock,
              random,
              maxInFlight: c.maxInFlight,
              requestTimeoutMs: 10_000,
              backoff: { baseMs: 500, capMs: 30_000, floorMs: 50 },
              heldBackoff: { baseMs: 5_000, capMs: 60_000, floorMs: 1_000 },
            });
          let up = make();
          const produced = outbox.add(c.initial);
          for (const [at, n] of c.arrivals) clock.after(at, () => {
            produced.push(...outbox.add(n));
            up.notify();
          });
          for (const at of c.restarts) clock.after(at, () => {
            up.stop(); // the worker dies: its memory is gone, the outbox stays
            up = make();
            up.start();
          });
          up.start();
          const allArrived = () => produced.length === c.initial + c.arrivals.reduce((a, [, n]) => a + n, 0);
          const done = () => {
            // Two 401s in a row stop sync (signed out): the user signs in again.
            if (!up.isRunning && up.state().status === 'blocked') up.start();
            return allArrived() && outbox.rows.size === 0 && up.state().inFlight === 0;
          };
          const finished = await runUntil(clock, done, 30 * 86_400_000);
          await flush();
          up.stop();
          expect(finished).toBe(true);
          expect(outbox.rows.size).toBe(0);
          expect([...server.stored.keys()].sort()).toEqual([...produced].sort());
          for (const id of produced) expect(outbox.ackCalls.get(id)).toBe(1);
          expect(server.maxConcurrent).toBeLessThanOrEqual(c.maxInFlight * (c.restarts.length + 1));
        },
      ),
      { numRuns: 300, seed: 0x5eed, endOnFailure: true },
    );
  });
});
