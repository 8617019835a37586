/**
 * `<vl-history>`: stored readings of one sensor over a time range: a chart per vital, a table,
 * and exports as CSV and as FHIR R4 JSON (src/core/fhir.ts). Works without Bluetooth and
 * offline: it reads only the vault.
 *
 * @fires none
 */
import { consume } from '@lit/context';
import { Task } from '@lit/task';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { toBundle } from '../../core/fhir.js';
import type { ReadingView } from '../../../workers/vault/pipeline.js';
import { ChangeController } from '../controllers/change-controller.js';
import { toCsv } from '../model/csv.js';
import { dateTime, fromLocalInput, toLocalInput } from '../model/format.js';
import { appendPoint, type Series } from '../model/sensor-board.js';
import { ECG_CODE, primaryNumber, VITAL_SIGNS } from '../model/vital-signs.js';
import { hubContext, vaultContext } from '../services/context.js';
import { download } from '../services/download.js';
import type { SensorHub } from '../services/sensor-hub.js';
import type { VaultSession } from '../services/vault-session.js';
import { baseStyles } from '../styles.js';
import './vl-trend-chart.js';

const RANGES = [
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '6h', label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 24 * 3_600_000 },
  { id: 'custom', label: 'Choose dates', ms: 0 },
] as const;
type RangeId = (typeof RANGES)[number]['id'];
/** Rows the table shows (the exports have all of them). */
const TABLE_ROWS = 200;
const SIGNS = [...VITAL_SIGNS.values()].sort((a, b) => a.order - b.order);

@customElement('vl-history')
export class VlHistory extends LitElement {
  static override styles = [
    baseStyles,
    css`
      .filters {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr));
        gap: 0 1rem;
      }
      .charts {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr));
        gap: 1rem;
        margin: 1rem 0;
      }
      .table-wrap {
        overflow-x: auto;
      }
      .value {
        font-weight: 700;
        font-variant-numeric: tabular-nums;
      }
    `,
  ];

  @consume({ context: hubContext }) hub!: SensorHub;
  @consume({ context: vaultContext }) vault!: VaultSession;
  @property() deviceId: string | undefined;
  @state() private range: RangeId = '1h';
  @state() private from = '';
  @state() private to = '';
  @state() private exported = '';
  private readonly changes = new ChangeController(this, () => this.hub);

  private readonly readings = new Task(this, {
    task: async ([deviceId, range, from, to]: [string | undefined, RangeId, string, string]) => {
      if (deviceId === undefined) return undefined;
      const [fromMs, toMs] = this.window(range, from, to);
      const rows = await this.vault.vault.history(deviceId, fromMs, toMs);
      return { rows: rows.sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq), fromMs, toMs };
    },
    args: () => [this.selected(), this.range, this.from, this.to] as [string | undefined, RangeId, string, string],
  });

  private selected(): string | undefined {
    return this.deviceId ?? this.hub.bonds[0]?.deviceId;
  }

  private window(range: RangeId, from: string, to: string): [number, number] {
    const now = Date.now();
    if (range !== 'custom') return [now - (RANGES.find((r) => r.id === range)?.ms ?? 3_600_000), now];
    return [fromLocalInput(from) ?? now - 3_600_000, fromLocalInput(to) ?? now];
  }

  override render() {
    const selected = this.selected();
    return html`
      <h1>History</h1>
      ${this.hub.bonds.length === 0 && selected === undefined
        ? html`<p>No sensor has been paired yet, so there is no history.</p>`
        : html`<form class="card filters" @submit=${(e: Event) => e.preventDefault()}>
              <div>
                <label for="sensor">Sensor</label>
                <select id="sensor" @change=${(e: Event) => (location.hash = `#/history/${(e.target as HTMLSelectElement).value}`)}>
                  ${this.hub.bonds.map((b) => html`<option value=${b.deviceId} ?selected=${b.deviceId === selected}>${this.hub.displayName(b.deviceId)}</option>`)}
                </select>
              </div>
              <div>
                <label for="range">Time range</label>
                <select id="range" @change=${(e: Event) => this.setRange((e.target as HTMLSelectElement).value as RangeId)}>
                  ${RANGES.map((r) => html`<option value=${r.id} ?selected=${r.id === this.range}>${r.label}</option>`)}
                </select>
              </div>
              ${this.range === 'custom'
                ? html`<div><label for="from">From</label><input id="from" type="datetime-local" .value=${this.from} @change=${(e: Event) => (this.from = (e.target as HTMLInputElement).value)} /></div>
                    <div><label for="to">To</label><input id="to" type="datetime-local" .value=${this.to} @change=${(e: Event) => (this.to = (e.target as HTMLInputElement).value)} /></div>`
                : nothing}
            </form>
            ${this.readings.render({
              pending: () => html`<p role="status">Loading readings…</p>`,
              error: () => html`<div class="problem" role="alert"><strong>The readings could not be read.</strong>If the app locked, unlock it and try again.</div>`,
              complete: (result) => (result === undefined ? nothing : this.renderReadings(result.rows)),
            })}`}
    `;
  }

  private setRange(range: RangeId): void {
    if (range === 'custom' && this.from === '') {
      this.from = toLocalInput(Date.now() - 24 * 3_600_000);
      this.to = toLocalInput(Date.now());
    }
    this.range = range;
  }

  private renderReadings(rows: readonly ReadingView[]) {
    const numeric = rows.filter((r) => r.code !== ECG_CODE);
    const ecgCount = rows.length - numeric.length;
    const newest = numeric.slice(-TABLE_ROWS).reverse();
    return html`
      <p role="status">${numeric.length} readings${ecgCount > 0 ? ` and ${ecgCount} ECG strips` : ''} in this range.</p>
      <div class="row">
        <button @click=${() => this.exportCsv(rows)} ?disabled=${rows.length === 0}>Export CSV</button>
        <button class="secondary" @click=${() => this.exportFhir(rows)} ?disabled=${rows.length === 0}>Export FHIR (JSON)</button>
      </div>
      ${this.exported ? html`<p class="notice" role="status">${this.exported}</p>` : nothing}
      ${numeric.length === 0
        ? html`<p>No readings in this range. Choose a longer range.</p>`
        : html`<div class="charts">
              ${SIGNS.map((v) => {
                const series = seriesOf(numeric, v.code);
                return series.t.length === 0 ? nothing : html`<vl-trend-chart .label=${v.name} .unit=${v.unit} .series=${series}></vl-trend-chart>`;
              })}
            </div>
            <h2>Readings${numeric.length > TABLE_ROWS ? ` (newest ${TABLE_ROWS}; the exports have all ${numeric.length})` : ''}</h2>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Readings table">
              <table>
                <thead><tr><th scope="col">Time</th><th scope="col">Measurement</th><th scope="col">Value</th></tr></thead>
                <tbody>
                  ${newest.map((r) => {
                    const sign = VITAL_SIGNS.get(r.code);
                    return html`<tr data-time=${r.timeMs} data-code=${r.code}><td>${dateTime(r.timeMs)}</td><td>${sign?.name ?? r.label}${r.questionable ? ' (questionable)' : ''}</td><td><span class="value">${r.value}</span> ${sign?.unit ?? r.unit}</td></tr>`;
                  })}
                </tbody>
              </table>
            </div>`}
    `;
  }

  private fileBase(): string {
    const id = this.selected() ?? 'sensor';
    return `vitalock-${id.toLowerCase()}-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-')}`;
  }

  private exportCsv(rows: readonly ReadingView[]): void {
    download(`${this.fileBase()}.csv`, 'text/csv', toCsv(rows, (s) => this.hub.displayName(s)));
    this.exported = `Exported ${rows.length} readings as CSV.`;
  }

  private exportFhir(rows: readonly ReadingView[]): void {
    const { bundle, skipped } = toBundle(
      rows,
      (sensor) => {
        const bond = this.hub.bond(sensor);
        return { deviceName: this.hub.displayName(sensor), ...(bond?.patient ? { patientDisplay: bond.patient } : {}) };
      },
      Date.now(),
    );
    download(`${this.fileBase()}.fhir.json`, 'application/fhir+json', JSON.stringify(bundle, null, 2));
    this.exported = `Exported ${bundle.entry.length} FHIR Observations${skipped > 0 ? ` (${skipped} readings have no FHIR mapping and were left out)` : ''}.`;
  }
}

function seriesOf(rows: readonly ReadingView[], code: number): Series {
  const series: Series = { t: [], v: [] };
  for (const r of rows) {
    if (r.code !== code) continue;
    const n = primaryNumber(r.value);
    if (n !== undefined) appendPoint(series, r.timeMs / 1000, n, Number.MAX_SAFE_INTEGER, 20_000);
  }
  return series;
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-history': VlHistory;
  }
}
