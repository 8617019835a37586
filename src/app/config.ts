/**
 * Build-time configuration of the app (Vite `import.meta.env`, set when building):
 *
 * - `VITE_VITALOCK_DEMO`: demo mode, on unless `off`. It offers "Add a simulated sensor" and is
 *   the ONLY way the "Vitalock Simulator" root enters the trust store — its key comes from a
 *   public seed, so a production build for patients sets this to `off`.
 * - `VITE_VITALOCK_TRUST_ROOTS`: the manufacturer roots to trust, JSON
 *   `[{"name": "...", "publicKey": "<64 hex>"}]` (what `npm run ca -- init` writes to
 *   `trust-store.json`).
 */
import { DEMO_CA_NAME, DEMO_CA_PUBLIC_KEY_HEX } from '../core/demo-link.js';

export interface TrustRootConfig {
  readonly name: string;
  readonly publicKey: string;
}

export interface AppConfig {
  readonly demoMode: boolean;
  readonly trustRoots: readonly TrustRootConfig[];
  readonly hubLabel: string;
}

function parseRoots(raw: string | undefined): TrustRootConfig[] {
  if (raw === undefined || raw.trim() === '') return [];
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed)) throw new Error('VITE_VITALOCK_TRUST_ROOTS must be a JSON array');
  return parsed.map((r: unknown) => {
    const root = r as Partial<TrustRootConfig>;
    if (typeof root.name !== 'string' || typeof root.publicKey !== 'string' || !/^[0-9a-fA-F]{64}$/.test(root.publicKey)) {
      throw new Error('each trust root needs a name and a 64-hex-digit publicKey');
    }
    return { name: root.name, publicKey: root.publicKey.toLowerCase() };
  });
}

export function loadConfig(env: Readonly<Record<string, unknown>>): AppConfig {
  const demoMode = env.VITE_VITALOCK_DEMO !== 'off';
  const roots = parseRoots(typeof env.VITE_VITALOCK_TRUST_ROOTS === 'string' ? env.VITE_VITALOCK_TRUST_ROOTS : undefined);
  return {
    demoMode,
    trustRoots: demoMode ? [...roots, { name: DEMO_CA_NAME, publicKey: DEMO_CA_PUBLIC_KEY_HEX }] : roots,
    hubLabel: 'Vitalock app',
  };
}
