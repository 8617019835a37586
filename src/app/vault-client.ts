/**
 * The page's handle on the vault worker (docs/vault.md). The worker's API type is imported with
 * `import type`, so none of its code — and none of its keys — can reach the main bundle; the
 * page moves bytes and shows view-models.
 */
import * as Comlink from 'comlink';
import type { PageCallbacks, StartOptions, VaultApi } from '../../workers/vault.worker.js';

export type Vault = Comlink.Remote<VaultApi>;

export interface VaultClient {
  readonly vault: Vault;
  readonly worker: Worker;
  /** Whether the browser granted persistent storage (it will not evict the vault under pressure). */
  readonly persisted: boolean;
  /**
   * Hands a fragment from a sensor to the worker; the buffer is transferred (no copy stays here).
   * Fragments that arrive in the same task travel together, in order, as one message; the promise
   * settles when the worker has taken that message.
   */
  receive(link: string, fragment: Uint8Array): Promise<void>;
  /**
   * Hands a passkey's PRF output to the worker and wipes every copy the page had: the
   * authenticator's buffer is zeroed, the copy sent is transferred.
   */
  unlockWithPrf(credentialId: string, prfOutput: ArrayBuffer): ReturnType<Vault['unlockWithPrf']>;
  terminate(): void;
}

export async function startVault(options: StartOptions, callbacks: PageCallbacks, worker?: Worker): Promise<VaultClient> {
  const w = worker ?? new Worker(new URL('../../workers/vault.worker.ts', import.meta.url), { type: 'module', name: 'vault' });
  const vault = Comlink.wrap<VaultApi>(w);
  await vault.start(options, Comlink.proxy(callbacks));
  // Clinical data must not be evicted when the device runs low on space (vault §3.2). Only the
  // page can ask (StorageManager.persist is not exposed to workers).
  const persisted = (await navigator.storage?.persist?.().catch(() => false)) ?? false;
  const inbox = new FragmentInbox(vault);
  return {
    vault,
    worker: w,
    persisted,
    receive: (link, fragment) => inbox.add(link, fragment),
    unlockWithPrf(credentialId, prfOutput) {
      const copy = new Uint8Array(prfOutput).slice();
      new Uint8Array(prfOutput).fill(0);
      return vault.unlockWithPrf(credentialId, Comlink.transfer(copy, [copy.buffer]));
    },
    terminate() {
      vault[Comlink.releaseProxy]();
      w.terminate();
    },
  };
}

interface PendingBatch {
  readonly fragments: Uint8Array[];
  readonly settled: Promise<void>;
}

/**
 * Coalesces the fragments that arrive within one task into one `receiveBatch` per link: at 8
 * sensors a request/reply per fragment was a quarter of the worker's busy time and most of the
 * page's relay work. A microtask adds no delay a user could see.
 */
class FragmentInbox {
  private readonly pending = new Map<string, { batch: PendingBatch; resolve: () => void; reject: (e: unknown) => void }>();
  private scheduled = false;

  constructor(private readonly vault: Vault) {}

  add(link: string, fragment: Uint8Array): Promise<void> {
    const own = fragment.byteOffset === 0 && fragment.byteLength === fragment.buffer.byteLength ? fragment : fragment.slice();
    let entry = this.pending.get(link);
    if (entry === undefined) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const settled = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      entry = { batch: { fragments: [], settled }, resolve, reject };
      this.pending.set(link, entry);
    }
    entry.batch.fragments.push(own);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
    return entry.batch.settled;
  }

  private flush(): void {
    this.scheduled = false;
    for (const [link, { batch, resolve, reject }] of this.pending) {
      const buffers = batch.fragments.map((f) => f.buffer as ArrayBuffer);
      this.vault.receiveBatch(link, Comlink.transfer(batch.fragments, buffers)).then(resolve, reject);
    }
    this.pending.clear();
  }
}
