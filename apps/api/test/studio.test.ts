// The Studio's static build at /studio: index.html without caching, hashed
// assets cached for a year, a strict CSP, and a clear 404 when it is not built.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { startStack, type Stack } from './harness.js';

const INDEX = '<!doctype html><title>Studio</title><script type="module" src="/studio/assets/index-abc123.js"></script>';

describe('studio static files', () => {
  let stack: Stack;
  let built: FastifyInstance;
  let notBuilt: FastifyInstance;
  const dirs: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ worker: false });
    const dir = await mkdtemp(join(tmpdir(), 'banatie-studio-'));
    const empty = await mkdtemp(join(tmpdir(), 'banatie-studio-empty-'));
    dirs.push(dir, empty);
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'index-abc123.js'), 'console.log("studio")');
    built = await buildApp({ ...stack.deps, studioDir: dir });
    notBuilt = await buildApp({ ...stack.deps, studioDir: empty });
  });

  afterAll(async () => {
    await Promise.allSettled([built?.close(), notBuilt?.close()]);
    await stack?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it.each(['/studio', '/studio/'])('%s answers index.html, not cached, with a strict CSP', async (url) => {
    const res = await built.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toBe(INDEX);
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain('img-src \'self\' http://cdn.test');
    expect(csp).not.toContain('unsafe-inline');
  });

  it('hashed assets are cached for a year', async () => {
    const res = await built.inject({ method: 'GET', url: '/studio/assets/index-abc123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('a missing file is the usual 404 envelope, and paths cannot leave the build directory', async () => {
    for (const url of ['/studio/assets/nope.js', '/studio/../package.json', '/studio/%2e%2e/%2e%2e/package.json']) {
      const res = await built.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
    }
  });

  it('without a build, /studio says so and the API still works', async () => {
    for (const url of ['/studio', '/studio/', '/studio/assets/index-abc123.js']) {
      const res = await notBuilt.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.message).toMatch(/Studio is not built/);
    }
    const health = await notBuilt.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  });
});
