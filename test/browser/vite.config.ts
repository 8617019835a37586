/**
 * The dev server for the real-browser tests (Playwright starts it in `support/global-setup.ts`;
 * `npx vite --config test/browser/vite.config.ts` serves the same pages by hand for debugging).
 *
 * It serves `test/browser/pages/` as TypeScript straight from the sources — the pages import
 * `src/core`, `sensor/` and `workers/`, and start module workers with
 * `new Worker(new URL('./x.worker.ts', import.meta.url), { type: 'module' })`. No COOP/COEP
 * headers: the pages must work without `crossOriginIsolated`, as the app will.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('./pages', import.meta.url)),
  cacheDir: fileURLToPath(new URL('../../node_modules/.vite-browser-tests', import.meta.url)),
  publicDir: false,
  clearScreen: false,
  logLevel: 'warn',
  server: {
    // Served at http://localhost:<port>: WebAuthn refuses IP addresses as an RP ID.
    host: '127.0.0.1',
    fs: { strict: true, allow: [repoRoot] },
    // Tests load the pages once; no file watching or hot reload on a 2-core machine.
    hmr: false,
    watch: null,
  },
  // Every dependency the pages use (comlink, idb, @noble/*) is plain ESM: serve it as is. Without
  // this, Vite discovers dependencies on the first page load and then force-reloads the page,
  // which would kill whatever a test was doing in it.
  optimizeDeps: { noDiscovery: true, include: [] },
  worker: { format: 'es' },
});
