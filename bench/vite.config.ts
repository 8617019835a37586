/**
 * The dev server for the browser benchmarks (`npm run bench -- worker` starts it from
 * `bench/worker.ts`; `npx vite --config bench/vite.config.ts --port 5299` serves the same pages by
 * hand, e.g. to open `worker-bench.html` in a browser with DevTools).
 *
 * It serves `bench/pages/` as TypeScript straight from the sources: the pages import `src/core`,
 * `sensor/`, `workers/` and the app's vault client, and start module workers with
 * `new Worker(new URL('./x.worker.ts', import.meta.url), { type: 'module' })`. Same settings as
 * the browser tests' server (test/browser/vite.config.ts, which bench/ may not import): no
 * COOP/COEP headers, no file watching, no dependency discovery (it would force-reload the page in
 * the middle of a run).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('./pages', import.meta.url)),
  cacheDir: fileURLToPath(new URL('../node_modules/.vite-bench', import.meta.url)),
  publicDir: false,
  clearScreen: false,
  logLevel: 'warn',
  server: {
    // Served at http://localhost:<port>, like the tests (a secure context without TLS).
    host: '127.0.0.1',
    fs: { strict: true, allow: [repoRoot] },
    hmr: false,
    watch: null,
  },
  optimizeDeps: { noDiscovery: true, include: [] },
  worker: { format: 'es' },
});
