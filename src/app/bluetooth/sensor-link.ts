/**
 * What the app sees of one sensor's Bluetooth link (docs/protocol.md §2.1): opaque fragments in
 * and out, and the link's state. The Web Bluetooth adapter (`web-bluetooth-link.ts`) implements
 * it; the screens and the vault worker code against this interface only, so demo mode can put an
 * in-page link behind the same shape.
 */
export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface SensorLink {
  readonly id: string;                 // the link id given to the vault worker
  readonly deviceName: string;
  readonly attMtu: number;
  readonly state: LinkState;
  write(fragment: Uint8Array): Promise<void>;   // to `control`, one GATT op at a time
  close(): Promise<void>;
}

export interface LinkListener {
  fragment(link: SensorLink, fragment: Uint8Array): void;     // from `data`
  state(link: SensorLink, state: LinkState, reason?: string): void;
}
