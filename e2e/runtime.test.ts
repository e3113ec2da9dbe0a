// SPEC §10: the project runs on the Node 24 it brings from the npm registry,
// whatever the machine's own `node` is, and keeps test-only packages out of
// what it ships.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, freePort } from './helpers/processes.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const run = promisify(execFile);

/** PATH without the project's node_modules/.bin: what a shell on this machine has before any npm script. */
function machinePath(): string {
  return (process.env.PATH ?? '').split(delimiter).filter((dir) => !dir.includes('node_modules')).join(delimiter);
}

async function machineNodeMajor(): Promise<number> {
  const { stdout } = await run('node', ['-p', 'process.versions.node'], { env: { ...process.env, PATH: machinePath() } });
  return Number(stdout.trim().split('.')[0]);
}

describe('the project Node', () => {
  it('npm exec, npx and npm run node 24 from the project root whatever node is first on PATH', async () => {
    const env = { ...process.env, PATH: machinePath() };
    for (const [cmd, args] of [
      ['npm', ['exec', '--', 'node', '-v']],
      ['npx', ['--no-install', 'node', '-v']],
      ['npm', ['run', '--silent', 'runtime']],
    ] as const) {
      const { stdout } = await run(cmd, [...args], { cwd: ROOT, env });
      expect(stdout.trim(), `${cmd} ${args.join(' ')}`).toMatch(/^v24\./);
    }
  });

  it('the test runner itself runs on node 24', () => {
    expect(process.versions.node).toMatch(/^24\./);
  });

  it('.nvmrc says 24, engines say >=22.12 and the Dockerfile builds on node 24', async () => {
    expect((await readFile(join(ROOT, '.nvmrc'), 'utf8')).trim()).toBe('24');
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };
    expect(pkg.engines.node).toBe('>=22.12');
    expect(pkg.devDependencies.node).toMatch(/^24\./);
    expect(await readFile(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^ARG NODE_IMAGE=node:24[.-]/m);
  });
});

describe("the API's Node flags", () => {
  it('are the same in npm run start:api, the Docker image and docker-compose.yml, and dev.sh runs the npm scripts', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const flags = pkg.scripts['start:api']!.split(/\s+/).filter((a) => a.startsWith('--'));
    expect(flags).toEqual(['--max-semi-space-size=16', '--heap-growing-percent=50']);
    const inJsonArray = flags.map((f) => `"${f}"`).join(', ');
    expect(await readFile(join(ROOT, 'Dockerfile'), 'utf8')).toContain(`CMD ["node", ${inJsonArray}, "apps/api/dist/server.js"]`);
    expect(await readFile(join(ROOT, 'docker-compose.yml'), 'utf8')).toContain(`command: ["node", ${inJsonArray}, "apps/api/dist/server.js"]`);
    const devSh = await readFile(join(ROOT, 'scripts/dev.sh'), 'utf8');
    expect(devSh).toContain('npm run --silent start:api');
    expect(devSh).not.toMatch(/node apps\/api\/dist\/server\.js/);
  });
});

describe('what ships', () => {
  const workspaces = ['apps', 'packages'].flatMap((dir) => readdirSync(join(ROOT, dir)).map((name) => join(dir, name)));

  it('no runtime dependency on the testing package or s3rver in any workspace', async () => {
    const offending: string[] = [];
    for (const ws of workspaces) {
      const file = join(ROOT, ws, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(await readFile(file, 'utf8')) as { dependencies?: Record<string, string> };
      for (const name of Object.keys(pkg.dependencies ?? {})) if (name === '@banatie/testing' || name === 's3rver') offending.push(`${ws}: ${name}`);
    }
    expect(offending).toEqual([]);
  });

  it('s3rver is not in the production dependency tree (npm ls --omit=dev)', async () => {
    const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, maxBuffer: 32 * 1024 * 1024 }).catch((err: { stdout: string }) => err);
    const paths = stdout.split('\n').filter(Boolean);
    expect(paths.length).toBeGreaterThan(50);
    expect(paths.filter((p) => /node_modules[/\\]s3rver$/.test(p))).toEqual([]);
  });

  it('the Docker image drops the testing workspace after building', async () => {
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/rm -rf[^\n]*packages\/testing[^\n]*node_modules\/@banatie\/testing/);
  });
});

describe('nodejs_version_info in /metrics', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ key: false, apis: 0, workers: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('the API and the worker report node 24', async () => {
    const metricsPort = await freePort();
    const [api] = await Promise.all([stack.startApi(), stack.startWorker({ WORKER_METRICS_PORT: String(metricsPort), HOST: '127.0.0.1' })]);
    for (const url of [`${api.url}/metrics`, `http://127.0.0.1:${metricsPort}/metrics`]) {
      const text = await (await fetch(url)).text();
      expect(text, url).toMatch(/^nodejs_version_info\{version="v24\.[^"]+",major="24",/m);
    }
  });
});

describe('scripts/dev.sh on a machine that cannot reach the registry', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'banatie-offline-'));
    // What npm ci reads: the manifests and the lockfile; plus the scripts.
    for (const file of ['package.json', 'package-lock.json', '.nvmrc']) await cp(join(ROOT, file), join(dir, file));
    await cp(join(ROOT, 'scripts'), join(dir, 'scripts'), { recursive: true });
    for (const bin of ['apps/cli/bin', 'packages/cli/bin']) await cp(join(ROOT, bin), join(dir, bin), { recursive: true });
    for (const ws of ['apps', 'packages'].flatMap((d) => readdirSync(join(ROOT, d)).map((n) => join(d, n)))) {
      if (!existsSync(join(ROOT, ws, 'package.json'))) continue;
      await mkdir(join(dir, ws), { recursive: true });
      await cp(join(ROOT, ws, 'package.json'), join(dir, ws, 'package.json'));
    }
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stops with one message saying what is missing and leaves no node_modules', async () => {
    const env = {
      ...process.env,
      PATH: machinePath(),
      npm_config_registry: 'http://127.0.0.1:1/',
      npm_config_cache: join(dir, '.npm-cache'),
      npm_config_fetch_retries: '0',
    };
    const result = await run('bash', ['scripts/dev.sh'], { cwd: dir, env }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(1);
    const message = result.stderr.split('\n').filter((l) => l.startsWith('[banatie] error:'));
    expect(message).toHaveLength(1);
    expect(message[0]).toContain('npm ci failed');
    expect(message[0]).toContain('http://127.0.0.1:1/');
    if ((await machineNodeMajor()) < 22) expect(message[0]).toMatch(/this machine's Node\.js is v\d+\.\d+\.\d+ \(Banatie needs 22\.12 or newer\)/);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    expect(readdirSync(join(dir, 'apps/api'))).toEqual(['package.json']);
  });
});
