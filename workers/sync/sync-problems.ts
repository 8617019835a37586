/**
 * The set of sync problems in force (docs/sync.md §4), most pressing first: what stops sync
 * (signed out, not allowed), then what sets batches aside, then the clock, then what is retried.
 */
import type { SyncProblem, SyncProblemKind } from './sync-problem.js';

const ORDER: readonly SyncProblemKind[] = [
  'signed-out',
  'not-allowed',
  'rejected-batch',
  'batch-held',
  'clock-wrong',
  'server-unreachable',
  'server-error',
  'rate-limited',
];

export class SyncProblems {
  private readonly active = new Map<SyncProblemKind, SyncProblem>();

  /** Records a problem; one of the same kind keeps its `sinceMs` (the problem goes on). */
  set(problem: SyncProblem, keepSince = true): void {
    const held = this.active.get(problem.kind);
    this.active.set(problem.kind, keepSince && held !== undefined ? { ...problem, sinceMs: held.sinceMs } : problem);
    // A failure to reach the server replaces the failure of the server, and the other way round.
    if (problem.kind === 'server-unreachable') this.active.delete('server-error');
    if (problem.kind === 'server-error') this.active.delete('server-unreachable');
  }

  clear(...kinds: SyncProblemKind[]): void {
    for (const k of kinds) this.active.delete(k);
  }

  has(kind: SyncProblemKind): boolean {
    return this.active.has(kind);
  }

  list(): SyncProblem[] {
    return ORDER.flatMap((k) => {
      const p = this.active.get(k);
      return p === undefined ? [] : [p];
    });
  }
}
