/**
 * The services the screens share, provided once by `<vl-app>` with `@lit/context` and consumed
 * by any element below it (never window globals).
 */
import { createContext } from '@lit/context';
import type { AppConfig } from '../config.js';
import type { AppShell } from './app-shell.js';
import type { SensorHub } from './sensor-hub.js';
import type { VaultSession } from './vault-session.js';

export const vaultContext = createContext<VaultSession>(Symbol('vitalock-vault'));
export const hubContext = createContext<SensorHub>(Symbol('vitalock-sensor-hub'));
export const configContext = createContext<AppConfig>(Symbol('vitalock-config'));
export const shellContext = createContext<AppShell>(Symbol('vitalock-app-shell'));
