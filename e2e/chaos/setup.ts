// Shared set-up of the chaos scenarios: the e2e stack (a database of its own,
// the fake Gemini server process, fs storage, a project key made by the CLI)
// with short locks and sweeps, a local webhook receiver, and a private
// redis-server the scenarios may stop and restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startWebhookReceiver, type TestDatabase, type WebhookReceiver } from '@banatie/testing';
import { freePort, type Env, type FakeGeminiProcess } from '../helpers/processes.js';
import { startTestStack } from '../helpers/stack.js';

export interface ChaosWorld {
  env: Env;
  database: TestDatabase;
  fake: FakeGeminiProcess;
  receiver: WebhookReceiver;
  storageDir: string;
  key: string;
  projectId: string;
  close(): Promise<void>;
}

/** The scenarios start their API and worker processes themselves (on `env`). */
export async function startChaosWorld(opts: { redisUrl?: string; env?: Env } = {}): Promise<ChaosWorld> {
  const receiver = await startWebhookReceiver();
  const stack = await startTestStack({
    provider: 'gemini',
    apis: 0,
    workers: 0,
    key: 'chaos/site',
    // Admin: the tests read the webhook secret.
    keyRole: 'admin',
    redisUrl: opts.redisUrl,
    env: {
      GEMINI_TIMEOUT_MS: '120000',
      WORKER_LOCK_MS: '2000',
      SWEEP_INTERVAL_MS: '1000',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_BASE_MS: '100',
      ...opts.env,
    },
  }).catch(async (err: unknown) => {
    await receiver.close();
    throw err;
  });
  return {
    env: stack.env,
    database: stack.database,
    fake: stack.fake!,
    receiver,
    storageDir: stack.storageDir!,
    key: stack.key.key,
    projectId: stack.key.projectId,
    close: async () => {
      await Promise.allSettled([stack.stop(), receiver.close()]);
    },
  };
}

/** Objects the fs driver holds for a project (one file per object). */
export async function storedObjects(world: ChaosWorld): Promise<string[]> {
  try {
    return (await readdir(join(world.storageDir, world.projectId))).filter((f) => !f.startsWith('.'));
  } catch {
    return [];
  }
}

/** Resolves once the fake Gemini server has seen an image-model call whose prompt contains `text`. */
export async function untilGeminiCalled(fake: FakeGeminiProcess, text: string): Promise<void> {
  for (;;) {
    const requests = await fake.requests();
    if (requests.some((r) => r.model.includes('image') && r.text.includes(text))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open but nothing is answered (a hung or partitioned Redis). */
  pause(): void;
  resume(): void;
}

/** A private, non-persistent redis-server on a free port, which a test may stop and start again. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const start = async () => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc = p;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      p.stdout!.setEncoding('utf8');
      p.stdout!.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('Ready to accept connections')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${out}`)));
    });
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
    proc = null;
  };
  process.once('exit', () => proc?.kill('SIGKILL'));
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start, pause: () => proc?.kill('SIGSTOP'), resume: () => proc?.kill('SIGCONT') };
}
