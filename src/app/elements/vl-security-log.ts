/**
 * `<vl-security-log>`: what the vault recorded about security (docs/vault.md §2.1 `security`):
 * pairings and failed pairings, rejected replays and forged messages, unknown devices,
 * certificate refusals, locks and unlocks — newest first, in plain words.
 *
 * @fires none
 */
import { consume } from '@lit/context';
import { Task } from '@lit/task';
import { LitElement, html, nothing } from 'lit';
import { customElement } from 'lit/decorators.js';
import { dateTime } from '../model/format.js';
import { securityEventTitle } from '../model/security-events.js';
import { vaultContext } from '../services/context.js';
import type { VaultSession } from '../services/vault-session.js';
import { baseStyles } from '../styles.js';

const SHOWN = 500;

@customElement('vl-security-log')
export class VlSecurityLog extends LitElement {
  static override styles = [baseStyles];

  @consume({ context: vaultContext }) vault!: VaultSession;

  private readonly log = new Task(this, {
    task: async () => (await this.vault.vault.securityLog()).sort((a, b) => b.atMs - a.atMs || b.id - a.id).slice(0, SHOWN),
    args: () => [],
  });

  override render() {
    return html`
      <h1>Security log</h1>
      <p class="hint">Kept encrypted on this device. Shows the newest ${SHOWN} events.</p>
      <div class="row"><button class="secondary" @click=${() => void this.log.run()}>Refresh</button></div>
      ${this.log.render({
        pending: () => html`<p role="status">Loading…</p>`,
        error: () => html`<div class="problem" role="alert"><strong>The log could not be read.</strong>If the app locked, unlock it and try again.</div>`,
        complete: (events) =>
          events.length === 0
            ? html`<p>Nothing recorded yet.</p>`
            : html`<table>
                <thead><tr><th scope="col">When</th><th scope="col">What happened</th></tr></thead>
                <tbody>
                  ${events.map(
                    (e) => html`<tr><td>${dateTime(e.atMs)}</td><td><strong>${securityEventTitle(e.kind)}</strong>${e.detail ? html`<br />${e.detail}` : nothing}</td></tr>`,
                  )}
                </tbody>
              </table>`,
      })}
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-security-log': VlSecurityLog;
  }
}
