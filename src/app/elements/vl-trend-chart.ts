/**
 * `<vl-trend-chart>`: a uPlot line chart of one vital sign (time → value), sized to its
 * container, redrawn at most once a frame however fast the readings come. uPlot (and its CSS)
 * load with the first chart, not with the app's first screen.
 *
 * Give it a `series` and bump `version` when the series changed in place.
 */
import { LitElement, css, html, unsafeCSS, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import type uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';
import type { Series } from '../model/sensor-board.js';

@customElement('vl-trend-chart')
export class VlTrendChart extends LitElement {
  static override styles = [
    unsafeCSS(uplotCss),
    css`
      :host {
        display: block;
        min-height: 180px;
        color: var(--vl-text);
      }
      .u-legend {
        display: none;
      }
      p {
        margin: 0 0 0.25rem;
        font-weight: 700;
      }
      .few {
        font-weight: 400;
        color: var(--vl-muted);
        min-height: 120px;
      }
      .plot[hidden] {
        display: none;
      }
    `,
  ];

  @property({ attribute: false }) series: Series | undefined;
  /** Bump when `series` changed in place. */
  @property({ type: Number }) version = 0;
  @property() label = '';
  @property() unit = '';
  @property() color = 'var(--vl-accent)';
  /** Fixed y range, e.g. for SpO2; default: fit the data. */
  @property({ attribute: false }) yRange: [number, number] | undefined;
  /** Show the x axis as seconds of a trace rather than time of day. */
  @property({ type: Boolean }) trace = false;
  @property({ type: Number }) height = 180;

  @query('.plot') private plotHost!: HTMLDivElement;
  private plot: uPlot | undefined;
  private frame = 0;
  private resize: ResizeObserver | undefined;

  override render() {
    const points = this.series?.t.length ?? 0;
    return html`<p>${this.label}${this.unit ? ` (${this.unit})` : ''}</p>
      ${points < 2 ? html`<p class="few">${points === 0 ? 'No readings yet.' : 'One reading so far: the trend appears with the next one.'}</p>` : ''}
      <div class="plot" ?hidden=${points < 2} role="img" aria-label="${this.label} chart${points > 0 ? `, newest ${this.series?.v[points - 1]} ${this.unit}` : ', no data yet'}"></div>`;
  }

  protected override async firstUpdated(): Promise<void> {
    const { default: UPlot } = await import('uplot');
    const styles = getComputedStyle(this);
    const stroke = styles.getPropertyValue('--vl-accent').trim() || '#0a66c2';
    const text = styles.getPropertyValue('--vl-text').trim() || '#111';
    const grid = styles.getPropertyValue('--vl-border').trim() || '#ccc';
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '14px system-ui, sans-serif' };
    const yRange = this.yRange;
    const opts: uPlot.Options = {
      width: Math.max(200, this.plotHost.clientWidth),
      height: this.height,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: !this.trace }, y: { range: yRange ? () => yRange : (_u, min, max) => paddedRange(min, max) } },
      axes: [axis, { ...axis, size: 56 }],
      series: [{}, { stroke, width: 2.5, points: { show: false } }],
    };
    this.plot = new UPlot(opts, this.data(), this.plotHost);
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: Math.max(200, this.plotHost.clientWidth), height: this.height }));
    this.resize.observe(this.plotHost);
  }

  protected override updated(changed: PropertyValues<this>): void {
    if ((changed.has('version') || changed.has('series')) && this.plot !== undefined && this.frame === 0) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.plot?.setData(this.data());
      });
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.resize?.disconnect();
    this.plot?.destroy();
    this.plot = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Re-attached (e.g. moved): draw again.
    if (this.hasUpdated && this.plot === undefined) void this.firstUpdated();
  }

  private data(): uPlot.AlignedData {
    const s = this.series;
    if (s === undefined || s.t.length === 0) return [[], []];
    if (!this.trace) return [s.t.slice(), s.v.slice()];
    const t0 = s.t[0] as number;
    return [s.t.map((t) => t - t0), s.v.slice()];
  }
}

/** A little room above and below; a flat line sits mid-chart instead of on an axis from zero. */
function paddedRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null) return [0, 1];
  const pad = Math.max((max - min) * 0.15, Math.abs(max) * 0.02, 1);
  return [min - pad, max + pad];
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-trend-chart': VlTrendChart;
  }
}
