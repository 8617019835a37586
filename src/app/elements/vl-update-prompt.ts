/**
 * `<vl-update-prompt>`: tells the user when the app works offline, and when a new version is
 * ready — switching only when they choose (a nurse mid-task is not interrupted).
 *
 * @fires none — it calls the app shell.
 */
import { consume } from '@lit/context';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { ChangeController } from '../controllers/change-controller.js';
import type { AppShell } from '../services/app-shell.js';
import { shellContext } from '../services/context.js';
import { baseStyles } from '../styles.js';

@customElement('vl-update-prompt')
export class VlUpdatePrompt extends LitElement {
  static override styles = [
    baseStyles,
    css`
      .toast {
        position: fixed;
        left: 1rem;
        right: 1rem;
        bottom: 1rem;
        max-width: 32rem;
        margin: 0 auto;
        background: var(--vl-surface);
        border: 2px solid var(--vl-accent);
        border-radius: 0.9rem;
        padding: 0.75rem 1rem;
        box-shadow: 0 6px 24px rgb(0 0 0 / 30%);
      }
      /* Information only: in the flow, under the screen, never over a control. */
      .note {
        max-width: 60rem;
        margin: 0 auto 1rem;
        padding: 0 1rem;
      }
    `,
  ];

  @consume({ context: shellContext, subscribe: true }) shell!: AppShell;
  @state() private readyDismissed = false;
  private readyTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly changes = new ChangeController(this, () => this.shell);

  override render() {
    if (this.shell?.updateWaiting) {
      return html`<div class="toast" role="status">
        <p><strong>A new version of Vitalock is ready.</strong></p>
        <div class="row">
          <button @click=${() => this.shell.applyUpdate()}>Update now</button>
          <button class="secondary" @click=${() => this.shell.dismissUpdate()}>Later</button>
        </div>
      </div>`;
    }
    if (this.shell?.offlineReady && !this.readyDismissed) {
      // A passing note: it goes away by itself.
      this.readyTimer ??= setTimeout(() => (this.readyDismissed = true), 8_000);
      return html`<div class="note"><p class="notice" role="status">Vitalock now works offline on this device.</p></div>`;
    }
    return nothing;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-update-prompt': VlUpdatePrompt;
  }
}
