// The Studio end to end: the compiled API (serving apps/studio/dist) and a
// worker as processes, driven in Debian's headless Chromium by playwright-core
// (which never downloads a browser; scripts/test.sh installs chromium).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, type ApiProcess, type Env } from './helpers/processes.js';
import { createKey, startTestStack, type TestStack } from './helpers/stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const STUDIO_BUILD = join(ROOT, 'apps/studio/dist/index.html');
const UI_TIMEOUT = 30_000;
/** What runs inside the page (tests are type-checked without the DOM lib). */
interface LoadedImage {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
}
const imageLoaded = (img: unknown) => (img as LoadedImage).complete && (img as LoadedImage).naturalWidth > 0;
/** Set to a directory to keep screenshots of each step (desktop and 375 px wide). */
const SCREENSHOTS = process.env.STUDIO_SCREENSHOTS;

describe('Studio in headless Chromium', () => {
  let stack: TestStack;
  let api: ApiProcess;
  /** A standard key (the default): the session the tests run in. */
  let key: string;
  let keyId: string;
  let adminKey: string;
  let env: Env;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let pricingDir: string | undefined;

  const apiGet = async (path: string) => {
    const res = await fetch(`${api.url}/api/v1${path}`, { headers: { 'x-api-key': key } });
    const body = (await res.json()) as { data: any };
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body.data;
  };

  async function shot(name: string): Promise<void> {
    if (!SCREENSHOTS) return;
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-375.png`), fullPage: true });
    await page.setViewportSize({ width: 1200, height: 900 });
  }

  const nav = (name: string) => page.getByRole('navigation', { name: 'Studio' }).getByRole('link', { name, exact: true }).click();

  /** Polls `check` until it returns a value (not undefined) or the deadline passes. */
  async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = UI_TIMEOUT): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/test.sh (installs Debian's chromium) or apt-get install chromium`).toBe(true);
    expect(existsSync(STUDIO_BUILD), 'apps/studio is not built: run npm run build').toBe(true);
    // The local provider is free; priced here so the usage page has a cost chart to draw.
    pricingDir = mkdtempSync(join(tmpdir(), 'banatie-studio-pricing-'));
    const pricingFile = join(pricingDir, 'prices.json');
    writeFileSync(pricingFile, JSON.stringify({ local: { standard: { input: 1, textOutput: 2, imageOutput: { '1K': 0.05 } } } }));
    stack = await startTestStack({ key: 'acme/studio', env: { PRICING_FILE: pricingFile } });
    ({ env, api } = stack);
    ({ key, keyId } = stack.key);
    adminKey = (await createKey('acme/studio', env, 'admin')).key;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.setDefaultTimeout(UI_TIMEOUT);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      // A CSP violation would show up here.
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) pageErrors.push(msg.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (pricingDir) rmSync(pricingDir, { recursive: true, force: true });
  });

  it('a wrong key shows a clear message and stays on the sign-in screen', async () => {
    await page.goto(`${api.url}/studio`);
    await page.getByLabel('Project API key').fill(`bnt_${'x'.repeat(40)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('This API key was not accepted');
    expect(await page.getByLabel('Project API key').isVisible()).toBe(true);
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(0);
    await shot('sign-in');
  });

  it('signs in with a real key (kept in sessionStorage only)', async () => {
    await page.getByLabel('Project API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Studio' }).waitFor();
    expect(await page.getByTestId('project-name').textContent()).toBe('acme/studio');
    expect(await page.evaluate(() => Object.values((globalThis as unknown as { sessionStorage: object }).sessionStorage))).toEqual([key]);
    expect(await page.evaluate(() => (globalThis as unknown as { localStorage: { length: number } }).localStorage.length)).toBe(0);
  });

  it('creates a generation from the form and shows its image once it succeeds', async () => {
    await nav('New generation');
    await page.getByLabel('Prompt', { exact: true }).fill('a lighthouse on a cliff at dawn');
    await page.getByRole('radio', { name: '16:9' }).check();
    await page.getByLabel('Auto-enhance the prompt').uncheck();
    await page.getByLabel('Cancel after (optional)').selectOption({ label: '5 minutes' });
    const submitted = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/generations');
    await page.getByRole('button', { name: 'Generate' }).click();
    expect((await submitted).headers()['cancel-after']).toBe('5m');
    await page.locator('[data-testid="generation-result"][data-status="success"]').waitFor();
    const image = page.getByTestId('result-image');
    await page.waitForFunction(imageLoaded, await image.elementHandle());
    const size = await image.evaluate((img) => ({ w: (img as unknown as LoadedImage).naturalWidth, h: (img as unknown as LoadedImage).naturalHeight }));
    expect(size.w / size.h).toBeCloseTo(16 / 9, 1);
    await shot('new-generation');
  });

  it('the generation detail shows the prompt, timings and actions; regenerate runs it again in place', async () => {
    await page.getByTestId('generation-result').getByRole('link').first().click();
    await page.getByRole('heading', { name: /^Generation / }).waitFor();
    const id = page.url().split('/').pop()!;
    expect(await page.locator('.facts').textContent()).toContain('a lighthouse on a cliff at dawn');
    expect(await page.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);
    const before = await apiGet(`/generations/${id}`);
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await eventually('the regeneration to finish', async () => {
      const g = await apiGet(`/generations/${id}`);
      // The local provider is deterministic: same bytes and version, but a new run.
      return g.status === 'success' && g.completedAt > before.completedAt ? g : undefined;
    });
    await page.locator('.view-head [data-status="success"]').waitFor();
    await page.waitForFunction(imageLoaded, await page.getByTestId('generation-output').elementHandle());
    await page.getByText('Webhook attempts').waitFor();
    await shot('generation-detail');
  });

  it('the generations list updates live over SSE (no reload)', async () => {
    await nav('Generations');
    await page.getByTestId('live-indicator').filter({ hasText: 'Live' }).waitFor();
    const res = await fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'made elsewhere, shown live', autoEnhance: false }),
    });
    const { data } = (await res.json()) as { data: { id: string } };
    await page.locator(`[data-generation-id="${data.id}"] [data-status="success"]`).waitFor();
    await shot('generations');
  });

  it('uploads an image by the file input behind the drop zone, shows a refused type, and gives it an alias', async () => {
    await nav('Images');
    const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 200, g: 60, b: 40 } } }).png().toBuffer();
    const input = page.getByTestId('upload-input');
    await input.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await page.getByRole('list', { name: 'Upload results' }).getByText(/notes\.txt: Unsupported file type/).waitFor();
    await input.setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: png });
    await page.getByRole('link', { name: 'uploaded, open it' }).click();
    await page.getByRole('textbox', { name: 'Project alias' }).fill('@studio-logo');
    await page.getByRole('button', { name: 'Set alias' }).click();
    await page.getByRole('heading', { name: 'Image @studio-logo' }).waitFor();
    const resolved = await apiGet('/images/resolve/%40studio-logo');
    expect(resolved.image).toMatchObject({ alias: '@studio-logo', source: 'uploaded', width: 400, height: 300 });
  });

  it('sets a focal point by clicking on the image; the API has it', async () => {
    const { image } = await apiGet('/images/resolve/%40studio-logo');
    const picker = page.getByTestId('focal-picker');
    const box = (await picker.boundingBox())!;
    await picker.click({ position: { x: box.width * 0.25, y: box.height * 0.75 } });
    const saved = await eventually('the focal point to be saved', async () => {
      const img = await apiGet(`/images/${image.id}`);
      return img.focalPoint ?? undefined;
    });
    expect(saved.x).toBeCloseTo(0.25, 1);
    expect(saved.y).toBeCloseTo(0.75, 1);
    await page.getByTestId('focal-point').filter({ hasText: `${saved.x}, ${saved.y}` }).waitFor();
    // The keyboard does the same: arrows move the point, Enter saves it.
    await picker.focus();
    await picker.press('ArrowRight');
    await picker.press('ArrowRight');
    await picker.press('Enter');
    const moved = await eventually('the keyboard focal point to be saved', async () => {
      const img = await apiGet(`/images/${image.id}`);
      return img.focalPoint.x > saved.x ? img.focalPoint : undefined;
    });
    expect(moved.x).toBeCloseTo(saved.x + 0.1, 2);
    expect(moved.y).toBe(saved.y);
    await shot('image-detail');
  });

  it('a taken alias shows the 409 conflict on another image', async () => {
    await nav('Images');
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 20, g: 90, b: 200 } } }).png().toBuffer();
    await page.getByTestId('upload-input').setInputFiles({ name: 'second.png', mimeType: 'image/png', buffer: png });
    await page.getByRole('link', { name: 'uploaded, open it' }).click();
    await page.getByRole('textbox', { name: 'Project alias' }).fill('@studio-logo');
    await page.getByRole('button', { name: 'Set alias' }).click();
    await page.getByRole('alert').filter({ hasText: 'Alias already exists' }).waitFor();
  });

  it('completes @aliases in the prompt from the keyboard', async () => {
    await nav('New generation');
    const prompt = page.getByLabel('Prompt', { exact: true });
    await prompt.click();
    await prompt.pressSequentially('a mug with @stu');
    await page.getByRole('option', { name: '@studio-logo' }).waitFor();
    await prompt.press('Enter');
    expect(await prompt.inputValue()).toBe('a mug with @studio-logo ');
    expect(await page.getByRole('listbox', { name: 'Aliases' }).isHidden()).toBe(true);
  });

  it('builds a signed live URL and its preview image loads', async () => {
    await nav('Live URLs');
    await page.getByLabel('Scope', { exact: true }).fill('studio');
    await page.getByLabel('Prompt', { exact: true }).fill('a paper boat on a pond');
    await page.getByRole('button', { name: 'Build URL' }).click();
    const url = await page.getByLabel('Signed URL').inputValue();
    expect(url).toMatch(new RegExp(`^${api.url}/cdn/acme/studio/live/studio\\?.*sig=`));
    expect(await page.getByLabel('HTML snippet').inputValue()).toMatch(/^<img src="http:\/\/127\.0\.0\.1:\d+\/cdn\/acme\/studio\/live\/studio\?.*" alt="a paper boat on a pond">$/);
    const preview = page.getByTestId('live-preview');
    await page.waitForFunction(imageLoaded, await preview.elementHandle(), { timeout: UI_TIMEOUT });
    await shot('live');
    if (SCREENSHOTS) {
      await nav('Flows');
      await page.locator('.flow-list .chain img').first().waitFor();
      await shot('flows');
    }
    expect(pageErrors).toEqual([]);
  });

  it('the usage page shows this month’s totals as the API reports them, and a chart of cost per day', async () => {
    const report = await apiGet('/usage');
    expect(report.totals.costUsd).toBeGreaterThan(0);
    await nav('Usage');
    const cost = page.getByTestId('usage-cost');
    await cost.waitFor();
    expect(await cost.textContent()).toBe(`$${report.totals.costUsd.toFixed(2)}`);
    expect(await page.getByTestId('usage-totals').textContent()).toContain(`${report.totals.generations} (${report.totals.succeeded} succeeded`);
    const bars = page.getByTestId('usage-chart').locator('rect');
    expect(await bars.count()).toBe(new Date().getUTCDate());
    expect(await bars.last().getAttribute('height')).toBe('120');
    await page.getByTestId('usage-models').getByRole('cell', { name: 'local', exact: true }).waitFor();
    await shot('usage');
  });

  it('submits a batch of prompts and shows its progress to completion', async () => {
    await nav('Batches');
    await page.getByLabel('Prompts, one per line').fill('a studio batch one\na studio batch two');
    await page.getByRole('button', { name: 'Submit batch' }).click();
    await page.getByTestId('batch').first().waitFor({ timeout: UI_TIMEOUT });
    const [batch] = (await apiGet('/batches?limit=1')) as Array<{ id: string; status: string }>;
    let status = batch!.status;
    while (status !== 'completed') status = ((await apiGet(`/batches/${batch!.id}`)) as { status: string }).status;
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('[data-testid="batch"][data-status="completed"]').first().waitFor({ timeout: UI_TIMEOUT });
    expect(pageErrors).toEqual([]);
  });

  it('a pending generation shows its queue position, which moves as the queue does (no worker for a while)', async () => {
    for (const worker of stack.workers) await worker.stop();
    const submit = async (prompt: string) => {
      const res = await fetch(`${api.url}/api/v1/generations`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt, autoEnhance: false }),
      });
      return ((await res.json()) as { data: { id: string } }).data.id;
    };
    const ahead = await submit('first in a queue with no worker');
    const id = await submit('second in a queue with no worker');
    await page.goto(`${api.url}/studio#/generations/${id}`);
    await page.getByTestId('queue-position').filter({ hasText: /^2$/ }).waitFor();
    expect(await page.locator('.facts').textContent()).toContain('Queue position2');
    await shot('generation-queued');

    const cancelled = await fetch(`${api.url}/api/v1/generations/${ahead}/cancel`, { method: 'POST', headers: { 'x-api-key': key } });
    expect(cancelled.status).toBe(200);
    await page.getByTestId('queue-position').filter({ hasText: /^1$/ }).waitFor();

    await stack.startWorker();
    await page.locator('.view-head [data-status="success"]').waitFor();
    expect(await page.getByTestId('queue-position').count()).toBe(0);
  });

  it('a standard key: the role is shown, settings are read-only, the secrets hidden', async () => {
    expect(await page.getByTestId('key-role').textContent()).toBe('standard key');
    await nav('Project');
    await page.getByTestId('admin-needed').waitFor();
    await page.getByTestId('secrets-hidden').waitFor();
    expect(await page.getByLabel('Style prompt (appended to every prompt)').isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Save settings' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Rotate/ }).count()).toBe(0);
    const project = await apiGet('/project');
    expect(project.webhookSecret).toBeUndefined();
    expect(await page.content()).not.toContain('whsec_');
    await shot('project-standard');
  });

  it('an admin key: the secrets are shown, a rotation says until when the old one is accepted, settings save', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Project API key').fill(adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('key-role').filter({ hasText: 'admin key' }).waitFor();
    await nav('Project');
    const asAdmin = async () => {
      const res = await fetch(`${api.url}/api/v1/project`, { headers: { 'x-api-key': adminKey } });
      return ((await res.json()) as { data: any }).data;
    };
    const before = await asAdmin();
    expect(await page.getByLabel('Webhook signing secret').inputValue()).toBe(before.webhookSecret);
    expect(await page.getByLabel('Live URL signing secret').inputValue()).toBe(before.liveSigningSecret);

    await page.getByTestId('secret-webhook').getByLabel('The current secret stops working').selectOption({ label: 'after 1 hour' });
    await page.getByRole('button', { name: 'Rotate webhook secret' }).click();
    await page.getByTestId('previous-webhook').waitFor();
    const after = await asAdmin();
    expect(after.webhookSecret).not.toBe(before.webhookSecret);
    expect(await page.getByLabel('Webhook signing secret').inputValue()).toBe(after.webhookSecret);
    expect(Date.parse(after.secrets.webhook.previousSecretExpiresAt)).toBeGreaterThan(Date.now() + 3_000_000);
    expect(after.liveSigningSecret).toBe(before.liveSigningSecret);

    await page.getByLabel('Style prompt (appended to every prompt)').fill('soft watercolour');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await eventually('the settings to be saved', async () => ((await asAdmin()).settings.stylePrompt === 'soft watercolour' ? true : undefined));
    await shot('project-admin');

    // Back to the standard key for the last test.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Project API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('key-role').filter({ hasText: 'standard key' }).waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('a key revoked mid-session goes back to the sign-in screen with the reason (runs last)', async () => {
    const revoked = await runCli(['key', 'revoke', keyId], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    await eventually('the API to refuse the key', async () => {
      const res = await fetch(`${api.url}/api/v1/project`, { headers: { 'x-api-key': key } });
      await res.arrayBuffer();
      return res.status === 401 ? true : undefined;
    });
    await nav('Images');
    await page.getByRole('alert').filter({ hasText: 'This API key was not accepted' }).waitFor();
    expect(await page.getByLabel('Project API key').isVisible()).toBe(true);
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(0);
  });
});
