import { spawn, execFileSync } from 'node:child_process';
import { accessSync, constants, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { TEST_PG_URL } from './database.js';

export interface PgBouncerHandle {
  port: number;
  /** A URL for `database` through PgBouncer (transaction pooling). */
  url(database: string): string;
  /** Runs a command on PgBouncer's admin console (`SHOW STATS`, …). */
  admin(command: string): Promise<Array<Record<string, unknown>>>;
  /** What PgBouncer logged so far (for failure messages). */
  log(): string;
  close(): Promise<void>;
}

export const PGBOUNCER_MISSING = "pgbouncer is not installed: scripts/test.sh installs Debian's package (apt-get install --no-install-recommends pgbouncer)";

function pgbouncerBinary(): string | null {
  for (const path of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return null;
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * Starts Debian's PgBouncer in front of the test PostgreSQL (TEST_PG_URL) on a
 * free port, pool_mode transaction, trust authentication, every database
 * passed through. As root it drops to the `postgres` user (PgBouncer refuses to
 * run as root). Throws PGBOUNCER_MISSING when the binary is not installed.
 */
export async function startPgBouncer(opts: { poolSize?: number } = {}): Promise<PgBouncerHandle> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error(PGBOUNCER_MISSING);
  const upstream = new URL(TEST_PG_URL);
  const dir = mkdtempSync(join(tmpdir(), 'banatie-pgbouncer-'));
  const port = await freePort();
  const user = decodeURIComponent(upstream.username || 'postgres');
  writeFileSync(join(dir, 'users.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 500',
      `default_pool_size = ${opts.poolSize ?? 20}`,
      `admin_users = ${user}`,
      '',
    ].join('\n'),
  );
  const args: string[] = [];
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
    args.push('-u', 'postgres');
  }
  args.push(join(dir, 'pgbouncer.ini'));
  const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => log.push(chunk));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start on 127.0.0.1:${port}:\n${log.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = (database: string) => `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
    admin: async (command) => {
      const client = new pg.Client({ connectionString: url('pgbouncer') });
      await client.connect();
      try {
        return (await client.query(command)).rows as Array<Record<string, unknown>>;
      } finally {
        await client.end();
      }
    },
    log: () => log.join(''),
    close: async () => {
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
