/**
 * An in-memory BLE connection between the reference sensor and a hub-side receiver (the vault
 * pipeline or service) on the virtual clock: the hub's writes reach `control` after 1 ms, and
 * the sensor's notifications are pulled one per ms, as a radio would carry them.
 */
import type { SensorConnection, SensorDevice } from '../../sensor/device.js';
import type { Sim } from './sim.js';

export interface LinkReceiver {
  receive(link: string, fragment: Uint8Array): void;
  openLink(link: string, attMtu: number): void;
}

export class DeviceLink {
  private connection: SensorConnection | undefined;

  constructor(
    private readonly sim: Sim,
    private readonly device: SensorDevice,
    private readonly receiver: () => LinkReceiver,
    private readonly link = 'link-1',
    private readonly attMtu = 247,
  ) {}

  /** Hub → sensor: a write to `control`, delivered to the connection current when it was sent. */
  write(fragment: Uint8Array): void {
    const c = this.connection;
    this.sim.after(1, () => c?.receiveFragment(fragment));
  }

  /** A new BLE connection (the previous one, if any, is cut); the receiver opens its link. */
  connect(): void {
    this.disconnect();
    const c = this.device.connect(this.attMtu);
    this.connection = c;
    let pulling = false;
    const pull = (): void => {
      const f = c.takeFragment();
      if (f === undefined || this.connection !== c) {
        pulling = false;
        return;
      }
      this.receiver().receive(this.link, f);
      this.sim.after(1, pull);
    };
    c.onFragmentReady(() => {
      if (!pulling) {
        pulling = true;
        this.sim.after(1, pull);
      }
    });
    this.receiver().openLink(this.link, this.attMtu);
  }

  disconnect(): void {
    this.connection?.disconnect();
    this.connection = undefined;
  }
}
