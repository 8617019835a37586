/**
 * Vite builds what runs in the browser.
 *
 * `vite build` (the default, what `npm run build` runs first): the Vitalock app — `index.html`,
 * the Lit screens, the vault worker, the simulated sensors' worker (demo mode) and the service
 * worker `src/sw/sw.ts` (vite-plugin-pwa, injectManifest: workbox precaches the built shell) —
 * into `dist/app`. Module workers (`worker.format: 'es'`), ES2022, source maps.
 *
 * `vite build --mode core` (run second by `npm run build`): the protocol core as a library into
 * `dist/core`, so its size and its freedom from platform APIs stay checked on every build.
 */
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const core = defineConfig({
  publicDir: false,
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

const app = defineConfig({
  build: {
    outDir: 'dist/app',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The worker bundles (argon2, noble) are large by nature; the page's first screen is not.
    chunkSizeWarningLimit: 600,
  },
  worker: { format: 'es' },
  preview: { host: '127.0.0.1' },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src/sw',
      filename: 'sw.ts',
      // main.ts registers it with workbox-window (the update prompt), not the plugin's script.
      injectRegister: false,
      // public/manifest.webmanifest is the manifest, as written.
      manifest: false,
      injectManifest: {
        rollupFormat: 'es',
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        // Source maps are for developers, not for the offline shell.
        globIgnores: ['**/*.map'],
        maximumFileSizeToCacheInBytes: 4 * 1024 * 1024,
      },
      devOptions: { enabled: false },
    }),
  ],
});

export default defineConfig(({ mode }) => (mode === 'core' ? core : app));
