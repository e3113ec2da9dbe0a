// Child processes of the benchmark: every one is tracked and SIGKILLed when the
// benchmark exits for any reason (normal end, error, Ctrl-C, SIGTERM).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  logs: string[];
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

const children = new Set<Child>();
let onInterrupt: (() => Promise<void>) | undefined;

function killAll(): void {
  for (const c of children) c.proc.kill('SIGKILL');
}

/** Runs on Ctrl-C / SIGTERM before the children are killed (e.g. dropping the bench database); bounded to 10 s. */
export function setInterruptCleanup(cleanup: (() => Promise<void>) | undefined): void {
  onInterrupt = cleanup;
}

process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    const cleanup = onInterrupt?.().catch(() => undefined) ?? Promise.resolve();
    const deadline = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
    void Promise.race([cleanup, deadline]).finally(() => {
      killAll();
      process.exit(130);
    });
  });
}

const MAX_LOG_LINES = 200;

/** Spawns `command args` in the repository root with exactly `env` over the inherited PATH/HOME. */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  onLine?: (line: string) => void,
): Child {
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        logs.push(line);
        if (logs.length > MAX_LOG_LINES) logs.shift();
        onLine?.(line);
      }
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    proc.once('close', (code) => resolve(code));
    proc.once('error', () => resolve(null));
  });
  const child: Child = {
    name,
    proc,
    pid: proc.pid ?? -1,
    logs,
    exited,
    stop: async (graceMs = 5000) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
    },
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

export function spawnNode(name: string, entry: string, args: string[], env: Record<string, string>, nodeFlags: string[] = []): Child {
  return spawnChild(name, process.execPath, [...nodeFlags, entry, ...args], env);
}

/** Resolves with `ready()`'s value, or rejects when the child exits or the deadline passes first. */
export async function untilReady<T>(child: Child, ready: Promise<T>, timeoutMs = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ready,
      child.exited.then((code) => Promise.reject(new Error(`${child.name} exited (${code}) before it was ready:\n${child.logs.slice(-30).join('\n')}`))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${child.name} not ready after ${timeoutMs} ms:\n${child.logs.slice(-30).join('\n')}`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    await child.stop(0);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(3000)));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const CLOCK_TICKS_PER_SECOND = 100;

/** Resident set size of a process in MB, from /proc (undefined once it is gone). */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface CpuTime {
  userMs: number;
  systemMs: number;
}

/** CPU time a process has used so far, from /proc (undefined once it is gone). */
export function cpuTime(pid: number): CpuTime | undefined {
  try {
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { userMs: (Number(fields[11]) * 1000) / CLOCK_TICKS_PER_SECOND, systemMs: (Number(fields[12]) * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/**
 * CPU time used so far by each process whose command name is `comm` (PostgreSQL's
 * backends, Redis): shared services the rows load as much as the measured processes.
 */
export function cpuTimesOfAll(comm: string): Map<number, CpuTime> {
  const times = new Map<number, CpuTime>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue;
    } catch {
      continue;
    }
    const t = cpuTime(Number(entry));
    if (t) times.set(Number(entry), t);
  }
  return times;
}

/** CPU used between two readings of `cpuTimesOfAll`: processes that started meanwhile count from zero, those that exited are missed. */
export function cpuUsedBetween(before: Map<number, CpuTime>, after: Map<number, CpuTime>): CpuTime {
  const used = { userMs: 0, systemMs: 0 };
  for (const [pid, t] of after) {
    const b = before.get(pid) ?? { userMs: 0, systemMs: 0 };
    used.userMs += t.userMs - b.userMs;
    used.systemMs += t.systemMs - b.systemMs;
  }
  return used;
}

/** Samples the RSS of some processes every `everyMs` until stopped; returns each one's peak (MB). */
export function sampleRss(pids: Record<string, number>, everyMs = 50): { stop(): Record<string, number> } {
  const peaks: Record<string, number> = {};
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const mb = rssMb(pid);
      if (mb !== undefined) peaks[name] = Math.max(peaks[name] ?? 0, mb);
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}
