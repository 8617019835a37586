/**
 * The built app on the same origin as the API (issue 5 §1): files from `dist/app`, and its
 * `index.html` for any other page path (client-side routes). When the app is not built, `/`
 * answers a plain page that says how to build it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vitalock server</title></head>
<body><main><h1>Vitalock server is running</h1>
<p>The app has not been built yet. Stop the server, run <code>npm run build</code>, then start it again.</p>
<p>The API is at <code>/api</code> and FHIR R4 at <code>/fhir</code>.</p></main></body></html>
`;

/**
 * CSP hashes of the inline `<style>` and `<script>` blocks of the built `index.html` (the build
 * inlines its critical CSS), so the policy can stay `'self'` without `'unsafe-inline'`.
 */
export function inlineHashes(appDir: string | undefined): { styles: string[]; scripts: string[] } {
  const file = appDir === undefined ? undefined : join(appDir, 'index.html');
  if (file === undefined || !existsSync(file)) return { styles: [], scripts: [] };
  const html = readFileSync(file, 'utf8');
  const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
  const blocks = (re: RegExp) => [...html.matchAll(re)].map((m) => hash(m[1] ?? ''));
  return { styles: blocks(/<style[^>]*>([\s\S]*?)<\/style>/gi), scripts: blocks(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi) };
}

export const appRoutes =
  (appDir: string | undefined): FastifyPluginAsyncTypebox =>
  async (app) => {
    const built = appDir !== undefined && existsSync(join(appDir, 'index.html'));
    if (!built) {
      app.get('/', { schema: { response: { 200: Type.String() } } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT));
      return;
    }
    await app.register(fastifyStatic, { root: appDir, index: ['index.html'], wildcard: true, cacheControl: true, maxAge: 0 });
  };
