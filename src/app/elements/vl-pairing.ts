/**
 * `<vl-pairing>`: pairs a sensor (protocol §3–§6): choose it (the browser's Bluetooth chooser,
 * or a new simulated sensor in demo mode) → type its setup code or scan its QR code → see who it
 * is (manufacturer, model, serial, certificate validity) → name it or assign it to a patient →
 * bonded. Every failure is said in plain words with what to do.
 *
 * @fires none — it ends by linking to the sensor's live view.
 */
import { consume } from '@lit/context';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { DEMO_DISCLAIMER, type DemoSensorLabel } from '../../core/demo-link.js';
import type { BondView } from '../../../workers/vault/service.js';
import type { SensorLink } from '../bluetooth/sensor-link.js';
import type { AppConfig } from '../config.js';
import { ChangeController } from '../controllers/change-controller.js';
import { QrScanController, qrScanSupported } from '../controllers/qr-scan-controller.js';
import { dateOnly } from '../model/format.js';
import { hubFailureProblem, setupCodeProblem, type Problem } from '../model/problems.js';
import type { AppShell } from '../services/app-shell.js';
import { configContext, hubContext, shellContext } from '../services/context.js';
import type { SensorHub } from '../services/sensor-hub.js';
import { baseStyles } from '../styles.js';

type Step = 'choose' | 'connecting' | 'code' | 'working' | 'identity' | 'done';

@customElement('vl-pairing')
export class VlPairing extends LitElement {
  static override styles = [
    baseStyles,
    css`
      .setup-code {
        font-size: 2.2rem;
        font-weight: 800;
        letter-spacing: 0.06em;
        margin: 0.25rem 0;
      }
      video {
        width: 100%;
        max-width: 24rem;
        border-radius: 0.75rem;
        background: #000;
      }
      dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.35rem 1rem;
        margin: 0.5rem 0 1rem;
      }
      dt {
        font-weight: 700;
      }
      dd {
        margin: 0;
      }
      #code {
        font-size: 1.6rem;
        letter-spacing: 0.08em;
        max-width: 16rem;
      }
    `,
  ];

  @consume({ context: hubContext }) hub!: SensorHub;
  @consume({ context: configContext }) config!: AppConfig;
  @consume({ context: shellContext }) shell!: AppShell;
  /** Start with a simulated sensor (demo mode) instead of the Bluetooth chooser. */
  @property({ type: Boolean }) simulated = false;
  @state() private step: Step = 'choose';
  @state() private problem: Problem | undefined;
  @state() private label: DemoSensorLabel | undefined;
  @state() private bond: BondView | undefined;
  @state() private code = '';
  @query('video') private video!: HTMLVideoElement | null;
  private link: SensorLink | undefined;
  private readonly changes = new ChangeController(this, () => this.hub);
  private readonly scanner = new QrScanController(this);
  private started = false;

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!this.started && this.simulated && this.config.demoMode) {
      this.started = true;
      void this.addSimulated();
    }
    if (this.step === 'working') this.checkOutcome();
    void changed;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // Left before bonding: let the link go.
    if (this.link !== undefined && this.step !== 'done' && this.step !== 'identity') void this.hub.release(this.link);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.shell?.refreshBluetooth();
  }

  override render() {
    return html`<h1>Pair a sensor</h1>
      ${this.renderStep()}
      ${this.problem ? html`<div class="problem" role="alert"><strong>${this.problem.title}</strong>${this.problem.action}</div>` : nothing}`;
  }

  private renderStep() {
    switch (this.step) {
      case 'choose':
        return this.renderChoose();
      case 'connecting':
        return html`<p role="status">Connecting to the sensor…</p>`;
      case 'code':
        return this.renderCode();
      case 'working':
        return html`<p role="status">Pairing… checking the code and the sensor’s identity. This takes a few seconds.</p>`;
      case 'identity':
        return this.renderIdentity();
      case 'done':
        return html`<div class="notice" role="status"><strong>Paired.</strong> ${this.bond ? this.hub.displayName(this.bond.deviceId) : 'The sensor'} is bonded with this device and recording.</div>
          <div class="row">
            ${this.bond ? html`<a class="button" href="#/sensor/${this.bond.deviceId}">See live values</a>` : nothing}
            <a class="button secondary" href="#/sensors">All sensors</a>
          </div>`;
    }
  }

  private renderChoose() {
    const bt = this.shell.bluetooth;
    return html`
      <p>Switch the sensor on and put it in pairing mode (see its instructions). Keep its label with the setup code at hand.</p>
      <div class="row">
        ${bt === 'available' ? html`<button @click=${this.chooseBluetooth}>Choose a Bluetooth sensor</button>` : nothing}
        ${this.config.demoMode ? html`<button class=${bt === 'available' ? 'secondary' : ''} @click=${() => void this.addSimulated()}>Add a simulated sensor</button>` : nothing}
      </div>
      ${bt === 'unsupported'
        ? html`<p class="hint">This browser cannot use Bluetooth sensors: use Chrome or Edge on Android, Windows, macOS or ChromeOS to pair real sensors.</p>`
        : bt === 'no-adapter'
          ? html`<p class="hint">Bluetooth is off or missing on this device: turn it on to pair a real sensor.</p>`
          : nothing}
    `;
  }

  private renderCode() {
    const canScan = qrScanSupported();
    return html`
      ${this.label
        ? html`<section class="card" aria-label="Label of the simulated sensor">
            <p><span class="badge simulated">${DEMO_DISCLAIMER}</span></p>
            <p>The label on <strong>${this.label.name}</strong> reads:</p>
            <p class="setup-code mono">${this.label.setupCode}</p>
            <p class="hint">QR code content: <span class="mono">${this.label.qr}</span></p>
            <div class="row">
              <button class="secondary" @click=${() => (this.code = this.label?.setupCode ?? '')}>Fill in the code from the label</button>
              <button class="secondary" @click=${() => void this.pair({ qr: this.label?.qr ?? '' })}>Pair with the QR code</button>
            </div>
          </section>`
        : nothing}
      <form class="card" @submit=${this.onSubmit} novalidate>
        <label for="code">Setup code (9 digits on the sensor’s label)</label>
        <input id="code" name="code" class="mono" inputmode="numeric" autocomplete="off" placeholder="1234-5678-9" .value=${this.code}
          @input=${(e: Event) => (this.code = (e.target as HTMLInputElement).value)} />
        <div class="row">
          <button type="submit">Pair</button>
          ${canScan ? html`<button type="button" class="secondary" @click=${this.scan}>${this.scanner.scanning ? 'Stop scanning' : 'Scan the QR code'}</button>` : nothing}
          <button type="button" class="secondary" @click=${this.cancel}>Cancel</button>
        </div>
        ${canScan ? html`<video ?hidden=${!this.scanner.scanning} muted playsinline aria-label="Camera view for the QR code"></video>` : nothing}
        ${this.scanner.problem ? html`<p class="problem" role="alert">${this.scanner.problem}</p>` : nothing}
      </form>
    `;
  }

  private renderIdentity() {
    const b = this.bond;
    if (b === undefined) return html`<p role="status">Reading the sensor’s identity…</p>`;
    const simulated = this.hub.isSimulated(b.deviceId);
    return html`
      <section class="card" aria-label="Who the sensor is">
        <h2>The sensor proved who it is</h2>
        ${simulated ? html`<p><span class="badge simulated">${DEMO_DISCLAIMER}</span></p>` : nothing}
        <dl>
          <dt>Manufacturer</dt><dd>${b.manufacturer}</dd>
          <dt>Model</dt><dd>${b.model}</dd>
          <dt>Serial</dt><dd class="mono">${b.serial}</dd>
          <dt>Certificate</dt><dd>valid until ${dateOnly(b.validUntil)}</dd>
        </dl>
      </section>
      <form class="card" @submit=${this.onName} novalidate>
        <label for="name">Name (optional)</label>
        <input id="name" name="name" autocomplete="off" placeholder="Bed 4 monitor" .value=${this.label?.name ?? ''} />
        <label for="patient">Patient (optional)</label>
        <input id="patient" name="patient" autocomplete="off" placeholder="Patient name or number" />
        <div class="row"><button type="submit">Save</button></div>
      </form>
    `;
  }

  // ── actions ────────────────────────────────────────────────────────────────────────────────

  private chooseBluetooth(): void {
    this.problem = undefined;
    // requestDevice must run inside this click: no await before it.
    const choosing = this.hub.chooseBluetoothSensor();
    this.step = 'connecting';
    choosing.then(
      (link) => {
        this.link = link;
        this.step = 'code';
      },
      (err: unknown) => {
        this.step = 'choose';
        this.problem = bluetoothProblem(err);
      },
    );
  }

  private async addSimulated(): Promise<void> {
    this.problem = undefined;
    this.step = 'connecting';
    try {
      const { label, link } = await this.hub.addSimulatedSensor();
      this.label = label;
      this.link = link;
      this.step = 'code';
    } catch {
      this.step = 'choose';
      this.problem = { title: 'The simulated sensor did not start.', action: 'Reload the page and try again.' };
    }
  }

  private onSubmit(e: SubmitEvent): void {
    e.preventDefault();
    void this.pair({ setupCode: this.code });
  }

  private async pair(input: { setupCode?: string; qr?: string }): Promise<void> {
    if (this.link === undefined || this.link.state === 'offline') {
      this.step = 'choose';
      this.problem = { title: 'The sensor is no longer connected.', action: 'Check that it is on and nearby, then choose it again.' };
      return;
    }
    this.problem = undefined;
    const result = await this.hub.pair(this.link, input);
    if (!result.ok) {
      this.problem = setupCodeProblem(result.problem);
      return;
    }
    this.step = 'working';
  }

  private checkOutcome(): void {
    const link = this.link;
    if (link === undefined) return;
    const view = this.hub.board.links.get(link.id);
    if (link.state === 'offline') {
      this.step = 'choose';
      this.problem = { title: 'The sensor disconnected during pairing.', action: 'Bring it closer, check that it is on, and try again.' };
    } else if (view?.state === 'failed' && view.failure !== undefined) {
      this.step = 'code';
      this.problem = hubFailureProblem(view.failure);
    } else if (view?.state === 'open' && view.sensor !== undefined) {
      const deviceId = view.sensor;
      this.step = 'identity';
      void this.hub.refreshBonds().then((bonds) => (this.bond = bonds.find((b) => b.deviceId === deviceId)));
    }
  }

  private async scan(): Promise<void> {
    if (this.scanner.scanning) {
      this.scanner.stop();
      return;
    }
    await this.updateComplete;
    if (this.video !== null) await this.scanner.start(this.video, (text) => void this.pair({ qr: text }));
  }

  private cancel(): void {
    if (this.link !== undefined) void this.hub.release(this.link);
    this.link = undefined;
    this.label = undefined;
    this.step = 'choose';
    this.problem = undefined;
    location.hash = '#/sensors';
  }

  private async onName(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    if (this.bond === undefined) return;
    try {
      await this.hub.nameSensor(this.bond.deviceId, String(form.get('name') ?? ''), String(form.get('patient') ?? ''));
      this.bond = this.hub.bond(this.bond.deviceId) ?? this.bond;
      this.step = 'done';
    } catch {
      this.problem = { title: 'The name was not saved.', action: 'The sensor is paired; you can try again.' };
    }
  }
}

/** The Bluetooth adapter's errors carry plain-language messages; the chooser's cancel is no error. */
function bluetoothProblem(err: unknown): Problem {
  const name = err instanceof Error ? err.name : '';
  if (name === 'NotFoundError' || name === 'AbortError') return { title: 'No sensor was chosen.', action: 'Choose the sensor in the list; check that it is on and in pairing mode.' };
  const message = err instanceof Error && err.message !== '' ? err.message : 'The sensor could not be connected.';
  return { title: message, action: 'Check that the sensor is on and nearby, and that Bluetooth is on, then try again.' };
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-pairing': VlPairing;
  }
}
