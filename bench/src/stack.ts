// The benchmark's own stack: a fresh database, its own QUEUE_PREFIX, the
// compiled API and workers as processes, the fake Gemini server (reached by
// the real SDK), and the bare baselines.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, testQueuePrefix, TEST_REDIS_URL, type TestDatabase } from '@banatie/testing';
import { Cluster, Redis } from 'ioredis';
import { ROOT, freePort, spawnNode, untilReady, type Child } from './procs.js';

export const API_POOL_MAX = 20;

export interface Stack {
  db: TestDatabase;
  prefix: string;
  baselinePrefix: string;
  redisUrl: string;
  /** REDIS_CLUSTER_NODES of the service processes; the baselines stay on the single Redis. */
  redisClusterNodes: string | undefined;
  storageDir: string;
  fakeGeminiUrl: string;
  fake: Child;
  api: Child & { url: string };
  baseline: Child & { url: string };
  key: string;
  projectId: string;
  bytesFile: string;
  /** Another API process on the same stack (the fleet section runs several). */
  startApi(): Promise<Child & { url: string }>;
  /** A key of a project (`org/project`, created when missing) and a master key (admin API), through the CLI. */
  createKey(target: string): { key: string; projectId: string };
  createMasterKey(): string;
  startWorkers(count: number, concurrency: number): Promise<Child[]>;
  startBaselineWorker(concurrency: number): Promise<Child>;
  setGemini(behaviour: object): Promise<void>;
  close(): Promise<void>;
}

function serviceEnv(s: {
  dbUrl: string;
  redisUrl: string;
  redisClusterNodes: string | undefined;
  prefix: string;
  storageDir: string;
  fakeGeminiUrl: string;
}): Record<string, string> {
  return {
    DATABASE_URL: s.dbUrl,
    REDIS_URL: s.redisUrl,
    ...(s.redisClusterNodes ? { REDIS_CLUSTER_NODES: s.redisClusterNodes } : {}),
    QUEUE_PREFIX: s.prefix,
    STORAGE_DRIVER: 'fs',
    STORAGE_DIR: s.storageDir,
    IMAGE_PROVIDER: 'gemini',
    GEMINI_API_KEY: 'bench-fake-key',
    GEMINI_BASE_URL: s.fakeGeminiUrl,
    // On, but never reached: the submit and poll rows include the limit's Redis round trip (SPEC §17).
    RATE_LIMIT_PER_HOUR: '1000000000',
    READ_RATE_LIMIT_PER_MINUTE: '1000000000',
    LIVE_MISS_PER_IP_PER_HOUR: '1000000',
    SWEEP_INTERVAL_MS: '600000',
    // Several workers on one host; their metrics are not part of the bench.
    WORKER_METRICS_PORT: '0',
    // Fastify's two lines per request would measure pino and the pipe, not the
    // service; workers keep `info` (one line per job, and their ready signal).
    LOG_LEVEL: 'warn',
  };
}

function announced(child: Child, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const check = () => {
      for (const line of child.logs) {
        const m = pattern.exec(line.trim());
        if (m) return resolve(m[1] ?? line);
      }
      setTimeout(check, 20);
    };
    check();
  });
}

async function pollHealth(url: string): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `banatie key create <args> --json`: its JSON answer. */
function cliKey<T>(env: Record<string, string>, args: string[]): T {
  const out = execFileSync(process.execPath, ['apps/cli/dist/main.js', 'key', 'create', ...args, '--json'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

function createKey(env: Record<string, string>, target = 'bench/bench'): { key: string; projectId: string } {
  const parsed = cliKey<{ key: string; projectId: string }>(env, [target]);
  return { key: parsed.key, projectId: parsed.projectId };
}

/** The API's Node flags from `npm run start:api`, so the bench runs the API as production does. */
function apiNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return pkg.scripts['start:api']!.split(/\s+/).filter((arg) => arg.startsWith('--'));
}

export async function startStack(opts: { profileDir?: string; redisClusterNodes?: string; serviceEnv?: Record<string, string> } = {}): Promise<Stack> {
  const db = await createTestDatabase();
  const prefix = `bench_${testQueuePrefix()}`;
  const baselinePrefix = `${prefix}_base`;
  const redisUrl = TEST_REDIS_URL;
  const workDir = mkdtempSync(join(tmpdir(), 'banatie-bench-'));
  const storageDir = join(workDir, 'storage');
  const bytesFile = join(workDir, 'bytes.bin');
  writeFileSync(bytesFile, Buffer.alloc(200 * 1024, 7));

  const fake = spawnNode('fake-gemini', 'packages/testing/dist/fake-gemini-server.js', ['--port', '0'], {});
  const fakeGeminiUrl = await untilReady(fake, announced(fake, /^FAKE_GEMINI_URL=(\S+)$/));
  const { redisClusterNodes } = opts;
  const env = { ...serviceEnv({ dbUrl: db.url, redisUrl, redisClusterNodes, prefix, storageDir, fakeGeminiUrl }), ...opts.serviceEnv };
  const profiled = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  const { key, projectId } = createKey(env);

  const apis = new Set<Child>();
  const startApi = async (): Promise<Child & { url: string }> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const name = apis.size ? `api-${apis.size}` : 'api';
    const child = spawnNode(name, 'apps/api/dist/server.js', [], { ...env, HOST: '127.0.0.1', PORT: String(port), PUBLIC_BASE_URL: url }, [...apiNodeFlags(), ...profiled]);
    await untilReady(child, pollHealth(url));
    apis.add(child);
    return Object.assign(child, { url });
  };
  const api = await startApi();

  const baseline = spawnNode('baseline', 'bench/dist/baseline-server.js', [], {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: baselinePrefix,
    PROJECT_ID: projectId,
    POOL_MAX: String(API_POOL_MAX),
  });
  const baselineUrl = await untilReady(baseline, announced(baseline, /^BASELINE_URL=(\S+)$/));

  const workers = new Set<Child>();
  const stack: Stack = {
    db,
    prefix,
    baselinePrefix,
    redisUrl,
    redisClusterNodes,
    storageDir,
    fakeGeminiUrl,
    fake,
    api,
    baseline: Object.assign(baseline, { url: baselineUrl }),
    key,
    projectId,
    bytesFile,
    startApi,
    createKey: (target) => createKey(env, target),
    createMasterKey: () => cliKey<{ key: string }>(env, ['--master']).key,
    startWorkers: (count, concurrency) =>
      Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const w = spawnNode(`worker-${i}`, 'apps/worker/dist/main.js', [], { ...env, LOG_LEVEL: 'info', WORKER_CONCURRENCY: String(concurrency) }, profiled);
          await untilReady(w, announced(w, /"msg":"worker ready"/));
          workers.add(w);
          return w;
        }),
      ),
    startBaselineWorker: async (concurrency) => {
      const w = spawnNode('baseline-worker', 'bench/dist/baseline-worker.js', [], {
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: baselinePrefix,
        STORAGE_DIR: join(workDir, 'baseline-storage'),
        BYTES_FILE: bytesFile,
        WORKER_CONCURRENCY: String(concurrency),
      });
      await untilReady(w, announced(w, /^(baseline worker ready)$/));
      return w;
    },
    setGemini: async (behaviour) => {
      const res = await fetch(`${fakeGeminiUrl}/__control/default`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(behaviour),
      });
      if (!res.ok) throw new Error(`fake gemini default: ${res.status} ${await res.text()}`);
    },
    close: async () => {
      await Promise.allSettled([baseline.stop(), fake.stop(), ...[...apis, ...workers].map((c) => c.stop())]);
      await deleteKeys(redisUrl, prefix).catch(() => undefined);
      if (redisClusterNodes) await deleteClusterKeys(redisClusterNodes, prefix).catch(() => undefined);
      await db.drop().catch(() => undefined);
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Removes every Redis key of this run (both prefixes start with `prefix`). */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** The service's keys of this run on a Redis Cluster: `{prefix}:…`, all on one master, but every master is scanned. */
async function deleteClusterKeys(nodes: string, prefix: string): Promise<void> {
  const cluster = new Cluster(nodes.split(',').map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })));
  try {
    await cluster.ping(); // connected: the node list is known
    for (const node of cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await node.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    cluster.disconnect();
  }
}
