/**
 * Time for the Bluetooth adapter, injected so the pure parts (backoff, queue, watchdog, connect
 * timeout) run the same under unit tests and in the page. No DOM here: this file is also compiled
 * for Node by the unit tests.
 */
export interface Timers {
  /** Monotonic milliseconds. */
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function (calling it twice is harmless). */
  after(ms: number, fn: () => void): () => void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};

/**
 * `work`, or `timeoutError()` if it has not settled after `ms`. On timeout `abort` runs first (for
 * a GATT connect: `gatt.disconnect()`, which makes the stack give up), and whatever `work` does
 * later is ignored — a hung stack cannot resolve a connection the app has already given up on.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, timers: Timers, timeoutError: () => Error, abort?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const cancel = timers.after(ms, () => {
      if (settled) return;
      settled = true;
      try {
        abort?.();
      } finally {
        reject(timeoutError());
      }
    });
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        cancel();
        reject(err);
      },
    );
  });
}
