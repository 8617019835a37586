/**
 * One GATT operation at a time (docs/protocol.md §2.1: "one write at a time, and wait for the
 * write response before the next"). Web Bluetooth stacks reject or silently reorder overlapping
 * operations ("GATT operation already in progress"), so every write, read and subscription of a
 * connection goes through one queue, in order. A failed operation does not stop the ones behind
 * it. A queue lives as long as one connection: `close` rejects what has not started yet.
 */
export class GattQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private running = false;
  private closedWith: Error | undefined;

  /** Operations queued and not yet started. */
  get pending(): number {
    return this.waiting;
  }

  get busy(): boolean {
    return this.running;
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Runs `op` after every operation queued before it has settled. */
  run<T>(op: () => Promise<T>): Promise<T> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    this.waiting++;
    const result = this.tail.then(async () => {
      this.waiting--;
      if (this.closedWith !== undefined) throw this.closedWith;
      this.running = true;
      try {
        return await op();
      } finally {
        this.running = false;
      }
    });
    // The chain continues whatever this operation did.
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** The connection is gone: operations not yet started reject with `reason`. */
  close(reason: Error): void {
    this.closedWith ??= reason;
  }
}
