/**
 * `<vl-first-run>`: creates the vault (docs/vault.md §1): a passphrase and/or a passkey, then
 * the recovery code, shown once, with a check that it has been written down.
 *
 * @fires none — the app moves on when the vault session reports setup finished.
 */
import { consume } from '@lit/context';
import { Task } from '@lit/task';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { passkeysSupported } from '../services/passkeys.js';
import { vaultContext } from '../services/context.js';
import type { VaultSession } from '../services/vault-session.js';
import { baseStyles } from '../styles.js';

const MIN_PASSPHRASE = 10;

@customElement('vl-first-run')
export class VlFirstRun extends LitElement {
  static override styles = [
    baseStyles,
    css`
      .code {
        font-size: 1.6rem;
        letter-spacing: 0.08em;
        word-break: break-word;
        padding: 1rem;
        border: 3px dashed var(--vl-accent);
        border-radius: 0.75rem;
        background: var(--vl-field);
      }
    `,
  ];

  @consume({ context: vaultContext }) vault!: VaultSession;
  @state() private step: 'form' | 'recovery' = 'form';
  @state() private problem = '';
  @state() private recoveryCode = '';
  @state() private confirmed = false;
  @state() private confirmProblem = false;

  private readonly create = new Task(this, {
    autoRun: false,
    task: async ([passphrase, withPasskey]: [string | undefined, boolean]) => {
      const code = await this.vault.create(passphrase);
      let passkeyProblem = '';
      if (withPasskey) {
        try {
          await this.vault.addPasskey('Vitalock passkey');
        } catch {
          passkeyProblem = 'The passkey was not added. You can add one later in Settings.';
        }
      }
      this.recoveryCode = code;
      this.problem = passkeyProblem;
      this.step = 'recovery';
    },
  });

  override render() {
    return this.step === 'form' ? this.renderForm() : this.renderRecovery();
  }

  private renderForm() {
    const canPasskey = passkeysSupported();
    return html`
      <h1>Set up Vitalock</h1>
      <p>Readings are kept encrypted on this device. Choose how you will unlock them.</p>
      <form class="card" @submit=${this.onSubmit} novalidate>
        <label for="pass">Passphrase</label>
        <input id="pass" name="pass" type="password" autocomplete="new-password" aria-describedby="pass-hint" />
        <p class="hint" id="pass-hint">At least ${MIN_PASSPHRASE} characters. A few unrelated words are easy to type and hard to guess.</p>
        <label for="pass2">Type the passphrase again</label>
        <input id="pass2" name="pass2" type="password" autocomplete="new-password" />
        ${canPasskey
          ? html`<label class="check"><input type="checkbox" name="passkey" /> Also unlock with a passkey (fingerprint, face or screen lock)</label>
              <p class="hint">With a passkey you may leave the passphrase empty.</p>`
          : nothing}
        ${this.problem ? html`<div class="problem" role="alert">${this.problem}</div>` : nothing}
        <div class="row">
          <button type="submit" ?disabled=${this.create.status === 1}>${this.create.status === 1 ? 'Creating… (a few seconds)' : 'Create vault'}</button>
        </div>
        ${this.create.render({ error: () => html`<div class="problem" role="alert"><strong>The vault could not be created.</strong>Reload the page and try again.</div>` })}
      </form>
    `;
  }

  private onSubmit(e: SubmitEvent): void {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const pass = String(form.get('pass') ?? '');
    const pass2 = String(form.get('pass2') ?? '');
    const withPasskey = form.get('passkey') === 'on';
    if (pass === '' && !withPasskey) {
      this.problem = 'Choose a passphrase (or a passkey) to protect the readings.';
      return;
    }
    if (pass !== '' && pass.length < MIN_PASSPHRASE) {
      this.problem = `The passphrase is too short: use at least ${MIN_PASSPHRASE} characters.`;
      return;
    }
    if (pass !== pass2) {
      this.problem = 'The two passphrases are different. Type them again.';
      return;
    }
    this.problem = '';
    void this.create.run([pass === '' ? undefined : pass, withPasskey]);
  }

  private renderRecovery() {
    return html`
      <h1>Write down your recovery code</h1>
      <p>If the passphrase is forgotten, this code is the only way to open the readings. It is shown <strong>only once</strong>.</p>
      <p class="code mono" aria-label="Recovery code">${this.recoveryCode}</p>
      <p class="hint">Write it on paper and keep it somewhere safe, away from this device. Letters and digits; the dashes do not matter.</p>
      ${this.problem ? html`<div class="notice" role="status">${this.problem}</div>` : nothing}
      <label class="check"><input type="checkbox" .checked=${this.confirmed} @change=${(e: Event) => (this.confirmed = (e.target as HTMLInputElement).checked)} /> I have written the recovery code down</label>
      ${this.confirmProblem && !this.confirmed ? html`<div class="problem" role="alert">Tick the box once the code is written down.</div>` : nothing}
      <div class="row"><button @click=${this.onDone}>Continue</button></div>
    `;
  }

  private onDone(): void {
    if (!this.confirmed) {
      this.confirmProblem = true;
      return;
    }
    this.recoveryCode = '';
    location.hash = '#/sensors';
    this.vault.finishSetup();
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-first-run': VlFirstRun;
  }
}
