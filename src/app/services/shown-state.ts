/**
 * A sensor's state in the three words the screens use — connected, reconnecting, offline — from
 * the page's link and the worker's secure session. Shared by the sensor list and the live view.
 */
import type { SensorCard } from '../model/sensor-board.js';
import type { SensorHub } from './sensor-hub.js';

export type ShownState = 'connected' | 'reconnecting' | 'offline';

export const STATE_TEXT: Record<ShownState, string> = { connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline' };

export function linkStateOf(hub: SensorHub, deviceId: string, card: SensorCard | undefined): ShownState {
  const link = hub.linkOf(deviceId);
  if (link === undefined) return 'offline';
  if (link.state === 'reconnecting' || link.state === 'connecting') return 'reconnecting';
  if (card?.session === 'open') return 'connected';
  return card?.session === 'failed' ? 'offline' : 'reconnecting';
}
