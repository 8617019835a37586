/// <reference lib="webworker" />
/**
 * The service worker (issue 4 §4): precaches the built app shell — every script, style, icon
 * and the manifest, listed at build time by vite-plugin-pwa (`self.__WB_MANIFEST`) — so after
 * one visit the app opens with no network. Every navigation is answered with the cached
 * `index.html` (the app routes by hash). A new version waits until the user chooses to switch
 * (`SKIP_WAITING` from the update prompt), so nobody is interrupted mid-task.
 *
 * No clinical data passes through here: readings live encrypted in the vault worker's IndexedDB.
 * Imports only workbox (and, when sync arrives, the core).
 */
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | { url: string; revision: string | null })[] };

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html')));

self.addEventListener('message', (event: ExtendableMessageEvent) => {
  if ((event.data as { type?: unknown } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});
