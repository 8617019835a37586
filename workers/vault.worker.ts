/**
 * The vault worker's entry (docs/vault.md): exposes `VaultService` to the page with comlink.
 * The page imports this file's `VaultApi` type with `import type` only, so no worker code — and
 * no key — ends up in the main bundle.
 *
 * Messages to the page carry only link bytes (fragments for the sensor, transferred), reading
 * view-models, vault state and security-log entries.
 */
import * as Comlink from 'comlink';
import { fromHex } from '../src/core/bytes.js';
import type { Random } from '../src/core/primitives.js';
import type { ViewBatch } from './vault/pipeline.js';
import { realScheduler } from './vault/scheduler.js';
import { VaultService, type PairResult, type VaultEvents, type VaultState } from './vault/service.js';
import { openVaultDb, VAULT_DB_NAME, type VaultDb } from './vault/db.js';
import { SyncService, type SyncView } from './sync/sync-service.js';
import { vaultTokenStorage } from './sync/token-vault.js';

const random: Random = (n) => crypto.getRandomValues(new Uint8Array(n));

const scheduler = realScheduler();

export interface StartOptions {
  /** The manufacturer CAs the app trusts: name and Ed25519 public key (hex). */
  readonly trustRoots: readonly { readonly name: string; readonly publicKey: string }[];
  readonly hubLabel: string;
  readonly dbName?: string;
  /**
   * The cloud's ingestion key list (protocol §11.3, hex) and the deployment's Ed25519 public key
   * (hex) the app pins. Without it readings stay on the device and the outbox stays empty.
   */
  readonly ingestion?: { readonly keyList: string; readonly deploymentPublicKey: string };
}

/** Sync's settings (docs/sync.md §2): the cloud origin serving `/oidc` and `/api`. */
export interface SyncOptions {
  readonly origin: string;
  readonly clientId?: string;
  readonly maxInFlight?: number;
}

/** Callbacks the page registers (wrapped with `Comlink.proxy`). */
export interface PageCallbacks {
  write(link: string, fragment: Uint8Array): void;
  view(batch: ViewBatch): void;
  vault(state: VaultState): void;
}

let service: VaultService | undefined;
let startedDbName: string = VAULT_DB_NAME;
/** Sync (docs/sync.md): configured by the page, never started by default. */
let sync: SyncService | undefined;
let syncDb: VaultDb | undefined;

function requireSync(): SyncService {
  if (sync === undefined) throw new Error('call syncConfigure() first');
  return sync;
}

// The network came back: cut any backoff short.
addEventListener('online', () => sync?.syncNow());

function requireService(): VaultService {
  if (service === undefined) throw new Error('call start() first');
  return service;
}

const api = {
  async start(options: StartOptions, page: PageCallbacks): Promise<VaultState> {
    const events: VaultEvents = {
      write: (link, fragment) => void page.write(link, Comlink.transfer(fragment, [fragment.buffer])),
      view: (batch) => void page.view(batch),
      vault: (state) => {
        void page.vault(state);
        if (state.unlocked) void sync?.afterUnlock();
      },
    };
    startedDbName = options.dbName ?? VAULT_DB_NAME;
    service?.dispose();
    service = await VaultService.start({
      random,
      scheduler,
      events,
      hubLabel: options.hubLabel,
      trustRoots: options.trustRoots.map((r) => ({ name: r.name, publicKey: fromHex(r.publicKey) })),
      ...(options.dbName !== undefined ? { dbName: options.dbName } : {}),
      ...(options.ingestion !== undefined
        ? { ingestion: { keyList: fromHex(options.ingestion.keyList), deploymentPublicKey: fromHex(options.ingestion.deploymentPublicKey) } }
        : {}),
    });
    return service.state();
  },
  state: () => requireService().state(),
  create: (passphrase?: string) => requireService().create(passphrase),
  unlockWithPassphrase: (passphrase: string) => requireService().unlockWithPassphrase(passphrase),
  unlockWithRecoveryCode: (code: string) => requireService().unlockWithRecoveryCode(code),
  unlockWithPrf: (credentialId: string, prfOutput: Uint8Array) => requireService().unlockWithPrf(credentialId, prfOutput),
  lock: () => requireService().lock(),
  touch: () => requireService().touch(),
  setAutoLock: (ms: number) => requireService().setAutoLock(ms),
  changePassphrase: (oldPassphrase: string, newPassphrase: string) => requireService().changePassphrase(oldPassphrase, newPassphrase),
  preparePasskey: () => requireService().preparePasskey(),
  addPasskey: (credentialId: string, prfOutput: Uint8Array, label: string) => requireService().addPasskey(credentialId, prfOutput, label),
  removeMethod: (id: string) => requireService().removeMethod(id),
  regenerateRecoveryCode: () => requireService().regenerateRecoveryCode(),
  openLink: (link: string, attMtu: number) => requireService().openLink(link, attMtu),
  closeLink: (link: string) => requireService().closeLink(link),
  /** A fragment from the sensor's `data` characteristic, transferred. */
  receive: (link: string, fragment: Uint8Array) => requireService().receive(link, fragment),
  /**
   * Fragments from one link, in arrival order, transferred in one message: the page coalesces
   * what arrives in one task, so a burst costs one round trip instead of one per fragment.
   */
  receiveBatch: (link: string, fragments: readonly Uint8Array[]) => {
    const s = requireService();
    for (const f of fragments) s.receive(link, f);
  },
  pair: (link: string, input: { setupCode?: string; qr?: string }): PairResult => requireService().pair(link, input),
  reconnect: (link: string, deviceId: string) => requireService().reconnect(link, deviceId),
  retryStorage: () => requireService().retryStorage(),
  bonds: () => requireService().bonds(),
  forget: (deviceId: string) => requireService().forget(deviceId),
  nameSensor: (deviceId: string, name?: string, patient?: string) => requireService().nameSensor(deviceId, name, patient),
  latest: (deviceId: string) => requireService().latest(deviceId),
  history: (deviceId: string, fromMs: number, toMs: number) => requireService().history(deviceId, fromMs, toMs),
  securityLog: (fromMs?: number, toMs?: number) => requireService().securityLog(fromMs, toMs),
  /** The sealed outbox (protocol §11), for sync: works while the vault is locked. */
  outboxStats: () => requireService().outboxStats(),
  takeOutbox: async (limit: number) => {
    const entries = await requireService().takeOutbox(limit);
    return Comlink.transfer(entries, entries.map((e) => e.sealed.buffer as ArrayBuffer));
  },
  ackOutbox: (batchIds: readonly string[]) => requireService().ackOutbox(batchIds),
  recordOutboxAttempt: (batchIds: readonly string[]) => requireService().recordOutboxAttempt(batchIds),
  /**
   * Sync (docs/sync.md): set up against the cloud origin; nothing is sent before `syncStart`.
   * Every answer is a `SyncView` or an authorization URL: tokens never leave this worker.
   */
  async syncConfigure(options: SyncOptions, onState?: (view: SyncView) => void): Promise<SyncView> {
    sync?.dispose();
    syncDb?.close();
    syncDb = await openVaultDb(startedDbName);
    const origin = new URL(options.origin);
    sync = new SyncService({
      origin: origin.origin,
      ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
      ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
      outbox: {
        take: (limit) => requireService().takeOutbox(limit),
        ack: (ids) => requireService().ackOutbox(ids),
        stats: () => requireService().outboxStats(),
      },
      // The stored refresh token opens with the vault's storage secret key; until the vault
      // service lends it (docs/sync.md §8), a session lasts as long as this worker.
      storage: vaultTokenStorage(syncDb, { random, storageSecretKey: async () => undefined }),
      scheduler,
      random: () => (crypto.getRandomValues(new Uint32Array(1))[0] ?? 0) / 2 ** 32,
      fetch: (url, init) => fetch(url, init),
      allowInsecureLoopback: ['127.0.0.1', 'localhost', '[::1]'].includes(origin.hostname),
      // One window of the app syncs at a time (docs/sync.md §5.3).
      ...('locks' in navigator ? { exclusive: (hold: () => Promise<void>) => navigator.locks.request('vitalock-sync', hold) } : {}),
      ...(onState !== undefined ? { onState: (view: SyncView) => void onState(view) } : {}),
    });
    return sync.view();
  },
  syncState: () => requireSync().view(),
  /** The URL to open for signing in; the PKCE verifier, state and nonce stay here. */
  syncBeginSignIn: () => requireSync().beginSignIn(),
  syncCompleteSignIn: (callbackUrl: string) => requireSync().completeSignIn(callbackUrl),
  syncStart: () => requireSync().start(),
  syncStop: () => requireSync().stop(),
  syncNow: () => requireSync().syncNow(),
  syncSignOut: () => requireSync().signOut(),
};

/**
 * Development builds only (the test server): moves the worker's clock forward, since
 * `page.clock` does not reach workers. Absent from production builds.
 */
const testHooks = import.meta.env.DEV ? { advanceClock: (ms: number) => scheduler.advance(ms) } : {};

export type VaultApi = typeof api & { advanceClock?: (ms: number) => void };

Comlink.expose({ ...api, ...testHooks });
