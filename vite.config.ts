/**
 * Vite builds what runs in the browser. Until the app arrives (the app issue adds index.html,
 * Lit, the workers and the service worker), `npm run build` bundles the protocol core — the code
 * the vault worker will run — so its size and its freedom from platform APIs are checked on every
 * build.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist/core',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    lib: {
      entry: {
        'hub-session': 'src/core/hub-session.ts',
        'sensor-channel': 'src/core/sensor-channel.ts',
      },
      formats: ['es'],
    },
  },
});
