/**
 * `<vl-unlock>`: opens the vault (docs/vault.md §1.5) with the passphrase, a passkey or the
 * recovery code. After wrong passphrases the vault waits longer before each try; this screen
 * says how long, and counts down.
 *
 * @fires none — the vault's state change takes the app to its next screen.
 */
import { consume } from '@lit/context';
import { Task } from '@lit/task';
import { LitElement, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import type { UnlockResult } from '../../../workers/vault/keyring.js';
import { ClockController } from '../controllers/clock-controller.js';
import { unlockProblem, type Problem } from '../model/problems.js';
import { vaultContext } from '../services/context.js';
import { PasskeyError } from '../services/passkeys.js';
import type { VaultSession } from '../services/vault-session.js';
import { baseStyles } from '../styles.js';

type Method = 'passphrase' | 'passkey' | 'recovery';

@customElement('vl-unlock')
export class VlUnlock extends LitElement {
  static override styles = [baseStyles];

  @consume({ context: vaultContext }) vault!: VaultSession;
  @state() private method: Method | undefined;
  @state() private problem: Problem | undefined;
  @state() private waitUntil = 0;
  private readonly clock = new ClockController(this, 500);

  private readonly unlock = new Task(this, {
    autoRun: false,
    task: async ([method, secret]: [Method, string]) => {
      let result: UnlockResult;
      try {
        if (method === 'passkey') result = await this.vault.unlockWithPasskey();
        else if (method === 'recovery') result = await this.vault.unlockWithRecoveryCode(secret);
        else result = await this.vault.unlockWithPassphrase(secret);
      } catch (err) {
        this.problem =
          err instanceof PasskeyError
            ? { title: err.message, action: 'Use your passphrase or recovery code instead.' }
            : { title: 'The passkey was not used.', action: 'Try again, or use your passphrase or recovery code.' };
        return;
      }
      if (result.ok) {
        this.problem = undefined;
        return;
      }
      this.waitUntil = Date.now() + result.retryAfterMs;
      this.problem = unlockProblem(result.reason, result.retryAfterMs, result.problem, result.group);
    },
  });

  /** At 3 a.m. the first thing to do is type: the field has the focus. */
  protected override firstUpdated(): void {
    this.renderRoot.querySelector<HTMLInputElement>('#secret')?.focus();
  }

  private methods(): Method[] {
    const kinds = new Set((this.vault.state?.methods ?? []).map((m) => m.kind));
    const out: Method[] = [];
    if (kinds.has('passphrase')) out.push('passphrase');
    if (kinds.has('passkey')) out.push('passkey');
    out.push('recovery');
    return out;
  }

  override render() {
    const methods = this.methods();
    const method = this.method ?? methods[0] ?? 'recovery';
    const waitS = Math.max(0, Math.ceil((this.waitUntil - this.clock.now) / 1000));
    const busy = this.unlock.status === 1;
    return html`
      <h1>Unlock Vitalock</h1>
      <p>Sensors keep recording while the app is locked.</p>
      <div class="row" role="group" aria-label="How to unlock">
        ${methods.map(
          (m) => html`<button class=${m === method ? '' : 'secondary'} aria-pressed=${m === method ? 'true' : 'false'} @click=${() => this.choose(m)}>${LABEL[m]}</button>`,
        )}
      </div>
      <form class="card" @submit=${(e: SubmitEvent) => this.onSubmit(e, method)} novalidate>
        ${method === 'passphrase'
          ? html`<label for="secret">Passphrase</label><input id="secret" name="secret" type="password" autocomplete="current-password" />`
          : method === 'recovery'
            ? html`<label for="secret">Recovery code</label
                ><input id="secret" name="secret" class="mono" autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX" />`
            : html`<p>Use the passkey you set up: fingerprint, face or screen lock.</p>`}
        ${this.problem
          ? html`<div class="problem" role="alert"><strong>${this.problem.title}</strong>${waitS > 0 ? `Wait ${waitS} seconds before the next try.` : this.problem.action}</div>`
          : nothing}
        <div class="row">
          <button type="submit" ?disabled=${busy || waitS > 0}>${busy ? 'Unlocking…' : waitS > 0 ? `Wait ${waitS} s` : 'Unlock'}</button>
        </div>
      </form>
    `;
  }

  private choose(method: Method): void {
    this.method = method;
    this.problem = undefined;
  }

  private onSubmit(e: SubmitEvent, method: Method): void {
    e.preventDefault();
    const secret = String(new FormData(e.target as HTMLFormElement).get('secret') ?? '');
    if (method !== 'passkey' && secret.trim() === '') {
      this.problem = { title: method === 'passphrase' ? 'Type the passphrase.' : 'Type the recovery code.', action: '' };
      return;
    }
    void this.unlock.run([method, secret]);
  }
}

const LABEL: Record<Method, string> = { passphrase: 'Passphrase', passkey: 'Passkey', recovery: 'Recovery code' };

declare global {
  interface HTMLElementTagNameMap {
    'vl-unlock': VlUnlock;
  }
}
