/**
 * `<vl-settings>`: auto-lock time, passkeys, and the sensors paired with this device — each can
 * be forgotten, which removes the bond on both sides (UNBOND now, or at the sensor's next
 * connection when it is away). Readings already saved are kept.
 *
 * @fires none
 */
import { consume } from '@lit/context';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { DEMO_DISCLAIMER } from '../../core/demo-link.js';
import type { BondView } from '../../../workers/vault/service.js';
import type { AppConfig } from '../config.js';
import { ChangeController } from '../controllers/change-controller.js';
import { dateOnly, duration } from '../model/format.js';
import { configContext, hubContext, vaultContext } from '../services/context.js';
import { passkeysSupported } from '../services/passkeys.js';
import type { SensorHub } from '../services/sensor-hub.js';
import type { VaultSession } from '../services/vault-session.js';
import { baseStyles } from '../styles.js';

const AUTO_LOCK_MINUTES = [1, 2, 5, 10, 15, 30, 60];

@customElement('vl-settings')
export class VlSettings extends LitElement {
  static override styles = [
    baseStyles,
    css`
      .sensor {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: center;
        justify-content: space-between;
      }
      select {
        max-width: 16rem;
      }
    `,
  ];

  @consume({ context: vaultContext }) vault!: VaultSession;
  @consume({ context: hubContext }) hub!: SensorHub;
  @consume({ context: configContext }) config!: AppConfig;
  @state() private confirming: string | undefined;
  @state() private message = '';
  private readonly vaultChanges = new ChangeController(this, () => this.vault);
  private readonly hubChanges = new ChangeController(this, () => this.hub);

  override render() {
    const autoLockMs = this.vault.state?.autoLockMs ?? 5 * 60_000;
    const passkeys = (this.vault.state?.methods ?? []).filter((m) => m.kind === 'passkey');
    return html`
      <h1>Settings</h1>
      ${this.message ? html`<p class="notice" role="status">${this.message}</p>` : nothing}
      <section class="card">
        <h2>Lock</h2>
        <label for="autolock">Lock automatically after</label>
        <select id="autolock" @change=${this.onAutoLock}>
          ${AUTO_LOCK_MINUTES.map((m) => html`<option value=${m} ?selected=${m * 60_000 === autoLockMs}>${duration(m * 60_000)} without use</option>`)}
        </select>
        <p class="hint">Sensors keep recording while the app is locked.</p>
        <div class="row"><button class="secondary" @click=${() => this.vault.lock()}>Lock now</button></div>
      </section>
      <section class="card">
        <h2>Passkeys</h2>
        <p>${passkeys.length === 0 ? 'No passkey yet.' : passkeys.map((p) => p.label ?? 'Passkey').join(', ')}</p>
        ${passkeysSupported() ? html`<div class="row"><button class="secondary" @click=${this.onAddPasskey}>Add a passkey</button></div>` : html`<p class="hint">This browser has no passkeys.</p>`}
      </section>
      <section class="card">
        <h2>Paired sensors</h2>
        ${this.hub.bonds.length === 0 ? html`<p>No sensor is paired.</p>` : this.hub.bonds.map((b) => this.renderBond(b))}
      </section>
      <section class="card">
        <h2>This device</h2>
        <p>${this.vault.persisted ? 'Storage is persistent: the browser will not clear the readings to free space.' : 'The browser may clear stored data when space runs low. Install the app to keep it.'}</p>
        ${this.config.demoMode ? html`<p>Demo mode is on: simulated sensors are available. ${DEMO_DISCLAIMER}.</p>` : nothing}
      </section>
    `;
  }

  private renderBond(b: BondView) {
    const name = this.hub.displayName(b.deviceId);
    return html`<div class="sensor">
      <div>
        <strong>${name}</strong>${this.hub.isSimulated(b.deviceId) ? html` <span class="badge simulated">Simulated</span>` : nothing}<br />
        <span class="hint">${b.manufacturer} · ${b.model} · serial ${b.serial} · certificate valid until ${dateOnly(b.validUntil)}</span>
        ${b.forgetting ? html`<br /><span>Will be unpaired when it next connects.</span>` : nothing}
      </div>
      ${b.forgetting
        ? nothing
        : this.confirming === b.deviceId
          ? html`<div class="row" role="group" aria-label="Confirm forgetting ${name}">
              <span>Forget ${name}? It needs its setup code to pair again. Saved readings are kept.</span>
              <button class="danger" @click=${() => void this.forget(b.deviceId)}>Forget it</button>
              <button class="secondary" @click=${() => (this.confirming = undefined)}>Keep it</button>
            </div>`
          : html`<button class="secondary" @click=${() => (this.confirming = b.deviceId)}>Forget…</button>`}
    </div>`;
  }

  private async forget(deviceId: string): Promise<void> {
    const name = this.hub.displayName(deviceId);
    this.confirming = undefined;
    try {
      const result = await this.hub.forget(deviceId);
      this.message =
        result === 'unbonded'
          ? `${name} is forgotten on both sides.`
          : result === 'pending'
            ? `${name} will be unpaired the next time it connects; until then it is hidden.`
            : `${name} was already forgotten.`;
    } catch {
      this.message = `${name} could not be forgotten. Unlock the app and try again.`;
    }
  }

  private async onAutoLock(e: Event): Promise<void> {
    const minutes = Number((e.target as HTMLSelectElement).value);
    await this.vault.setAutoLock(minutes * 60_000);
    this.message = `The app now locks after ${duration(minutes * 60_000)} without use.`;
  }

  private async onAddPasskey(): Promise<void> {
    try {
      await this.vault.addPasskey('Vitalock passkey');
      this.message = 'Passkey added: you can unlock with it.';
    } catch {
      this.message = 'The passkey was not added. Try again, or keep using the passphrase.';
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-settings': VlSettings;
  }
}
