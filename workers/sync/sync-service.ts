/**
 * Sync in the vault worker (docs/sync.md §2): the OAuth client (`auth.ts`) and the uploader
 * (`uploader.ts`) over the sealed outbox, behind the few calls the worker exposes to the page.
 *
 * Sync does not start by itself: the app calls `start()` once the user has signed in and chosen
 * to sync. From then on it resumes after an unlock, a sign-in or the network coming back; it
 * stops on sign-out or when the server refuses the session, always keeping the outbox.
 *
 * What reaches the page (`SyncView`) is counts, times and problems in words — never a token.
 */
import type { Scheduler } from '../vault/pipeline.js';
import { SyncAuth, type AuthState, type AuthStorage } from './auth.js';
import type { BackoffPolicy } from './backoff.js';
import type { OutboxPort, Transport } from './upload-ports.js';
import { Uploader, type SyncState } from './uploader.js';

export interface SyncServiceOptions {
  /** The cloud's origin: the app, `/oidc` and `/api` are served from it. */
  readonly origin: string;
  readonly clientId?: string;
  readonly redirectPath?: string;
  readonly outbox: OutboxPort;
  readonly storage: AuthStorage;
  readonly scheduler: Scheduler;
  /** Uniform in [0, 1), for the backoff's jitter. */
  readonly random: () => number;
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
  readonly onState?: (view: SyncView) => void;
  readonly maxInFlight?: number;
  readonly requestTimeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Development and tests: plain http to a loopback origin. */
  readonly allowInsecureLoopback?: boolean;
  /**
   * Runs `hold` while this worker is the one that syncs (in the worker: a Web Lock). Each tab has
   * its own worker; two of them refreshing one stored session would look like refresh-token reuse
   * and revoke it. `hold` resolves when sync should let go.
   */
  readonly exclusive?: (hold: () => Promise<void>) => Promise<unknown>;
}

export interface SyncView {
  /** The user asked to sync (`start`) and has not stopped it. */
  readonly enabled: boolean;
  /** Enabled, but another window of the app is syncing: this one waits for it to stop. */
  readonly otherWindowSyncing: boolean;
  readonly auth: AuthState;
  readonly upload: SyncState;
}

export class SyncService {
  readonly auth: SyncAuth;
  readonly uploader: Uploader;
  private enabled = false;
  private lock: 'waiting' | 'held' | undefined;
  private releaseLock: (() => void) | undefined;

  constructor(private readonly options: SyncServiceOptions) {
    const origin = options.origin.replace(/\/+$/, '');
    this.auth = new SyncAuth({
      config: { issuer: `${origin}/oidc`, clientId: options.clientId ?? 'vitalock-app', redirectUri: `${origin}${options.redirectPath ?? '/auth/callback'}`, resource: `${origin}/api` },
      storage: options.storage,
      now: options.scheduler.now,
      fetch: options.fetch,
      ...(options.allowInsecureLoopback !== undefined ? { allowInsecureLoopback: options.allowInsecureLoopback } : {}),
      onChange: () => this.emit(),
    });
    const transport: Transport = (url, init) =>
      options.fetch(url, {
        method: init.method,
        headers: init.headers,
        body: init.body as Uint8Array<ArrayBuffer>,
        signal: init.signal,
        // The API takes DPoP tokens only: no cookies, no cache, no redirect to follow.
        credentials: 'omit',
        cache: 'no-store',
        redirect: 'error',
      });
    this.uploader = new Uploader({
      endpoint: `${origin}/api/ingest`,
      transport,
      outbox: options.outbox,
      tokens: this.auth,
      scheduler: options.scheduler,
      random: options.random,
      ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.backoff !== undefined ? { backoff: options.backoff } : {}),
      onState: () => this.emit(),
    });
  }

  view(): SyncView {
    return { enabled: this.enabled, otherWindowSyncing: this.enabled && this.lock === 'waiting', auth: this.auth.state(), upload: this.uploader.state() };
  }

  /** The authorization URL for the page to open (a redirect or a pop-up). */
  beginSignIn(): Promise<string> {
    return this.auth.beginSignIn();
  }

  /** The callback URL the provider sent the browser to; resumes sync if it is enabled. */
  async completeSignIn(callbackUrl: string): Promise<SyncView> {
    await this.auth.completeSignIn(callbackUrl);
    if (this.mayRun()) this.uploader.start();
    return this.view();
  }

  /** Turns sync on (picking up a stored session if the vault is unlocked). */
  async start(): Promise<SyncView> {
    this.enabled = true;
    const exclusive = this.options.exclusive;
    if (exclusive === undefined) await this.run();
    else if (this.lock === undefined) {
      this.lock = 'waiting';
      void exclusive(
        () =>
          new Promise<void>((release) => {
            this.lock = 'held';
            this.releaseLock = release;
            void this.run();
          }),
      );
    } else if (this.lock === 'held') await this.run();
    this.emit();
    return this.view();
  }

  stop(): SyncView {
    this.enabled = false;
    this.uploader.stop();
    this.letGo();
    return this.view();
  }

  /** "Sync now", the network came back, or new batches: cuts a backoff short. */
  syncNow(): void {
    if (this.mayRun() && !this.uploader.isRunning && this.auth.state().status === 'signed-in') this.uploader.start();
    this.uploader.notify({ wake: true });
  }

  /** New batches in the outbox. */
  notify(): void {
    this.uploader.notify();
  }

  /** After an unlock: a stored session can be read now. */
  async afterUnlock(): Promise<void> {
    if (this.mayRun() && (await this.auth.resume()) && !this.uploader.isRunning) this.uploader.start();
  }

  /** Signs out; the outbox is kept for the next sign-in. */
  async signOut(): Promise<SyncView> {
    this.uploader.stop();
    await this.auth.signOut();
    this.letGo();
    return this.view();
  }

  dispose(): void {
    this.uploader.stop();
    this.letGo();
  }

  /** Sync is on, and this worker holds the right to sync (or no one arbitrates). */
  private mayRun(): boolean {
    return this.enabled && (this.options.exclusive === undefined || this.lock === 'held');
  }

  private async run(): Promise<void> {
    if (!this.mayRun()) return this.letGo();
    await this.auth.resume();
    if (this.mayRun()) this.uploader.start();
    this.emit();
  }

  private letGo(): void {
    // A request still waiting for the lock is let go as soon as it is granted (`run`).
    if (this.lock !== 'held') return;
    this.lock = undefined;
    this.releaseLock?.();
    this.releaseLock = undefined;
  }

  private emit(): void {
    this.options.onState?.(this.view());
  }
}
