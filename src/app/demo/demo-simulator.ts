/**
 * Demo mode's side of the in-page link (src/core/demo-link.ts): starts the simulated sensors'
 * worker and puts each connection to a simulated sensor behind the same `SensorLink` interface
 * the Web Bluetooth adapter implements. The vault worker cannot tell the difference: the same
 * fragments, the same protocol, the same pipeline.
 *
 * The worker is created from a URL, not imported: the app never imports sensor code.
 */
import {
  parseSimulatorToPage,
  type DemoProfile,
  type DemoSensorLabel,
  type PageToSimulator,
  type SimulatorToPage,
} from '../../core/demo-link.js';
import type { LinkListener, LinkState, SensorLink } from '../bluetooth/sensor-link.js';

/** What a GATT connection to a simulated sensor negotiates. */
const DEMO_ATT_MTU = 247;

export class DemoSimulatorError extends Error {
  override readonly name = 'DemoSimulatorError';
}

class DemoLink implements SensorLink {
  state: LinkState = 'connecting';
  readonly attMtu = DEMO_ATT_MTU;

  constructor(
    readonly id: string,
    readonly deviceName: string,
    readonly deviceId: string,
    private readonly simulator: DemoSimulator,
    readonly listener: LinkListener,
  ) {}

  write(fragment: Uint8Array): Promise<void> {
    if (this.state !== 'connected') return Promise.resolve();
    this.simulator.send({ type: 'write', conn: this.id, fragment });
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.state !== 'offline') {
      this.simulator.send({ type: 'disconnect', conn: this.id });
      this.simulator.ended(this);
      this.setState('offline', 'closed by the app');
    }
    return Promise.resolve();
  }

  setState(state: LinkState, reason?: string): void {
    this.state = state;
    this.listener.state(this, state, reason);
  }
}

export class DemoSimulator {
  private readonly worker: Worker;
  private readonly links = new Map<string, DemoLink>();
  private readonly waiting = new Map<number, { resolve: (labels: readonly DemoSensorLabel[]) => void; reject: (e: Error) => void }>();
  private readonly connecting = new Map<string, () => void>();
  private nextRequest = 1;
  private nextConn = 1;

  constructor(worker?: Worker) {
    this.worker = worker ?? new Worker(new URL('../../../sensor/browser/demo-sensor.worker.ts', import.meta.url), { type: 'module', name: 'simulated-sensors' });
    this.worker.onmessage = (e: MessageEvent<unknown>) => {
      let message: SimulatorToPage;
      try {
        message = parseSimulatorToPage(e.data);
      } catch {
        return;
      }
      this.onMessage(message);
    };
  }

  /** Manufactures a simulated sensor in pairing mode; its label carries the setup code. */
  add(profile: DemoProfile = 'adult-resting'): Promise<DemoSensorLabel> {
    return this.ask((request) => ({ type: 'add', request, profile })).then((labels) => {
      const label = labels[0];
      if (label === undefined) throw new DemoSimulatorError('the simulator made no sensor');
      return label;
    });
  }

  /** The simulated sensors kept from earlier visits (they power on). */
  list(): Promise<readonly DemoSensorLabel[]> {
    return this.ask((request) => ({ type: 'list', request }));
  }

  /** Connects to a simulated sensor; resolves once connected (like GATT connect). */
  async connect(label: Pick<DemoSensorLabel, 'deviceId' | 'name'>, listener: LinkListener): Promise<SensorLink> {
    const conn = `demo-${label.deviceId}-${this.nextConn++}`;
    const link = new DemoLink(conn, `${label.name} (simulated)`, label.deviceId, this, listener);
    this.links.set(conn, link);
    const connected = new Promise<void>((resolve) => this.connecting.set(conn, resolve));
    this.send({ type: 'connect', conn, deviceId: label.deviceId, attMtu: link.attMtu });
    await connected;
    if (link.state === 'offline') throw new DemoSimulatorError('the simulated sensor is gone');
    link.setState('connected');
    return link;
  }

  /** Throws a simulated sensor away. */
  remove(deviceId: string): void {
    this.send({ type: 'remove', deviceId });
  }

  /** The simulated device id behind a link this simulator made, if it is one. */
  deviceIdOf(link: SensorLink): string | undefined {
    return link instanceof DemoLink ? link.deviceId : undefined;
  }

  send(message: PageToSimulator): void {
    this.worker.postMessage(message);
  }

  ended(link: DemoLink): void {
    this.links.delete(link.id);
    this.connecting.get(link.id)?.();
    this.connecting.delete(link.id);
  }

  terminate(): void {
    this.worker.terminate();
  }

  private ask(make: (request: number) => PageToSimulator): Promise<readonly DemoSensorLabel[]> {
    const request = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.waiting.set(request, { resolve, reject });
      this.send(make(request));
    });
  }

  private onMessage(m: SimulatorToPage): void {
    switch (m.type) {
      case 'sensors':
        this.waiting.get(m.request)?.resolve(m.sensors);
        this.waiting.delete(m.request);
        break;
      case 'failed':
        this.waiting.get(m.request)?.reject(new DemoSimulatorError(m.message));
        this.waiting.delete(m.request);
        break;
      case 'connected':
        this.connecting.get(m.conn)?.();
        this.connecting.delete(m.conn);
        break;
      case 'notify': {
        const link = this.links.get(m.conn);
        if (link === undefined || link.state !== 'connected') return;
        for (const f of m.fragments) link.listener.fragment(link, f);
        break;
      }
      case 'disconnected': {
        const link = this.links.get(m.conn);
        if (link === undefined) return;
        this.ended(link);
        link.setState('offline', m.reason);
        break;
      }
    }
  }
}
