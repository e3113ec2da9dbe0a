// Spawn helpers for end-to-end tests that run the compiled API, worker and CLI
// as real processes (build first: `npx tsc -b`). Every process started here is
// tracked and killed by `stopAll()` (call it in afterAll) and, as a last
// resort, when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '@banatie/testing';

export { freePort };
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const API_ENTRY = 'apps/api/dist/server.js';
export const WORKER_ENTRY = 'apps/worker/dist/main.js';
export const CLI_ENTRY = 'apps/cli/dist/main.js';
export const FAKE_GEMINI_ENTRY = 'packages/testing/dist/fake-gemini-server.js';

/** Every variable the services read (SPEC §2); stripped from the inherited environment. */
const CONFIG_VARS = [
  'PORT', 'HOST', 'PUBLIC_BASE_URL', 'DATABASE_URL', 'DATABASE_POOL_MAX', 'REDIS_URL', 'QUEUE_PREFIX',
  'STORAGE_DRIVER', 'STORAGE_DIR', 'S3_ENDPOINT', 'S3_PORT', 'S3_USE_SSL', 'S3_ACCESS_KEY',
  'S3_SECRET_KEY', 'S3_BUCKET', 'S3_REGION', 'S3_FORCE_PATH_STYLE', 'S3_TIMEOUT_MS', 'IMAGE_PROVIDER', 'GEMINI_API_KEY', 'GEMINI_BASE_URL',
  'GEMINI_IMAGE_MODEL', 'GEMINI_TEXT_MODEL', 'GEMINI_TIMEOUT_MS', 'WORKER_CONCURRENCY',
  'GENERATION_ATTEMPTS', 'WORKER_LOCK_MS', 'SWEEP_INTERVAL_MS', 'RATE_LIMIT_PER_HOUR',
  'READ_RATE_LIMIT_PER_MINUTE', 'AUTH_FAILURES_PER_IP_PER_MINUTE',
  'LIVE_MISS_PER_IP_PER_HOUR', 'LIVE_WAIT_TIMEOUT_MS', 'LIVE_HIT_FLUSH_MS', 'LIVE_CACHE_MAX_BYTES', 'LIVE_MAX_WAITERS', 'WEBHOOK_RETRY_BASE_MS', 'WEBHOOK_ALLOW_PRIVATE', 'TRUST_PROXY', 'LOG_LEVEL', 'WORKER_METRICS_PORT',
  'SSE_MAX_PER_KEY', 'SSE_HEARTBEAT_MS', 'METRICS_PORT',
  'DATABASE_DIRECT_URL', 'DATABASE_STATEMENT_TIMEOUT_MS', 'DATABASE_URL_FILE', 'DATABASE_DIRECT_URL_FILE', 'REDIS_URL_FILE',
  'S3_ACCESS_KEY_FILE', 'S3_SECRET_KEY_FILE', 'GEMINI_API_KEY_FILE', 'CORS_ORIGINS',
];

export type Env = Record<string, string | undefined>;

/**
 * How long a spawned API or worker may take to come up. Generous: on a shared
 * two-core machine under load (other suites, benches) three processes importing
 * their modules at once took ~30 s; a process that never starts still fails.
 */
const START_DEADLINE_MS = 60_000;

/** The inherited environment without any service configuration, plus `env`. */
export function processEnv(env: Env = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_VARS) delete base[name];
  // Several test files run stacks at once against one PostgreSQL (max_connections 100).
  base.DATABASE_POOL_MAX = '6';
  // Several workers run at once on this host: none binds the metrics port unless a test asks.
  base.WORKER_METRICS_PORT = '0';
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

export interface ManagedProcess {
  proc: ChildProcess;
  /** stdout and stderr lines, in arrival order (each stream split on newlines). */
  logs: string[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code / signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM); SIGKILL after `graceMs` if still running. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ManagedProcess>();

process.once('exit', () => {
  for (const p of live) p.proc.kill('SIGKILL');
});

/** Spawns `node <entry> ...args` in the repository root and tracks it. */
export function spawnNode(entry: string, args: string[], env: Env, onLine?: (line: string, stream: 'stdout' | 'stderr') => void): ManagedProcess {
  const proc = spawn(process.execPath, [entry, ...args], {
    cwd: ROOT,
    env: processEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const chunks = { stdout: [] as string[], stderr: [] as string[] };
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = '';
    proc[stream]!.setEncoding('utf8');
    proc[stream]!.on('data', (chunk: string) => {
      chunks[stream].push(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        logs.push(line);
        onLine?.(line, stream);
      }
    });
    proc[stream]!.on('end', () => {
      if (partial) {
        logs.push(partial);
        onLine?.(partial, stream);
        partial = '';
      }
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('close', (code, signal) => resolve({ code, signal }));
    proc.once('error', () => resolve({ code: null, signal: null }));
  });
  const managed: ManagedProcess = {
    proc,
    logs,
    stdout: () => chunks.stdout.join(''),
    stderr: () => chunks.stderr.join(''),
    exited,
    stop: async (signal = 'SIGTERM', graceMs = 5000) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            proc.kill('SIGKILL');
            resolve();
          }, graceMs);
        });
        await Promise.race([exited, killed]);
        clearTimeout(timer);
      }
      const result = await exited;
      live.delete(managed);
      return result;
    },
  };
  live.add(managed);
  void exited.then(() => live.delete(managed));
  return managed;
}

/** Stops every process this module started (SIGTERM, then SIGKILL after graceMs). */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop('SIGTERM', graceMs)));
}

function describeExit(name: string, p: ManagedProcess, r: { code: number | null; signal: NodeJS.Signals | null }): Error {
  return new Error(`${name} exited (code ${r.code}, signal ${r.signal}) before it was ready:\n${p.logs.slice(-40).join('\n')}`);
}

/** Races `ready` against the process exiting and a deadline; stops the process on failure. */
async function untilReady<T>(name: string, p: ManagedProcess, ready: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ready(abort.signal),
      p.exited.then((r) => Promise.reject(describeExit(name, p, r))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${p.logs.slice(-40).join('\n')}`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    await p.stop('SIGKILL');
    throw err;
  } finally {
    abort.abort();
    clearTimeout(timer);
  }
}

export interface ApiProcess extends ManagedProcess {
  url: string;
  port: number;
}

/**
 * Spawns the API on a free port (HOST 127.0.0.1, PUBLIC_BASE_URL its own URL
 * unless `env` sets them) and resolves once GET /health answers 200.
 */
export async function startApi(env: Env, opts: { timeoutMs?: number } = {}): Promise<ApiProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const p = spawnNode(API_ENTRY, [], { HOST: '127.0.0.1', PUBLIC_BASE_URL: url, ...env, PORT: String(port) });
    try {
      await untilReady('api', p, (signal) => pollHealth(url, signal), opts.timeoutMs ?? START_DEADLINE_MS);
      return Object.assign(p, { url, port });
    } catch (err) {
      lastError = err;
      // Someone else took the port between freePort() and listen(): try another.
      if (!p.logs.some((l) => l.includes('EADDRINUSE'))) throw err;
    }
  }
  throw lastError;
}

async function pollHealth(url: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Spawns a worker and resolves once it logs `worker ready`. */
export async function startWorker(env: Env, opts: { timeoutMs?: number } = {}): Promise<ManagedProcess> {
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const p = spawnNode(WORKER_ENTRY, [], env, (line, stream) => {
    if (stream === 'stdout' && parseJsonLine(line)?.msg === 'worker ready') onReady();
  });
  await untilReady('worker', p, () => ready, opts.timeoutMs ?? START_DEADLINE_MS);
  return p;
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export interface FakeGeminiRequestSummary {
  model: string;
  path: string;
  text: string;
  inlineDataCount: number;
  aspectRatio: string | null;
}

export interface FakeGeminiProcess extends ManagedProcess {
  url: string;
  script(behaviours: object[]): Promise<void>;
  setDefault(behaviour: object): Promise<void>;
  reset(): Promise<void>;
  requests(): Promise<FakeGeminiRequestSummary[]>;
}

/** Spawns the standalone fake Gemini server; resolves with its URL and control helpers. */
export async function startFakeGeminiProcess(opts: { timeoutMs?: number } = {}): Promise<FakeGeminiProcess> {
  let onUrl!: (url: string) => void;
  const announced = new Promise<string>((resolve) => (onUrl = resolve));
  const p = spawnNode(FAKE_GEMINI_ENTRY, ['--port', '0'], {}, (line, stream) => {
    const m = stream === 'stdout' ? /^FAKE_GEMINI_URL=(\S+)$/.exec(line.trim()) : null;
    if (m) onUrl(m[1]!);
  });
  const url = await untilReady('fake gemini', p, () => announced, opts.timeoutMs ?? 10_000);
  const control = async (path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${url}/__control/${path}`, {
      method: body === undefined && path === 'requests' ? 'GET' : 'POST',
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = (await res.json()) as unknown;
    if (!res.ok) throw new Error(`fake gemini /__control/${path}: ${res.status} ${JSON.stringify(payload)}`);
    return payload;
  };
  return Object.assign(p, {
    url,
    script: async (behaviours: object[]) => void (await control('script', behaviours)),
    setDefault: async (behaviour: object) => void (await control('default', behaviour)),
    reset: async () => void (await control('reset', {})),
    requests: async () => (await control('requests')) as FakeGeminiRequestSummary[],
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (asynchronously, so other children's pipes keep draining). */
export async function runCli(args: string[], env: Env, opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  const p = spawnNode(CLI_ENTRY, args, env);
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    p.exited,
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), opts.timeoutMs ?? 30_000))),
  ]);
  clearTimeout(timer);
  if (result === null) {
    await p.stop('SIGKILL');
    throw new Error(`cli ${args.join(' ')} did not finish:\n${p.logs.join('\n')}`);
  }
  return { code: result.code, stdout: p.stdout(), stderr: p.stderr() };
}

export const TERMINAL = new Set(['success', 'failed', 'cancelled']);

export interface GenerationData {
  id: string;
  status: string;
  attempts: number;
  error: { code: string; message: string } | null;
  outputImageId: string | null;
  outputImage: { id: string; url: string; [k: string]: unknown } | null;
  [k: string]: unknown;
}

/** Long-polls GET /api/v1/generations/:id with `Prefer: wait` until the generation is terminal. */
export async function waitForTerminal(
  apiUrl: string,
  key: string,
  id: string,
  opts: { timeoutMs?: number; waitSeconds?: number } = {},
): Promise<GenerationData> {
  const deadline = Date.now() + (opts.timeoutMs ?? 45_000);
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`generation ${id} not terminal after ${opts.timeoutMs ?? 45_000} ms`);
    const wait = Math.max(1, Math.min(opts.waitSeconds ?? 20, Math.floor(remaining / 1000)));
    const res = await fetch(`${apiUrl}/api/v1/generations/${id}`, {
      headers: { 'x-api-key': key, prefer: `wait=${wait}` },
      signal: AbortSignal.timeout(wait * 1000 + 10_000),
    });
    const body = (await res.json()) as { success: boolean; data: GenerationData };
    if (res.status !== 200) throw new Error(`GET generation ${id}: ${res.status} ${JSON.stringify(body)}`);
    if (TERMINAL.has(body.data.status)) return body.data;
  }
}

/** POST /api/v1/generations; returns the HTTP status and parsed body. */
export async function submitGeneration(
  apiUrl: string,
  key: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { success: boolean; data: GenerationData; error?: unknown } }> {
  const res = await fetch(`${apiUrl}/api/v1/generations`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { success: boolean; data: GenerationData } };
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
