/**
 * `<vl-app>`: the Vitalock app's root (issue 4 §2). Provides the services to every screen with
 * `@lit/context`, decides which screen shows — first run, unlock, or the unlocked app with its
 * navigation — and loads the heavier screens (charts, history) only when they are opened.
 *
 * @fires none — it listens to its services and the location hash.
 */
import { provide } from '@lit/context';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { AppConfig } from '../config.js';
import { ActivityController } from '../controllers/activity-controller.js';
import { ChangeController } from '../controllers/change-controller.js';
import { RouteController } from '../controllers/route-controller.js';
import type { AppShell } from '../services/app-shell.js';
import { configContext, hubContext, shellContext, vaultContext } from '../services/context.js';
import type { SensorHub } from '../services/sensor-hub.js';
import type { VaultSession } from '../services/vault-session.js';
import { baseStyles } from '../styles.js';
import './vl-first-run.js';
import './vl-sensor-list.js';
import './vl-unlock.js';
import './vl-update-prompt.js';

/** Screens loaded on first use (they bring uPlot and the exports). */
const LAZY: Record<string, () => Promise<unknown>> = {
  pair: () => import('./vl-pairing.js'),
  live: () => import('./vl-live-view.js'),
  history: () => import('./vl-history.js'),
  security: () => import('./vl-security-log.js'),
  settings: () => import('./vl-settings.js'),
};

const NAV = [
  { screen: 'sensors', hash: '#/sensors', label: 'Sensors' },
  { screen: 'history', hash: '#/history', label: 'History' },
  { screen: 'security', hash: '#/security', label: 'Security log' },
  { screen: 'settings', hash: '#/settings', label: 'Settings' },
] as const;

@customElement('vl-app')
export class VlApp extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        min-height: 100vh;
        display: flex;
        flex-direction: column;
      }
      header {
        display: flex;
        align-items: center;
        gap: 0.75rem;
        padding: 0.5rem 1rem;
        background: var(--vl-surface);
        border-bottom: 1px solid var(--vl-border);
        flex-wrap: wrap;
      }
      header .brand {
        font-size: 1.3rem;
        font-weight: 800;
        margin: 0;
        flex: 1;
      }
      nav {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        padding: 0.25rem 0.5rem;
        border-bottom: 1px solid var(--vl-border);
        background: var(--vl-surface);
      }
      nav a {
        min-height: 48px;
        display: inline-flex;
        align-items: center;
        padding: 0 0.9rem;
        border-radius: 0.5rem;
        text-decoration: none;
        font-weight: 600;
        white-space: nowrap;
        color: var(--vl-text);
      }
      nav a[aria-current='page'] {
        background: var(--vl-accent);
        color: var(--vl-on-accent);
      }
      main {
        flex: 1;
        padding: 1rem;
        max-width: 60rem;
        width: 100%;
        margin: 0 auto;
      }
      .offline {
        font-size: 0.95rem;
        font-weight: 700;
      }
    `,
  ];

  @provide({ context: vaultContext }) @property({ attribute: false }) vault!: VaultSession;
  @provide({ context: hubContext }) @property({ attribute: false }) hub!: SensorHub;
  @provide({ context: configContext }) @property({ attribute: false }) config!: AppConfig;
  @provide({ context: shellContext }) @property({ attribute: false }) shell!: AppShell;
  /** Why the vault could not start, if it could not. */
  @property({ attribute: false }) startError: string | undefined;

  private readonly router = new RouteController(this);
  private readonly vaultChanges = new ChangeController(this, () => this.vault);
  private readonly shellChanges = new ChangeController(this, () => this.shell);
  private readonly loaded = new Set<string>();
  private readonly ready = new Set<string>(['sensors']);
  private wasUnlocked = false;

  constructor() {
    super();
    new ActivityController(this, () => this.vault?.touch());
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('vault')) this.vaultChanges.attach();
    if (changed.has('shell')) this.shellChanges.attach();
    const unlocked = this.vault?.unlocked === true;
    // Just unlocked: bring the bonded sensors back.
    if (unlocked && !this.wasUnlocked) void this.hub?.resume();
    this.wasUnlocked = unlocked;
    const screen = this.router.route.screen;
    const load = LAZY[screen];
    if (unlocked && load !== undefined && !this.loaded.has(screen)) {
      this.loaded.add(screen);
      void load().then(() => {
        this.ready.add(screen);
        this.requestUpdate();
      });
    }
  }

  override render() {
    return html`${this.renderBody()}<vl-update-prompt></vl-update-prompt>`;
  }

  private renderBody() {
    if (this.startError !== undefined) {
      return html`<main><div class="problem" role="alert"><strong>Vitalock could not start.</strong>${this.startError}</div></main>`;
    }
    const state = this.vault?.state;
    if (state === undefined) return html`<main><p role="status">Starting Vitalock…</p></main>`;
    if (!state.exists || this.vault.settingUp) return html`<main><vl-first-run></vl-first-run></main>`;
    if (!state.unlocked) return html`<main><vl-unlock></vl-unlock></main>`;
    const route = this.router.route;
    return html`
      <header>
        <p class="brand">Vitalock</p>
        ${this.shell?.online === false ? html`<span class="offline" role="status">Offline — recording continues</span>` : nothing}
        <button class="secondary" @click=${() => this.vault.lock()}>Lock</button>
      </header>
      <nav aria-label="Screens">
        ${NAV.map(
          (n) => html`<a href=${n.hash} aria-current=${route.screen === n.screen || (n.screen === 'sensors' && (route.screen === 'live' || route.screen === 'pair')) ? 'page' : nothing}
            >${n.label}</a
          >`,
        )}
      </nav>
      <main id="main">${this.renderScreen()}</main>
    `;
  }

  private renderScreen() {
    const route = this.router.route;
    if (!this.ready.has(route.screen)) return html`<p role="status">Opening…</p>`;
    switch (route.screen) {
      case 'sensors':
        return html`<vl-sensor-list></vl-sensor-list>`;
      case 'pair':
        return html`<vl-pairing .simulated=${route.simulated}></vl-pairing>`;
      case 'live':
        return html`<vl-live-view .deviceId=${route.deviceId}></vl-live-view>`;
      case 'history':
        return html`<vl-history .deviceId=${route.deviceId}></vl-history>`;
      case 'security':
        return html`<vl-security-log></vl-security-log>`;
      case 'settings':
        return html`<vl-settings></vl-settings>`;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'vl-app': VlApp;
  }
}
