// The publishable packages as npm would ship them: `npm pack` of each, installed
// into an empty project in a temporary directory (no workspace, no monorepo).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The packages a user installs: the SDK and the CLI, and what they depend on. */
export const PUBLISHED = ['packages/contracts', 'packages/sdk', 'packages/cli'] as const;

/** `npm pack` of each published package (compiled dist/ included) into `dir`; the tarballs' paths. */
export async function packAll(dir: string): Promise<string[]> {
  const tarballs: string[] = [];
  for (const pkg of PUBLISHED) {
    const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: join(ROOT, pkg) });
    tarballs.push(join(dir, stdout.trim().split('\n').at(-1)!));
  }
  return tarballs;
}

export interface CleanProject {
  dir: string;
  remove(): Promise<void>;
}

/**
 * An empty ESM project with the tarballs installed. Third-party dependencies
 * (zod) come from npm's cache, else the registry; the @banatie packages only
 * from the tarballs.
 */
export async function cleanProject(tarballs: string[], name = 'banatie-consumer'): Promise<CleanProject> {
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }, null, 2));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs], { cwd: dir, timeout: 300_000 });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
