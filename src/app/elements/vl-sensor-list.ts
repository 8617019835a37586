/**
 * `<vl-sensor-list>`: every bonded sensor with its state (connected, reconnecting, offline),
 * battery, newest readings and how long ago they came; the way to pair another one. Simulated
 * sensors say so. Without Web Bluetooth it says so plainly and points to what still works.
 *
 * @fires none — navigation is by links.
 */
import { consume } from '@lit/context';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { DEMO_DISCLAIMER } from '../../core/demo-link.js';
import type { BondView } from '../../../workers/vault/service.js';
import { ChangeController } from '../controllers/change-controller.js';
import { ClockController } from '../controllers/clock-controller.js';
import type { SensorCard } from '../model/sensor-board.js';
import { VITAL_SIGNS } from '../model/vital-signs.js';
import type { AppConfig } from '../config.js';
import type { AppShell } from '../services/app-shell.js';
import { configContext, hubContext, shellContext } from '../services/context.js';
import type { SensorHub } from '../services/sensor-hub.js';
import { baseStyles } from '../styles.js';
import { vitalTiles } from './vital-tiles.js';
import { linkStateOf, STATE_TEXT } from '../services/shown-state.js';

/** The vitals a card shows (the live view shows them all). */
const CARD_VITALS = [...VITAL_SIGNS.values()].sort((a, b) => a.order - b.order).slice(0, 2);

@customElement('vl-sensor-list')
export class VlSensorList extends LitElement {
  static override styles = [
    baseStyles,
    css`
      .sensor h2 {
        margin: 0;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: baseline;
        justify-content: space-between;
      }
      .facts {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1.25rem;
        margin: 0.5rem 0;
        font-weight: 600;
      }
      .tiles {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr));
        gap: 0.75rem;
        --vl-tile-size: 2.4rem;
      }
    `,
  ];

  @consume({ context: hubContext }) hub!: SensorHub;
  @consume({ context: configContext }) config!: AppConfig;
  @consume({ context: shellContext }) shell!: AppShell;
  @state() private reconnectProblem: { deviceId: string; text: string } | undefined;
  private readonly changes = new ChangeController(this, () => this.hub);
  private readonly clock = new ClockController(this, 1_000);

  override connectedCallback(): void {
    super.connectedCallback();
    this.shell?.refreshBluetooth();
  }

  override render() {
    const bonds = this.hub.bonds.filter((b) => !b.forgetting);
    const canBluetooth = this.shell.bluetooth === 'available';
    return html`
      <h1>Sensors</h1>
      ${this.renderBluetoothNotice()}
      ${bonds.length === 0
        ? html`<div class="card"><p><strong>No sensor yet.</strong></p>
            <p>${this.config.demoMode ? 'Try Vitalock with a simulated sensor: it streams realistic vitals in about a minute.' : 'Pair a sensor to start recording.'}</p></div>`
        : bonds.map((b) => this.renderSensor(b))}
      <div class="row">
        ${this.config.demoMode ? html`<a class="button" href="#/pair?simulated">Add a simulated sensor</a>` : nothing}
        ${canBluetooth ? html`<a class="button ${this.config.demoMode ? 'secondary' : ''}" href="#/pair">Pair a Bluetooth sensor</a>` : nothing}
      </div>
    `;
  }

  private reconnect(deviceId: string): void {
    this.reconnectProblem = undefined;
    // The chooser opens inside this click.
    this.hub.reconnectBluetooth(deviceId).catch((err: unknown) => (this.reconnectProblem = { deviceId, text: reconnectText(err) }));
  }

  private renderBluetoothNotice() {
    switch (this.shell.bluetooth) {
      case 'available':
        return nothing;
      case 'no-adapter':
        return html`<div class="notice" role="status"><strong>Bluetooth is off or missing on this device.</strong> Turn Bluetooth on to pair or reconnect real sensors. History and export still work.</div>`;
      case 'unsupported':
        return html`<div class="notice" role="status">
          <strong>This browser cannot connect to Bluetooth sensors.</strong> Use Chrome or Edge on Android, Windows, macOS or ChromeOS to pair
          real sensors. Here you can still <a href="#/history">see the history and export it</a>${this.config.demoMode ? ', and try a simulated sensor' : ''}.
        </div>`;
    }
  }

  private renderSensor(bond: BondView) {
    const card: SensorCard | undefined = this.hub.board.cards.get(bond.deviceId);
    const state = linkStateOf(this.hub, bond.deviceId, card);
    const simulated = this.hub.isSimulated(bond.deviceId);
    const name = this.hub.displayName(bond.deviceId);
    return html`
      <section class="card sensor" aria-label=${name}>
        <div class="head">
          <h2>${name}</h2>
          ${simulated ? html`<span class="badge simulated">${DEMO_DISCLAIMER}</span>` : nothing}
        </div>
        <div class="facts">
          <span class="state-${state}">● ${STATE_TEXT[state]}</span>
          <span>Battery ${card?.battery !== undefined ? `${card.battery} %` : '—'}</span>
          <span>Last reading: ${card?.lastReadingMs !== undefined ? new Date(card.lastReadingMs).toLocaleTimeString() : 'none yet'}</span>
        </div>
        <div class="tiles">
          ${vitalTiles(CARD_VITALS, card, this.clock.now)}
        </div>
        ${this.reconnectProblem?.deviceId === bond.deviceId ? html`<div class="problem" role="alert">${this.reconnectProblem.text}</div>` : nothing}
        <div class="row">
          <a class="button" href="#/sensor/${bond.deviceId}">Live view</a>
          <a class="button secondary" href="#/history/${bond.deviceId}">History</a>
          ${state === 'offline' && !simulated && this.shell.bluetooth === 'available'
            ? html`<button class="secondary" @click=${() => this.reconnect(bond.deviceId)}>Reconnect</button>`
            : nothing}
        </div>
      </section>
    `;
  }
}

/** The one-tap reconnect of an offline Bluetooth sensor: the chooser shows just that sensor. */
function reconnectText(err: unknown): string {
  const message = err instanceof Error && err.message !== '' ? err.message : 'The sensor could not be reached.';
  return `${message} Check that it is on and nearby, then try again.`;
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-sensor-list': VlSensorList;
  }
}
