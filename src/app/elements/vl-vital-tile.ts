/**
 * `<vl-vital-tile>`: one vital sign, big: the value with its unit, its name, how long ago it was
 * measured, and an out-of-range alert in words (not only colour). `data-reading-time` carries
 * the reading's time, which the app benchmark reads to time "sent → on screen".
 *
 * @csspart value - the number
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { timeSince } from '../model/format.js';
import type { AlertLevel } from '../model/vital-signs.js';
import { baseStyles } from '../styles.js';

@customElement('vl-vital-tile')
export class VlVitalTile extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
        background: var(--vl-surface);
        border: 2px solid var(--vl-border);
        border-radius: 0.9rem;
        padding: 0.75rem 1rem;
      }
      :host([alert]) {
        border-color: var(--vl-danger);
        background: var(--vl-danger-bg);
      }
      .name {
        font-weight: 700;
        margin: 0;
      }
      .value {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        column-gap: 0.35rem;
        font-size: var(--vl-tile-size, 2.75rem);
        font-weight: 800;
        line-height: 1.1;
        font-variant-numeric: tabular-nums;
        margin: 0.1rem 0;
        overflow-wrap: anywhere;
      }
      .unit {
        font-size: 1.1rem;
        font-weight: 600;
      }
      .meta {
        color: var(--vl-muted);
        font-size: 0.95rem;
        margin: 0;
      }
      .alert {
        color: var(--vl-danger-text);
        font-weight: 800;
        margin: 0.25rem 0 0;
      }
    `,
  ];

  @property() name = '';
  @property() value: string | undefined;
  @property() unit = '';
  @property({ type: Number, attribute: 'data-reading-time', reflect: true }) readingTime: number | undefined;
  @property({ type: Number }) now = Date.now();
  @property() level: AlertLevel = 'normal';
  @property() alertText = '';
  @property({ type: Boolean }) questionable = false;

  override updated(): void {
    this.toggleAttribute('alert', this.level !== 'normal');
  }

  override render() {
    const has = this.value !== undefined;
    return html`
      <div role="group" aria-label=${this.name}>
        <p class="name">${this.name}</p>
        <p class="value" part="value"><span>${has ? this.value : '—'}</span><span class="unit">${this.unit}</span></p>
        ${this.level !== 'normal' ? html`<p class="alert" role="status">⚠ ${this.alertText}</p>` : nothing}
        <p class="meta">${has && this.readingTime !== undefined ? timeSince(this.readingTime, this.now) : 'waiting for a reading'}${this.questionable ? ' · questionable (movement?)' : ''}</p>
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-vital-tile': VlVitalTile;
  }
}
