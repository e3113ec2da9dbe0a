// SPEC §15: the SDK bundles for browsers with no Node built-ins and works in
// Chromium from another origin against the compiled API with CORS_ORIGINS set:
// createAndWait, readable errors and headers, `for await` over a list, and the
// CDN image usable in a canvas (Access-Control-Allow-Origin: *). An origin not
// in CORS_ORIGINS cannot read the API.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, chromiumAvailable, CHROMIUM, launchChromium, serveStatic } from './helpers/browser.js';
import { cleanProject, packAll, type CleanProject } from './helpers/packed.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const ENTRY = `import { Banatie, BanatieError } from '@banatie/sdk';

window.runSdk = async (baseUrl, apiKey) => {
  const client = new Banatie({ apiKey, baseUrl, maxRetries: 0 });
  const generation = await client.generations.createAndWait({ prompt: 'a browser-made lighthouse', aspectRatio: '1:1' });
  const key = 'browser-' + generation.id;
  const first = await client.generations.create({ prompt: 'replayed in a browser' }, { idempotencyKey: key });
  const again = await client.generations.create({ prompt: 'replayed in a browser' }, { idempotencyKey: key });
  const ids = [];
  for await (const g of client.generations.list({ limit: 1 })) ids.push(g.id);
  let unauthorized;
  try {
    await new Banatie({ apiKey: 'bnt_' + 'x'.repeat(40), baseUrl, maxRetries: 0 }).project.get();
  } catch (err) {
    unauthorized = err instanceof BanatieError ? { code: err.code, status: err.status, requestId: Boolean(err.requestId) } : String(err);
  }
  const img = new Image();
  img.crossOrigin = 'anonymous';
  img.src = generation.outputImage.url;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  canvas.getContext('2d').drawImage(img, 0, 0);
  // Throws (a tainted canvas) unless the CDN answered with Access-Control-Allow-Origin.
  const pixels = canvas.toDataURL('image/png').length;
  return { status: generation.status, replayed: again.replayed, sameId: first.generation.id === again.generation.id, listed: ids.length, unauthorized, pixels };
};

window.tryFromElsewhere = async (baseUrl, apiKey) => {
  try {
    await new Banatie({ apiKey, baseUrl, maxRetries: 0 }).project.get();
    return 'read';
  } catch (err) {
    return err instanceof BanatieError ? err.code : String(err);
  }
};
`;

const PAGE = '<!doctype html><meta charset="utf-8"><title>sdk</title><script type="module" src="/app.js"></script>';

describe('the SDK in Chromium', () => {
  let project: CleanProject;
  let tarballs: CleanProject;
  let dir: string;
  let site: Awaited<ReturnType<typeof serveStatic>>;
  let other: Awaited<ReturnType<typeof serveStatic>>;
  let stack: TestStack;
  let browser: Browser;
  let bundle: string;

  beforeAll(async () => {
    expect(chromiumAvailable(), `${CHROMIUM} is missing: run scripts/test.sh (installs Debian's chromium) or apt-get install chromium`).toBe(true);
    // The app is its own project with the packed SDK installed, as a user would have it.
    tarballs = await cleanProject([], 'banatie-tarballs');
    project = await cleanProject(await packAll(tarballs.dir), 'banatie-browser-app');
    dir = await mkdtemp(join(tmpdir(), 'banatie-browser-site-'));
    await writeFile(join(project.dir, 'entry.js'), ENTRY);
    await writeFile(join(dir, 'index.html'), PAGE);
    bundle = await bundleForBrowser(join(project.dir, 'entry.js'), dir, project.dir);
    [site, other] = await Promise.all([serveStatic(dir), serveStatic(dir)]);
    stack = await startTestStack({ key: 'acme/browser', env: { CORS_ORIGINS: site.url } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await Promise.all([site?.close(), other?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
    await project?.remove();
    await tarballs?.remove();
  });

  async function open(url: string): Promise<Page> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(url);
    await page.waitForFunction(() => typeof (globalThis as unknown as { runSdk?: unknown }).runSdk === 'function');
    expect(errors).toEqual([]);
    return page;
  }

  it('bundles without Node built-ins', () => {
    expect(bundle).toContain('var Banatie = class');
    expect(bundle).not.toMatch(/from ["']node:/);
  });

  it('runs against the API from an allowed origin', async () => {
    const page = await open(`${site.url}/`);
    const result = await page.evaluate(([url, key]) => (globalThis as any).runSdk(url, key), [stack.api.url, stack.key.key] as const);
    expect(result).toMatchObject({ status: 'success', replayed: true, sameId: true, unauthorized: { code: 'UNAUTHORIZED', status: 401, requestId: true } });
    // Two generations, one page each (limit 1): the replayed create made none.
    expect(result.listed).toBe(2);
    expect(result.pixels).toBeGreaterThan(100);
    await page.close();
  });

  it('cannot read the API from an origin not in CORS_ORIGINS', async () => {
    const page = await open(`${other.url}/`);
    expect(await page.evaluate(([url, key]) => (globalThis as any).tryFromElsewhere(url, key), [stack.api.url, stack.key.key] as const)).toBe('NETWORK_ERROR');
    await page.close();
  });
});
