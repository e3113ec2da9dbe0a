// Invalid configuration stops the compiled processes at start with exit code 1
// and one stderr message naming every bad variable (SPEC §2). Nothing here
// needs PostgreSQL, Redis or storage: the processes must stop before using them.
import { afterAll, describe, expect, it } from 'vitest';
import { API_ENTRY, WORKER_ENTRY, spawnNode, stopAll, type Env } from './helpers/processes.js';
import { startTestStack } from './helpers/stack.js';

afterAll(() => stopAll());

/** Runs an entry point until it exits (it must exit on its own, well before the deadline). */
async function runUntilExit(entry: string, env: Env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnNode(entry, [], env);
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    p.exited,
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 20_000))),
  ]);
  clearTimeout(timer);
  if (result === null) {
    await p.stop('SIGKILL');
    throw new Error(`${entry} kept running with an invalid configuration:\n${p.logs.join('\n')}`);
  }
  return { code: result.code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Exactly one line on stderr: the configuration message. */
function oneMessage(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `stderr:\n${stderr}`).toHaveLength(1);
  expect(lines[0]).toMatch(/^Invalid configuration: /);
  return lines[0]!;
}

// Valid connection settings pointing nowhere, so only the variables under test are wrong.
const UNREACHABLE: Env = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/banatie_config_e2e',
  REDIS_URL: 'redis://127.0.0.1:1',
};

describe.concurrent.each([
  ['api', API_ENTRY],
  ['worker', WORKER_ENTRY],
])('%s with an invalid configuration', (_name, entry) => {
  it('exits 1 with one message naming PORT, WORKER_CONCURRENCY, LOG_LEVEL and CORS_ORIGINS', async () => {
    const r = await runUntilExit(entry, { ...UNREACHABLE, PORT: 'abc', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'loud', CORS_ORIGINS: 'app.example.com' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const message = oneMessage(r.stderr);
    for (const variable of ['PORT', 'WORKER_CONCURRENCY', 'LOG_LEVEL', 'CORS_ORIGINS']) expect(message).toContain(variable);
  });

  it('a TRUST_PROXY that is neither false, true, a hop count nor proxy CIDRs names TRUST_PROXY', async () => {
    const r = await runUntilExit(entry, { ...UNREACHABLE, TRUST_PROXY: '10.0.0.0/33' });
    expect(r.code).toBe(1);
    expect(oneMessage(r.stderr)).toMatch(/TRUST_PROXY must be false, true, a hop count/);
  });

  it('STORAGE_DRIVER=s3 without S3_ENDPOINT names S3_ENDPOINT', async () => {
    const r = await runUntilExit(entry, { ...UNREACHABLE, STORAGE_DRIVER: 's3', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const message = oneMessage(r.stderr);
    expect(message).toContain('S3_ENDPOINT');
    expect(message).not.toMatch(/S3_ACCESS_KEY|S3_SECRET_KEY/);
  });

  it('rate limits that are not non-negative integers, and an S3_ENDPOINT with a path, are named (issues 19, 21)', async () => {
    const r = await runUntilExit(entry, {
      ...UNREACHABLE,
      RATE_LIMIT_PER_HOUR: '-1',
      READ_RATE_LIMIT_PER_MINUTE: '2.5',
      AUTH_FAILURES_PER_IP_PER_MINUTE: 'many',
      S3_ENDPOINT: 'https://s3.amazonaws.com/my-bucket',
      S3_ACCESS_KEY: 'a',
      S3_SECRET_KEY: 'secret-never-printed',
    });
    expect(r.code).toBe(1);
    const message = oneMessage(r.stderr);
    for (const variable of ['RATE_LIMIT_PER_HOUR', 'READ_RATE_LIMIT_PER_MINUTE', 'AUTH_FAILURES_PER_IP_PER_MINUTE', 'S3_ENDPOINT']) expect(message).toContain(variable);
    expect(message).not.toContain('secret-never-printed');
  });
});

describe('worker with storage it cannot use', () => {
  it('exits 1 with one line naming the bucket, the endpoint and the error code, never the secret', async () => {
    const r = await runUntilExit(WORKER_ENTRY, {
      ...UNREACHABLE,
      S3_ENDPOINT: 'http://127.0.0.1:1',
      S3_BUCKET: 'pictures',
      S3_ACCESS_KEY: 'a',
      S3_SECRET_KEY: 'secret-never-printed',
      WORKER_METRICS_PORT: '0',
    });
    expect(r.code).toBe(1);
    const output = r.stdout + r.stderr;
    expect(output).toContain('cannot start: storage bucket pictures at http://127.0.0.1:1: ECONNREFUSED');
    expect(output).not.toContain('secret-never-printed');
  });
});

describe('api with TRUST_PROXY=true', () => {
  it('starts, with a loud warning that any client can claim any address; a hop count starts without it', async () => {
    const stack = await startTestStack({ workers: 0, key: false, env: { TRUST_PROXY: 'true' } });
    try {
      const lines = stack.api.logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg?: string });
      const warning = lines.find((l) => l.msg?.includes('TRUST_PROXY=true'));
      expect(warning?.level).toBe(40);
      expect(warning?.msg).toMatch(/any client can claim any address/);
      const counted = await stack.startApi({ TRUST_PROXY: '1' });
      expect(counted.logs.some((l) => l.includes('TRUST_PROXY'))).toBe(false);
    } finally {
      await stack.stop();
    }
  });
});
