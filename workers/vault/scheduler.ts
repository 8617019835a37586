/**
 * The worker's clock and timers. In the app it is `Date.now` and `setTimeout`. In a development
 * build (the test server), tests can move it forward: `page.clock` does not reach a dedicated
 * worker (test/browser/README.md), yet auto-lock and session limits live here. The hook is
 * compiled out of production builds (`import.meta.env.DEV` is false there).
 */
import type { Scheduler } from './pipeline.js';

export interface AdjustableScheduler extends Scheduler {
  /** Moves the clock forward by `ms` and runs every timer that is then due, in order. */
  advance(ms: number): void;
}

export function realScheduler(): AdjustableScheduler {
  let offset = 0;
  const timers = new Set<{ due: number; fn: () => void; id: ReturnType<typeof setTimeout> }>();
  const now = (): number => Date.now() + offset;
  return {
    now,
    after(ms, fn) {
      const timer = {
        due: now() + ms,
        fn,
        id: setTimeout(() => {
          timers.delete(timer);
          fn();
        }, ms),
      };
      timers.add(timer);
      return () => {
        clearTimeout(timer.id);
        timers.delete(timer);
      };
    },
    advance(ms) {
      offset += ms;
      const due = [...timers].filter((t) => t.due <= now()).sort((a, b) => a.due - b.due);
      for (const t of due) {
        clearTimeout(t.id);
        timers.delete(t);
        t.fn();
      }
    },
  };
}
