/**
 * Before any browser test: check that a Chromium exists (a clear message instead of one launch
 * failure per test), then start Vite's dev server for the test pages on a free localhost port.
 * Its URL reaches the test workers through `VITALOCK_BROWSER_BASE_URL` (workers inherit the
 * environment set here), which `playwright.config.ts` uses as `baseURL`.
 *
 * Set `VITALOCK_BROWSER_BASE_URL` yourself to test against a server you started, e.g.
 * `npx vite --config test/browser/vite.config.ts --port 5199`.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { assertChromiumAvailable } from './chromium.js';

export default async function globalSetup(): Promise<(() => Promise<void>) | undefined> {
  const executable = assertChromiumAvailable();
  if (process.env.VITALOCK_BROWSER_BASE_URL) {
    console.log(`browser tests: ${executable}, pages at ${process.env.VITALOCK_BROWSER_BASE_URL} (external server)`);
    return undefined;
  }
  const server = await createServer({
    configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
    server: { port: Number(process.env.VITALOCK_BROWSER_PORT ?? 0), strictPort: true },
  });
  await server.listen();
  const address = server.httpServer?.address() as AddressInfo | null;
  if (!address) throw new Error('the Vite dev server for the browser tests did not start listening');
  // localhost, not 127.0.0.1: WebAuthn refuses an IP address as the relying party id.
  process.env.VITALOCK_BROWSER_BASE_URL = `http://localhost:${address.port}`;
  console.log(`browser tests: ${executable}, pages at ${process.env.VITALOCK_BROWSER_BASE_URL}`);
  return async () => {
    await server.close();
  };
}
