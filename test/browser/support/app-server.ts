/**
 * The BUILT app for the app specs (test/browser/app-*.spec.ts): builds it once per test worker
 * with the project's own `vite.config.ts` (into `dist/app-test`, so a developer's `dist/app` is
 * left alone) and serves it with `vite preview` on a free localhost port — the service worker,
 * the precache and the hashed workers exactly as users get them.
 *
 * Set `VITALOCK_APP_URL` to test an app served elsewhere (then nothing is built here).
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, preview, type PreviewServer } from 'vite';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const OUT_DIR = 'dist/app-test';

export interface AppServer {
  /** `http://localhost:<port>` (localhost: a secure context, and WebAuthn accepts it). */
  readonly url: string;
  close(): Promise<void>;
}

export async function startAppServer(): Promise<AppServer> {
  const external = process.env.VITALOCK_APP_URL;
  if (external) return { url: external.replace(/\/$/, ''), close: async () => undefined };
  const configFile = `${ROOT}vite.config.ts`;
  // A production build, whatever NODE_ENV the test runner set: Vite takes `import.meta.env.PROD`
  // (the service worker's registration) and Lit's production build from it.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: ROOT, configFile, mode: 'production', logLevel: 'warn', build: { outDir: OUT_DIR, sourcemap: false } });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  const server: PreviewServer = await preview({
    root: ROOT,
    configFile,
    logLevel: 'warn',
    build: { outDir: OUT_DIR },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const address = server.httpServer.address() as AddressInfo | null;
  if (!address) throw new Error('vite preview did not start listening');
  return {
    url: `http://localhost:${address.port}`,
    close: () => server.close(),
  };
}
