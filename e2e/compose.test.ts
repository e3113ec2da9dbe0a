// Checks the deployment files without a Docker engine: docker-compose.yml must
// be valid for docker-compose (v1, the Debian package scripts/test.sh installs)
// and describe the stack of SPEC §2; the bootstrap scripts must parse.
import { describe, it, expect } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const MISSING =
  'docker-compose is not installed: scripts/test.sh installs it (apt-get install --no-install-recommends docker-compose)';

function compose(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync('docker-compose', ['-f', 'docker-compose.yml', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    // Interpolated variables get their documented defaults.
    env: { ...process.env, GEMINI_API_KEY: '', PUBLIC_BASE_URL: '', COMPOSE_PROJECT_NAME: 'banatie' },
  });
}

/** The lines of one top-level service in `docker-compose config` output. */
function serviceBlock(yaml: string, name: string): string {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => l === `  ${name}:`);
  if (start < 0) return '';
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^ {0,2}\S/.test(l));
  return rest.slice(0, end < 0 ? undefined : end).join('\n');
}

describe('docker-compose.yml', () => {
  it('is valid (docker-compose config -q)', () => {
    const r = compose('config', '-q');
    expect(r.error, MISSING).toBeUndefined();
    expect(r.stderr).not.toMatch(/invalid|error/i);
    expect(r.status, r.stderr).toBe(0);
  });

  it('describes the full stack', () => {
    const r = compose('config');
    expect(r.error, MISSING).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    const yaml = r.stdout;
    for (const service of ['postgres', 'redis', 'minio', 'minio-init', 'migrate', 'api', 'worker']) {
      expect(yaml, `service ${service}`).toMatch(new RegExp(`^  ${service}:$`, 'm'));
    }
    // BullMQ needs noeviction; AOF keeps queued jobs across restarts.
    expect(serviceBlock(yaml, 'redis')).toContain('noeviction');
    expect(serviceBlock(yaml, 'redis')).toMatch(/appendonly/);

    const api = serviceBlock(yaml, 'api');
    expect(api).toContain('3000');
    expect(api).toContain('service_completed_successfully');
    expect(api).toMatch(/S3_ENDPOINT: minio/);
    expect(api).toMatch(/REDIS_URL: redis:\/\/redis:6379/);

    // `docker compose up --scale worker=N` needs no fixed host port or name.
    const worker = serviceBlock(yaml, 'worker');
    expect(worker).not.toBe('');
    expect(worker).not.toMatch(/^ {4}ports:/m);
    expect(worker).not.toMatch(/container_name/);
    expect(worker).toContain('service_completed_successfully');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(`${root}/Dockerfile`, 'utf8');

  it('builds with npm ci, runs as a non-root user, starts the API by default', () => {
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/^USER (?!root)\S+/m);
    expect(dockerfile).toMatch(/^CMD .*apps\/api\/dist\/server\.js/m);
    expect(dockerfile).toMatch(/migrations/);
  });

  it('is fed a context without node_modules, build output or local data', () => {
    const ignore = readFileSync(`${root}/.dockerignore`, 'utf8');
    for (const entry of ['node_modules', 'dist', 'data', '.git']) expect(ignore).toContain(entry);
  });
});

describe('bootstrap scripts', () => {
  it.each(['scripts/lib.sh', 'scripts/dev.sh', 'scripts/test.sh'])('%s parses (bash -n)', (script) => {
    const r = spawnSync('bash', ['-n', script], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});

/**
 * Repositories that no longer serve images: MinIO removed minio/minio and
 * minio/mc from Docker Hub on 2026-09-12 (issue 19); Bitnami moved its Docker
 * Hub catalogue to bitnamilegacy in 2025.
 */
const GONE_REPOSITORIES = [/^(docker\.io\/|index\.docker\.io\/)?minio\/(minio|mc)([:@]|$)/, /^(docker\.io\/)?bitnami\//];

describe('images the deployment files pull', () => {
  const composeImages = (): string[] => {
    const doc = parseYaml(readFileSync(`${root}/docker-compose.yml`, 'utf8')) as { services: Record<string, { image?: string }> };
    return Object.values(doc.services).flatMap((s) => (s.image ? [s.image] : []));
  };

  it('none comes from a repository known to be gone', () => {
    const images = composeImages();
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) for (const gone of GONE_REPOSITORIES) expect(image, `${image} points at a repository that no longer exists`).not.toMatch(gone);
    // The check itself: it would catch the images the stack used before issue 19.
    expect(GONE_REPOSITORIES.some((gone) => gone.test('minio/minio:RELEASE.2025-04-22T22-12-26Z'))).toBe(true);
    expect(GONE_REPOSITORIES.some((gone) => gone.test('docker.io/minio/mc:latest'))).toBe(true);
    expect(GONE_REPOSITORIES.some((gone) => gone.test('quay.io/minio/mc:latest'))).toBe(false);
  });

  it('MinIO and its init job come from quay.io, pinned by tag and digest', () => {
    const minio = composeImages().filter((image) => image.includes('/minio/'));
    expect(minio).toHaveLength(2);
    for (const image of minio) expect(image).toMatch(/^quay\.io\/minio\/(minio|mc):RELEASE\.[0-9TZ-]+@sha256:[0-9a-f]{64}$/);
  });
});
