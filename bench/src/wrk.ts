// wrk as the load generator: it discards response bodies, so 200 KB answers
// measure the server and not the client (autocannon saturates a core first).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild } from './procs.js';

export interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Non-2xx/3xx answers plus socket errors: a run with any is not a clean measurement. */
  errors: number;
}

export interface WrkRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // `wrk --version` prints its banner and exits 1; only a missing binary is ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** Installs Debian's wrk when it is missing (needs root, or sudo without a password). */
export function ensureWrk(log: (msg: string) => void): void {
  if (hasWrk()) return;
  log('wrk not found: installing it with apt-get');
  const asRoot = process.getuid?.() === 0;
  const run = (args: string[]) => execFileSync(asRoot ? args[0]! : 'sudo', asRoot ? args.slice(1) : ['-n', ...args], { stdio: 'inherit' });
  try {
    run(['apt-get', 'install', '-y', '--no-install-recommends', 'wrk']);
  } catch {
    run(['apt-get', 'update']);
    run(['apt-get', 'install', '-y', '--no-install-recommends', 'wrk']);
  }
  if (!hasWrk()) throw new Error('wrk is required (apt-get install wrk) and could not be installed');
}

const luaDir = mkdtempSync(join(tmpdir(), 'banatie-bench-wrk-'));
let luaCount = 0;

function luaScript(req: WrkRequest): string {
  const lines = [`wrk.method = ${JSON.stringify(req.method ?? 'GET')}`];
  if (req.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(req.body)}`);
  for (const [k, v] of Object.entries(req.headers ?? {})) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  const path = join(luaDir, `req-${luaCount++}.lua`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

export async function runWrk(req: WrkRequest, opts: { seconds: number; connections: number; threads?: number }): Promise<WrkResult> {
  const args = [
    `-t${opts.threads ?? 2}`,
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    '--timeout', '10s',
    '--latency',
    '-s', luaScript(req),
    req.url,
  ];
  const child = spawnChild('wrk', 'wrk', args, {});
  const code = await child.exited;
  const out = child.logs.join('\n');
  if (code !== 0) throw new Error(`wrk exited ${code}:\n${out}`);
  return parseWrk(out);
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  if (!rps || !requests) throw new Error(`could not parse wrk output:\n${out}`);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? toMs(m[1]!, m[2]!) : Number.NaN;
  };
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    rps: Number(rps[1]),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    requests: Number(requests[1]),
    errors: (non2xx ? Number(non2xx[1]) : 0) + socketErrors,
  };
}
