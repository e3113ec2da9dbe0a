// Browser tests of the SDK: a bundle built with Vite (as an app would), served
// from an origin of its own, run in Debian's Chromium through playwright-core.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build, type Plugin } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BUILTINS = new Set(builtinModules);

/** Fails the build on any import of a Node built-in (`node:fs`, `crypto`, …) instead of letting Vite shim it. */
const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  enforce: 'pre',
  resolveId(id, importer) {
    if (id.startsWith('node:') || BUILTINS.has(id.split('/')[0]!)) this.error(`${importer ?? '?'} imports the Node built-in ${id}`);
    return null;
  },
};

/**
 * Bundles `entry` (ESM, importing `@banatie/sdk` from node_modules the way an
 * app does: its `exports`, compiled dist/) into `outDir/app.js` for browsers.
 * `root` is where node_modules is looked up. Throws on a Node built-in.
 */
export async function bundleForBrowser(entry: string, outDir: string, root: string): Promise<string> {
  await build({
    configFile: false,
    logLevel: 'silent',
    root,
    plugins: [noNodeBuiltins],
    build: {
      outDir,
      emptyOutDir: false,
      target: 'es2022',
      minify: false,
      lib: { entry, formats: ['es'], fileName: () => 'app.js' },
    },
  });
  return readFile(join(outDir, 'app.js'), 'utf8');
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** A static file server for `dir` on 127.0.0.1 (an origin of its own). */
export async function serveStatic(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** `vite build` of an app in `root` (its index.html, its .env files, its node_modules) into `root/dist`; no Node built-ins. */
export async function buildViteApp(root: string): Promise<string> {
  const outDir = join(root, 'dist');
  await build({ configFile: false, logLevel: 'silent', root, plugins: [noNodeBuiltins], build: { outDir, emptyOutDir: true, target: 'es2022' } });
  return outDir;
}
