// docs/quickstart.md, tried as written: every file it shows is taken from the
// page, put into an empty directory (with the packed SDK installed where the
// page installs it) and run against the compiled API and worker — the Node
// script, the browser app (Vite, Chromium, CORS) and the static page of live URLs.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildViteApp, chromiumAvailable, CHROMIUM, launchChromium, serveStatic } from './helpers/browser.js';
import { cleanProject, packAll, ROOT, run, type CleanProject } from './helpers/packed.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const EXAMPLE_API = 'https://images.example.com';

/** The files the page shows, by the name in the `<!-- quickstart-file: … -->` line above each code block. */
async function quickstartFiles(): Promise<Map<string, string>> {
  const text = await readFile(join(ROOT, 'docs/quickstart.md'), 'utf8');
  const files = new Map<string, string>();
  for (const m of text.matchAll(/<!-- quickstart-file: (\S+) -->\n```\w*\n([\s\S]*?)\n```/g)) files.set(m[1]!, `${m[2]}\n`);
  return files;
}

async function put(dir: string, name: string, content: string): Promise<void> {
  await mkdir(dirname(join(dir, name)), { recursive: true });
  await writeFile(join(dir, name), content);
}

describe('docs/quickstart.md', () => {
  let files: Map<string, string>;
  let tarballs: CleanProject;
  let nodeApp: CleanProject;
  let browserApp: CleanProject;
  let site: Awaited<ReturnType<typeof serveStatic>>;
  let staticSite: Awaited<ReturnType<typeof serveStatic>>;
  let stack: TestStack;
  let browser: Browser;
  const staticDir = () => join(tarballs.dir, 'static-site');

  beforeAll(async () => {
    expect(chromiumAvailable(), `${CHROMIUM} is missing: run scripts/test.sh (installs Debian's chromium) or apt-get install chromium`).toBe(true);
    files = await quickstartFiles();
    expect([...files.keys()].sort()).toEqual(['browser/.env.local', 'browser/index.html', 'browser/main.js', 'node/make-image.mjs', 'static/index.html']);
    tarballs = await cleanProject([], 'banatie-tarballs');
    const packed = await packAll(tarballs.dir);
    [nodeApp, browserApp] = await Promise.all([cleanProject(packed, 'quickstart-node'), cleanProject(packed, 'quickstart-browser')]);
    await mkdir(staticDir(), { recursive: true });
    [site, staticSite] = await Promise.all([serveStatic(join(browserApp.dir, 'dist')), serveStatic(staticDir())]);
    // The app's origin is allowed, as section 2 says; the project is the page's acme/site.
    stack = await startTestStack({ key: 'acme/site', env: { CORS_ORIGINS: site.url } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await Promise.all([site?.close(), staticSite?.close()]);
    for (const p of [nodeApp, browserApp, tarballs]) await p?.remove();
  });

  it('1. the Node script saves a PNG and prints its URL', async () => {
    await put(nodeApp.dir, 'make-image.mjs', files.get('node/make-image.mjs')!);
    const { stdout } = await run(process.execPath, ['make-image.mjs'], {
      cwd: nodeApp.dir,
      env: { ...process.env, BANATIE_API_KEY: stack.key.key, BANATIE_API_URL: stack.api.url },
    });
    expect(stdout.trim()).toMatch(new RegExp(`^${stack.api.url}/cdn/acme/site/img/[0-9a-f-]{36}$`));
    const png = await readFile(join(nodeApp.dir, 'lighthouse.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('2. the browser app, built by Vite, generates and shows an image from its own origin', async () => {
    for (const name of ['index.html', 'main.js']) await put(browserApp.dir, name, files.get(`browser/${name}`)!);
    const env = files.get('browser/.env.local')!.replace(EXAMPLE_API, stack.api.url).replace('bnt_your_standard_key', stack.key.key);
    await put(browserApp.dir, '.env.local', env);
    await buildViteApp(browserApp.dir);

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${site.url}/`);
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForFunction(() => {
      const img = (globalThis as any).document.querySelector('#result');
      return img?.complete && img.naturalWidth > 0;
    }, undefined, { timeout: 60_000 });
    expect(await page.locator('#status').textContent()).toBe('Done');
    expect(await page.locator('#result').getAttribute('src')).toMatch(new RegExp(`^${stack.api.url}/cdn/acme/site/img/`));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('3. the static page shows its live-URL images, with no key and no build', async () => {
    await put(staticDir(), 'index.html', files.get('static/index.html')!.replaceAll(EXAMPLE_API, stack.api.url));
    const page = await browser.newPage();
    await page.goto(`${staticSite.url}/`);
    await page.waitForFunction(() => {
      const images = [...(globalThis as any).document.images];
      return images.length === 2 && images.every((img: any) => img.complete && img.naturalWidth > 0);
    }, undefined, { timeout: 90_000 });
    await page.close();
    const scope = await fetch(`${stack.api.url}/api/v1/live/scopes/home`, { headers: { 'x-api-key': stack.key.key } });
    expect(((await scope.json()) as { data: { currentGenerations: number } }).data.currentGenerations).toBe(2);
  });
});
