import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendError } from '../plugins/errors.js';

/** apps/studio/dist, from apps/api/{src,dist}/routes/ (the same depth in both). */
export const DEFAULT_STUDIO_DIR = fileURLToPath(new URL('../../../studio/dist/', import.meta.url));

const ASSET_CACHE = 'public, max-age=31536000, immutable';

/** Strict: the Studio's own scripts and styles only; images also from the public CDN origin. */
export function studioCsp(publicBaseUrl: string): string {
  const cdn = new URL(publicBaseUrl).origin;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' ${cdn} blob: data:`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The Studio's static build at /studio (index.html at /studio and /studio/,
 * hashed assets under /studio/assets/). Without a build, /studio says so in a
 * 404 and everything else works as usual.
 */
export async function studioRoutes(app: FastifyInstance, opts: { dir: string; publicBaseUrl: string }): Promise<void> {
  if (!existsSync(join(opts.dir, 'index.html'))) {
    app.log.warn({ dir: opts.dir }, 'studio is not built: /studio answers 404 (run npm run build)');
    const notBuilt = (request: Parameters<typeof sendError>[1], reply: FastifyReply) =>
      sendError(reply, request, { status: 404, code: 'NOT_FOUND', message: 'Studio is not built: run `npm run build` and restart the API' });
    app.get('/studio', { schema: { hide: true } }, notBuilt);
    app.get('/studio/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  const csp = studioCsp(opts.publicBaseUrl);
  const assetsDir = join(opts.dir, 'assets');
  await app.register(fastifyStatic, {
    root: opts.dir,
    prefix: '/studio/',
    index: 'index.html',
    redirect: false,
    cacheControl: false,
    etag: true,
    lastModified: true,
    serveDotFiles: false,
    setHeaders: (res, path) => {
      res.header('content-security-policy', csp);
      res.header('x-content-type-options', 'nosniff');
      res.header('cache-control', path.startsWith(assetsDir) ? ASSET_CACHE : 'no-cache');
    },
  });
  app.get('/studio', { schema: { hide: true } }, (_request, reply) => reply.sendFile('index.html'));
}
