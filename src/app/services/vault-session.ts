/**
 * The app's handle on the vault (docs/vault.md): starts the vault worker through
 * `vault-client.ts`, keeps its state for the screens, and wraps the calls the screens make. The
 * worker holds every key; this class holds only what the worker chose to show (state, bonds,
 * view-models). Changes are announced with a `change` event.
 */
import type { PageCallbacks } from '../../../workers/vault.worker.js';
import type { BondView, PairResult, VaultState } from '../../../workers/vault/service.js';
import type { UnlockResult } from '../../../workers/vault/keyring.js';
import type { AppConfig } from '../config.js';
import { startVault, type Vault, type VaultClient } from '../vault-client.js';
import { createPasskey, evaluatePasskey } from './passkeys.js';

/** Activity postpones auto-lock; telling the worker more often than this is pointless. */
const TOUCH_EVERY_MS = 10_000;

export class VaultSession extends EventTarget {
  state: VaultState | undefined;
  persisted = false;
  /** First run in progress: the recovery code is on screen until the user confirms it. */
  settingUp = false;
  private client: VaultClient | undefined;
  private lastTouch = 0;

  /** Starts the worker. `callbacks` route link bytes and view batches to the sensor hub. */
  async start(config: AppConfig, callbacks: Pick<PageCallbacks, 'write' | 'view'>): Promise<void> {
    this.client = await startVault(
      { trustRoots: config.trustRoots, hubLabel: config.hubLabel },
      {
        write: (link, fragment) => callbacks.write(link, fragment),
        view: (batch) => callbacks.view(batch),
        vault: (state) => this.setState(state),
      },
    );
    this.persisted = this.client.persisted;
    this.setState(await this.client.vault.state());
  }

  get vault(): Vault {
    if (this.client === undefined) throw new Error('the vault has not started');
    return this.client.vault;
  }

  get started(): boolean {
    return this.client !== undefined;
  }

  get unlocked(): boolean {
    return this.state?.unlocked === true;
  }

  receive(link: string, fragment: Uint8Array): void {
    void this.client?.receive(link, fragment).catch(() => undefined);
  }

  async create(passphrase: string | undefined): Promise<string> {
    this.settingUp = true;
    const { recoveryCode } = await this.vault.create(passphrase);
    await this.refresh();
    return recoveryCode;
  }

  /** The recovery code is written down: on to the app. */
  finishSetup(): void {
    this.settingUp = false;
    this.dispatchEvent(new Event('change'));
  }

  async unlockWithPassphrase(passphrase: string): Promise<UnlockResult> {
    return this.after(await this.vault.unlockWithPassphrase(passphrase));
  }

  async unlockWithRecoveryCode(code: string): Promise<UnlockResult> {
    return this.after(await this.vault.unlockWithRecoveryCode(code));
  }

  /** Asks the platform for a passkey of this vault (a user gesture must be running). */
  async unlockWithPasskey(): Promise<UnlockResult> {
    const passkeys = (this.state?.methods ?? []).filter((m) => m.kind === 'passkey' && m.credentialId !== undefined && m.prfSalt !== undefined);
    const { credentialId, prf } = await evaluatePasskey(passkeys.map((m) => ({ credentialId: m.credentialId as string, salt: m.prfSalt as Uint8Array })));
    if (this.client === undefined) throw new Error('the vault has not started');
    return this.after(await this.client.unlockWithPrf(credentialId, prf));
  }

  async addPasskey(label: string): Promise<void> {
    const salt = await this.vault.preparePasskey();
    const { credentialId, prf } = await createPasskey(new Uint8Array(salt), label);
    const output = new Uint8Array(prf).slice();
    new Uint8Array(prf).fill(0);
    await this.vault.addPasskey(credentialId, output, label);
    output.fill(0);
    await this.refresh();
  }

  lock(): void {
    void this.vault.lock();
  }

  /** The user did something: postpones auto-lock (throttled). */
  touch(): void {
    const now = Date.now();
    if (!this.unlocked || now - this.lastTouch < TOUCH_EVERY_MS) return;
    this.lastTouch = now;
    void this.vault.touch();
  }

  async setAutoLock(ms: number): Promise<void> {
    await this.vault.setAutoLock(ms);
    await this.refresh();
  }

  async changePassphrase(oldPassphrase: string, newPassphrase: string): Promise<UnlockResult> {
    return this.vault.changePassphrase(oldPassphrase, newPassphrase);
  }

  bonds(): Promise<BondView[]> {
    return this.vault.bonds();
  }

  pair(link: string, input: { setupCode?: string; qr?: string }): Promise<PairResult> {
    return this.vault.pair(link, input);
  }

  private async after(result: UnlockResult): Promise<UnlockResult> {
    await this.refresh();
    return result;
  }

  private async refresh(): Promise<void> {
    this.setState(await this.vault.state());
  }

  private setState(state: VaultState): void {
    this.state = state;
    this.dispatchEvent(new Event('change'));
  }
}
