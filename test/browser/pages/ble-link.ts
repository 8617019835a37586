/**
 * A BLE link between two tabs of one origin, over a `BroadcastChannel`: the reference sensor runs
 * in one tab (sensor.html) and outlives the app's tab (vault-app.html), which can be reloaded.
 *
 * It plays what the GATT connection does: the app connects (`connect`, with a fresh connection
 * id), writes fragments to `control` (`write`), and gets `data` notifications (`notify`); each
 * message carries the connection id, so whatever the sensor still sends on a connection whose
 * app end died (a reload) is ignored by the next one. Nothing announces a reload: as with a real
 * link loss, the sensor learns of it when the next `connect` replaces the old connection.
 */
import type { SensorConnection, SensorDevice } from '../../../sensor/device.js';

export type LinkMessage =
  | { readonly type: 'connect'; readonly conn: string; readonly attMtu: number }
  | { readonly type: 'connected'; readonly conn: string }
  | { readonly type: 'write'; readonly conn: string; readonly fragment: Uint8Array }
  | { readonly type: 'notify'; readonly conn: string; readonly fragments: Uint8Array[] }
  | { readonly type: 'disconnect'; readonly conn: string };

export function linkChannelName(link: string): string {
  return `vitalock-test-ble-${link}`;
}

/** The sensor's end: one connection at a time, replaced by each `connect`. */
export function sensorEnd(link: string, device: SensorDevice): { readonly connection: () => SensorConnection | undefined } {
  const channel = new BroadcastChannel(linkChannelName(link));
  let current: { conn: string; connection: SensorConnection } | undefined;
  const post = (message: LinkMessage) => channel.postMessage(message);
  channel.onmessage = (e: MessageEvent<LinkMessage>) => {
    const m = e.data;
    switch (m.type) {
      case 'connect': {
        current?.connection.disconnect();
        const connection = device.connect(m.attMtu);
        const ours = { conn: m.conn, connection };
        current = ours;
        let scheduled = false;
        connection.onFragmentReady(() => {
          if (scheduled) return;
          scheduled = true;
          setTimeout(() => {
            scheduled = false;
            const fragments: Uint8Array[] = [];
            for (let f = connection.takeFragment(); f !== undefined && current === ours; f = connection.takeFragment()) fragments.push(f);
            if (fragments.length > 0) post({ type: 'notify', conn: m.conn, fragments });
          }, 0);
        });
        post({ type: 'connected', conn: m.conn });
        break;
      }
      case 'write':
        if (current?.conn === m.conn) current.connection.receiveFragment(m.fragment);
        break;
      case 'disconnect':
        if (current?.conn === m.conn) {
          current.connection.disconnect();
          current = undefined;
        }
        break;
    }
  };
  return { connection: () => current?.connection };
}

/** The app's end: `connect` resolves once the sensor has the connection. */
export function appEnd(link: string, onNotify: (fragment: Uint8Array) => void) {
  const channel = new BroadcastChannel(linkChannelName(link));
  let conn: string | undefined;
  let connected: (() => void) | undefined;
  channel.onmessage = (e: MessageEvent<LinkMessage>) => {
    const m = e.data;
    if (m.conn !== conn) return;
    if (m.type === 'connected') connected?.();
    else if (m.type === 'notify') for (const f of m.fragments) onNotify(f);
  };
  return {
    connect(attMtu: number): Promise<void> {
      const id = crypto.randomUUID();
      conn = id;
      return new Promise<void>((resolve) => {
        connected = resolve;
        channel.postMessage({ type: 'connect', conn: id, attMtu } satisfies LinkMessage);
      });
    },
    write(fragment: Uint8Array): void {
      if (conn !== undefined) channel.postMessage({ type: 'write', conn, fragment } satisfies LinkMessage);
    },
    disconnect(): void {
      if (conn !== undefined) channel.postMessage({ type: 'disconnect', conn } satisfies LinkMessage);
      conn = undefined;
    },
  };
}
