/**
 * `<vl-live-view>`: one sensor, live: every vital as a big number with its unit and an alert in
 * words when it leaves the adult defaults, a trend chart of each (last 15 minutes), and the ECG
 * trace. Values come from the vault worker's view batches through the sensor hub.
 *
 * @fires none
 */
import { consume } from '@lit/context';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { DEMO_DISCLAIMER } from '../../core/demo-link.js';
import { ChangeController } from '../controllers/change-controller.js';
import { ClockController } from '../controllers/clock-controller.js';
import { VITAL_SIGNS } from '../model/vital-signs.js';
import { hubContext } from '../services/context.js';
import type { SensorHub } from '../services/sensor-hub.js';
import { linkStateOf, STATE_TEXT } from '../services/shown-state.js';
import { baseStyles } from '../styles.js';
import { vitalTiles } from './vital-tiles.js';
import './vl-trend-chart.js';

const SIGNS = [...VITAL_SIGNS.values()].sort((a, b) => a.order - b.order);

@customElement('vl-live-view')
export class VlLiveView extends LitElement {
  static override styles = [
    baseStyles,
    css`
      .facts {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1.25rem;
        font-weight: 600;
        margin: 0 0 1rem;
      }
      .tiles {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(12.5rem, 1fr));
        gap: 0.75rem;
        margin-bottom: 1.25rem;
      }
      .charts {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr));
        gap: 1rem;
      }
    `,
  ];

  @consume({ context: hubContext }) hub!: SensorHub;
  @property() deviceId = '';
  private readonly changes = new ChangeController(this, () => this.hub);
  private readonly clock = new ClockController(this, 1_000);

  override render() {
    const card = this.hub.board.cards.get(this.deviceId);
    const bond = this.hub.bond(this.deviceId);
    if (bond === undefined && card === undefined) {
      return html`<h1>Sensor not found</h1><p>This sensor is not paired with this device.</p><div class="row"><a class="button" href="#/sensors">All sensors</a></div>`;
    }
    const state = linkStateOf(this.hub, this.deviceId, card);
    const version = this.hub.board.version;
    return html`
      <h1>${this.hub.displayName(this.deviceId)}</h1>
      ${this.hub.isSimulated(this.deviceId) ? html`<p><span class="badge simulated">${DEMO_DISCLAIMER}</span></p>` : nothing}
      <div class="facts">
        <span class="state-${state}">● ${STATE_TEXT[state]}</span>
        <span>Battery ${card?.battery !== undefined ? `${card.battery} %` : '—'}</span>
        ${bond?.patient ? html`<span>Patient: ${bond.patient}</span>` : nothing}
        ${card?.tamper ? html`<span class="problem">The sensor reports its case was opened. Check it before use.</span>` : nothing}
        ${this.hub.board.storageFull ? html`<span class="problem">Storage is full: readings stay on the sensor until space is freed.</span>` : nothing}
      </div>
      <div class="tiles">
        ${vitalTiles(SIGNS, card, this.clock.now)}
      </div>
      <h2>Trends (last 15 minutes)</h2>
      <div class="charts">
        <vl-trend-chart .label=${'ECG lead II'} .unit=${'mV'} .series=${card?.ecg} .version=${version} trace .height=${160}></vl-trend-chart>
        ${SIGNS.map(
          (v) => html`<vl-trend-chart .label=${v.name} .unit=${v.unit} .series=${card?.trends.get(v.code)} .version=${version}></vl-trend-chart>`,
        )}
      </div>
      <div class="row"><a class="button secondary" href="#/history/${this.deviceId}">History and export</a></div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-live-view': VlLiveView;
  }
}
