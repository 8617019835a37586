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
  /** Hands a fragment from a sensor to the worker; the buffer is transferred (no copy stays here). */
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
  return {
    vault,
    worker: w,
    persisted,
    receive(link, fragment) {
      const own = fragment.byteOffset === 0 && fragment.byteLength === fragment.buffer.byteLength ? fragment : fragment.slice();
      return vault.receive(link, Comlink.transfer(own, [own.buffer]));
    },
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
