/**
 * The link registry: every sensor link the page holds (Web Bluetooth or simulated), wired to the
 * vault worker (docs/vault.md §3.1). Fragments from a link go to the worker; the worker's writes
 * go back to the link; its view batches feed the `SensorBoard` the screens draw. It also runs
 * the flows that span links and the vault: pairing, reconnecting bonded sensors after unlock,
 * forgetting. No protocol here: the worker does all of it.
 */
import { DEMO_CA_NAME, type DemoProfile, type DemoSensorLabel } from '../../core/demo-link.js';
import type { ViewBatch } from '../../../workers/vault/pipeline.js';
import type { BondView, ForgetResult, PairResult } from '../../../workers/vault/service.js';
import type { LinkListener, LinkState, SensorLink } from '../bluetooth/sensor-link.js';
import type { DemoSimulator } from '../demo/demo-simulator.js';
import { SensorBoard } from '../model/sensor-board.js';
import type { VaultSession } from './vault-session.js';

export type BluetoothAvailability = 'available' | 'no-adapter' | 'unsupported';

/** What the hub needs of the Web Bluetooth adapter (src/app/bluetooth). */
export interface BluetoothService {
  availability(): Promise<BluetoothAvailability>;
  /** Opens the browser's chooser (call from a user gesture) and connects. */
  request(listener: LinkListener): Promise<SensorLink>;
  /** The chooser filtered on one sensor's advertised name (the one-tap reconnect). */
  reconnect(deviceName: string, listener: LinkListener): Promise<SensorLink>;
  /** After a page load: links to the granted sensors whose advertised name is wanted. */
  restore(listener: LinkListener, wanted: (deviceName: string) => boolean): Promise<SensorLink[]>;
}

/** §2.1: a sensor advertises "Vitalock" and the last four hex digits of its device id. */
export function advertisedName(deviceId: string): string {
  return `Vitalock ${deviceId.slice(-4).toUpperCase()}`;
}

interface HeldLink {
  readonly link: SensorLink;
  readonly kind: 'bluetooth' | 'simulated';
  /** The bonded sensor on this link, once known. */
  deviceId?: string;
}

export class SensorHub extends EventTarget {
  readonly board = new SensorBoard();
  bonds: BondView[] = [];
  /** Labels of the simulated sensors (demo mode), by device id. */
  readonly simulated = new Map<string, DemoSensorLabel>();
  private readonly links = new Map<string, HeldLink>();
  /** Link state as the page sees it (the worker sees the secure session). */
  readonly linkStates = new Map<string, LinkState>();
  private readonly knownSensors = new Set<string>();

  readonly listener: LinkListener = {
    fragment: (link, fragment) => this.vault.receive(link.id, fragment),
    state: (link, state) => this.onLinkState(link, state),
  };

  constructor(
    private readonly vault: VaultSession,
    readonly demo: DemoSimulator | undefined,
    readonly bluetooth: BluetoothService | undefined,
  ) {
    super();
  }

  // ── the worker's callbacks ─────────────────────────────────────────────────────────────────

  write(linkId: string, fragment: Uint8Array): void {
    void this.links.get(linkId)?.link.write(fragment).catch(() => undefined);
  }

  view(batch: ViewBatch): void {
    this.board.apply(batch);
    let newSensor = false;
    for (const s of batch.sensors) {
      const held = this.links.get(s.link);
      if (held !== undefined && s.sensor !== undefined) held.deviceId = s.sensor;
      if (s.sensor !== undefined && !this.knownSensors.has(s.sensor)) {
        this.knownSensors.add(s.sensor);
        newSensor = true;
      }
    }
    if (newSensor) void this.refreshBonds();
    this.changed();
  }

  // ── bonds ──────────────────────────────────────────────────────────────────────────────────

  async refreshBonds(): Promise<BondView[]> {
    if (!this.vault.unlocked) return this.bonds;
    this.bonds = await this.vault.bonds();
    for (const b of this.bonds) this.knownSensors.add(b.deviceId);
    this.changed();
    return this.bonds;
  }

  isSimulated(deviceId: string): boolean {
    return this.bonds.find((b) => b.deviceId === deviceId)?.manufacturer === DEMO_CA_NAME || this.simulated.has(deviceId);
  }

  bond(deviceId: string): BondView | undefined {
    return this.bonds.find((b) => b.deviceId === deviceId);
  }

  displayName(deviceId: string): string {
    const b = this.bond(deviceId);
    return b?.name ?? this.simulated.get(deviceId)?.name ?? (b ? `${b.model} ${b.serial}` : `Sensor ${deviceId.slice(-4)}`);
  }

  /**
   * After unlock: reconnects every bonded simulated sensor that is not connected (a Bluetooth
   * sensor reconnects through its adapter, or with one tap on its card).
   */
  async resume(): Promise<void> {
    await this.refreshBonds();
    await this.restoreBluetooth().catch(() => undefined);
    if (this.demo === undefined) return;
    const labels = await this.demo.list();
    for (const l of labels) {
      // A simulated sensor left unpaired on an earlier visit is thrown away; one added on this
      // visit (`simulated` knows it) may be pairing right now.
      if (this.bond(l.deviceId) === undefined && !this.simulated.has(l.deviceId)) this.demo.remove(l.deviceId);
      else this.simulated.set(l.deviceId, l);
    }
    for (const bond of this.bonds) {
      const label = this.simulated.get(bond.deviceId);
      if (label === undefined || this.linkOf(bond.deviceId) !== undefined) continue;
      await this.reconnectSimulated(label).catch(() => undefined);
    }
    this.changed();
  }

  /** The held link of a sensor, if it has one that is not offline. */
  linkOf(deviceId: string): SensorLink | undefined {
    for (const held of this.links.values()) if (held.deviceId === deviceId && held.link.state !== 'offline') return held.link;
    return undefined;
  }

  /** Bluetooth sensors granted before: they connect by themselves when in reach. */
  private async restoreBluetooth(): Promise<void> {
    if (this.bluetooth === undefined) return;
    const byName = new Map(this.bonds.filter((b) => !this.isSimulated(b.deviceId)).map((b) => [advertisedName(b.deviceId), b.deviceId]));
    const links = await this.bluetooth.restore(this.listener, (name) => byName.has(name) && this.linkOf(byName.get(name) as string) === undefined);
    for (const link of links) this.hold(link, 'bluetooth', byName.get(link.deviceName));
  }

  /** The one-tap reconnect of a Bluetooth sensor (call from a click). */
  async reconnectBluetooth(deviceId: string): Promise<void> {
    if (this.bluetooth === undefined) throw new Error('Bluetooth is not available');
    const link = await this.bluetooth.reconnect(advertisedName(deviceId), this.listener);
    this.hold(link, 'bluetooth', deviceId);
    await this.vault.vault.openLink(link.id, link.attMtu);
    await this.vault.vault.reconnect(link.id, deviceId);
  }

  async reconnectSimulated(label: DemoSensorLabel): Promise<void> {
    if (this.demo === undefined) return;
    const link = await this.demo.connect(label, this.listener);
    this.hold(link, 'simulated', label.deviceId);
    await this.vault.vault.openLink(link.id, link.attMtu);
    if (!(await this.vault.vault.reconnect(link.id, label.deviceId))) await link.close();
  }

  // ── pairing ────────────────────────────────────────────────────────────────────────────────

  /** Demo mode: a new simulated sensor, connected and ready to pair; its label has the code. */
  async addSimulatedSensor(profile: DemoProfile = 'adult-resting'): Promise<{ label: DemoSensorLabel; link: SensorLink }> {
    if (this.demo === undefined) throw new Error('demo mode is off');
    const label = await this.demo.add(profile);
    this.simulated.set(label.deviceId, label);
    const link = await this.demo.connect(label, this.listener);
    this.hold(link, 'simulated');
    await this.vault.vault.openLink(link.id, link.attMtu);
    return { label, link };
  }

  /** A Bluetooth sensor from the browser's chooser (must run inside a user gesture). */
  async chooseBluetoothSensor(): Promise<SensorLink> {
    if (this.bluetooth === undefined) throw new Error('Bluetooth is not available');
    const link = await this.bluetooth.request(this.listener);
    this.hold(link, 'bluetooth');
    await this.vault.vault.openLink(link.id, link.attMtu);
    return link;
  }

  /** Starts pairing on a link (a fresh session, so a retry after a failure starts clean). */
  async pair(link: SensorLink, input: { setupCode?: string; qr?: string }): Promise<PairResult> {
    // What the last attempt left (a failure) is not this attempt's outcome.
    this.board.links.delete(link.id);
    await this.vault.vault.openLink(link.id, link.attMtu);
    return this.vault.pair(link.id, input);
  }

  /** Gives up on a link (pairing abandoned). */
  async release(link: SensorLink): Promise<void> {
    await this.vault.vault.closeLink(link.id);
    await link.close();
    const simulated = this.demo?.deviceIdOf(link);
    if (simulated !== undefined && this.bond(simulated) === undefined) {
      this.demo?.remove(simulated);
      this.simulated.delete(simulated);
    }
  }

  async nameSensor(deviceId: string, name: string, patient: string): Promise<void> {
    await this.vault.vault.nameSensor(deviceId, name.trim() || undefined, patient.trim() || undefined);
    await this.refreshBonds();
  }

  /** Forgets a sensor on both sides (UNBOND now, or at its next connection). */
  async forget(deviceId: string): Promise<ForgetResult> {
    const result = await this.vault.vault.forget(deviceId);
    if (result === 'unbonded') {
      this.board.remove(deviceId);
      if (this.simulated.has(deviceId)) {
        this.demo?.remove(deviceId);
        this.simulated.delete(deviceId);
      }
    } else if (result === 'pending' && this.simulated.has(deviceId)) {
      // A simulated sensor is always reachable: connect now so the UNBOND goes at once.
      const label = this.simulated.get(deviceId) as DemoSensorLabel;
      await this.reconnectSimulated(label).catch(() => undefined);
    }
    await this.refreshBonds();
    return result;
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────

  private hold(link: SensorLink, kind: HeldLink['kind'], deviceId?: string): void {
    this.links.set(link.id, { link, kind, ...(deviceId !== undefined ? { deviceId } : {}) });
    this.linkStates.set(link.id, link.state);
    this.changed();
  }

  private onLinkState(link: SensorLink, state: LinkState): void {
    this.linkStates.set(link.id, state);
    const held = this.links.get(link.id);
    if (state === 'offline') {
      void this.vault.vault.closeLink(link.id);
      this.board.linkClosed(link.id);
      this.links.delete(link.id);
      this.linkStates.delete(link.id);
    } else if (state === 'connected' && held?.deviceId !== undefined && held.kind === 'bluetooth') {
      // The adapter reconnected by itself: a new GATT connection needs a new secure session.
      void this.vault.vault.openLink(link.id, link.attMtu).then(() => this.vault.vault.reconnect(link.id, held.deviceId as string));
    }
    this.changed();
  }

  private changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}
