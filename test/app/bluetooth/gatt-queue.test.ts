import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GattQueue } from '../../../src/app/bluetooth/gatt-queue.js';

/** A GATT operation the test completes by hand. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('GattQueue', () => {
  it('runs one operation at a time, in the order queued', async () => {
    const q = new GattQueue();
    const started: number[] = [];
    const ops = [deferred(), deferred(), deferred()];
    const results = ops.map((d, i) => q.run(() => (started.push(i), d.promise)));
    await tick();
    expect(started).toEqual([0]);
    expect(q.busy).toBe(true);
    expect(q.pending).toBe(2);
    ops[0]!.resolve();
    await tick();
    expect(started).toEqual([0, 1]);
    ops[1]!.resolve();
    ops[2]!.resolve();
    await Promise.all(results);
    expect(started).toEqual([0, 1, 2]);
    expect(q.busy).toBe(false);
  });

  it('a failed operation rejects its caller only; the next one still runs', async () => {
    const q = new GattQueue();
    const a = q.run(() => Promise.reject(new Error('GATT operation failed')));
    const b = q.run(() => Promise.resolve('read'));
    await expect(a).rejects.toThrow('GATT operation failed');
    await expect(b).resolves.toBe('read');
  });

  it('an operation that throws synchronously is a rejection, not a stuck queue', async () => {
    const q = new GattQueue();
    const a = q.run(() => {
      throw new Error('InvalidStateError');
    });
    await expect(a).rejects.toThrow('InvalidStateError');
    await expect(q.run(async () => 7)).resolves.toBe(7);
  });

  it('close: what has not started rejects with the reason, the running one finishes, later runs reject', async () => {
    const q = new GattQueue();
    const running = deferred<string>();
    const first = q.run(() => running.promise);
    let secondStarted = false;
    const second = q.run(async () => {
      secondStarted = true;
    });
    await tick();
    const reason = new Error('link dropped');
    q.close(reason);
    running.resolve('done');
    await expect(first).resolves.toBe('done');
    await expect(second).rejects.toBe(reason);
    expect(secondStarted).toBe(false);
    await expect(q.run(async () => 1)).rejects.toBe(reason);
    expect(q.closed).toBe(true);
  });

  it('never overlaps operations, whatever their durations and outcomes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ delay: fc.integer({ min: 0, max: 3 }), fail: fc.boolean() }), { minLength: 1, maxLength: 20 }), async (ops) => {
        const q = new GattQueue();
        let active = 0;
        let maxActive = 0;
        const order: number[] = [];
        const runs = ops.map((op, i) =>
          q
            .run(async () => {
              active++;
              maxActive = Math.max(maxActive, active);
              order.push(i);
              for (let t = 0; t < op.delay; t++) await Promise.resolve();
              active--;
              if (op.fail) throw new Error('fail');
              return i;
            })
            .catch(() => -1),
        );
        const results = await Promise.all(runs);
        expect(maxActive).toBe(1);
        expect(order).toEqual(ops.map((_, i) => i));
        expect(results).toEqual(ops.map((op, i) => (op.fail ? -1 : i)));
      }),
    );
  });
});
