// The dispatcher: help, usage errors (exit 2, stderr), error lines (exit 1), without a running API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_COMMANDS, runCli } from '../src/cli.js';
import { defineCommand, LOCAL_GLOBALS } from '../src/command.js';
import type { Io } from '../src/io.js';

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env,
    signal: new AbortController().signal,
  };
  const code = await runCli(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('help', () => {
  it('with no arguments or --help: the command list on stdout, exit 0', async () => {
    for (const argv of [[], ['--help'], ['-h'], ['help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: banatie <command> \[options\]\n/);
      for (const name of ['generate', 'upload', 'images', 'generations', 'live']) expect(r.stdout).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'));
      // The operator commands ship with the server (apps/cli), not in this package.
      for (const name of ['migrate', 'key', 'project']) expect(r.stdout).not.toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'));
      expect(r.stdout).not.toContain('Operator commands');
    }
  });

  it('lists the operator commands a server CLI adds, in their own section', async () => {
    const migrate = defineCommand({ name: 'migrate', summary: 'Apply migrations', synopsis: '', args: { min: 0, max: 0 }, options: {}, globals: LOCAL_GLOBALS, run: async () => {} });
    const out: string[] = [];
    const io: Io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: () => true }, env: {}, signal: new AbortController().signal };
    const code = await runCli(['--help'], io, [...API_COMMANDS, { name: 'migrate', section: 'operator', summary: 'Apply migrations', load: async () => migrate }]);
    expect(code).toBe(0);
    expect(out.join('')).toMatch(/Operator commands [^\n]*:\n {2}migrate +Apply migrations\n/);
  });

  it('for a group and for a command, by --help or by help', async () => {
    const group = await run(['images', '--help']);
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/^Usage: banatie images <command> \[options\]\n/);
    expect(group.stdout).toMatch(/^ {2}ls +List images/m);
    expect(await run(['help', 'images'])).toEqual(group);

    const command = await run(['images', 'ls', '--help']);
    expect(command.code).toBe(0);
    expect(command.stdout).toMatch(/^Usage: banatie images ls \[options\]\n/);
    expect(command.stdout).toMatch(/^ {2}--source <S> +generated or uploaded$/m);
    expect(await run(['help', 'images', 'ls'])).toEqual(command);
    expect(await run(['images', 'list', '-h'])).toEqual(command);
  });

  it('--version prints the package version', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  });
});

describe('usage errors: stderr, exit 2, nothing on stdout', () => {
  const cases: Array<[string[], RegExp]> = [
    [['imagez'], /^error: unknown command: imagez \(did you mean 'images'\?\)\n\nUsage: banatie <command> \[options\]\n/],
    [['gen', 'x'], /^error: unknown command: gen \(did you mean 'generate' or 'generations'\?\)\n/],
    [['xyz'], /^error: unknown command: xyz\n\nUsage: banatie <command>/],
    [['images'], /^error: missing images command\n\nUsage: banatie images <command>/],
    [['images', 'lss'], /^error: unknown command: images lss \(did you mean 'images ls'\?\)\n\nUsage: banatie images <command>/],
    [['help', 'images', 'remove'], /^error: unknown command: images remove\n/],
    [['images', 'ls', '--bogus'], /^error: unknown option --bogus\n\nUsage: banatie images ls \[options\]\nRun 'banatie images ls --help' for its options\.\n$/],
    [['images', 'ls', '--limit', '0', '--api-key', 'k'], /^error: --limit must be a whole number ≥ 1\n/],
    [['generate'], /^error: missing <prompt>\n\nUsage: banatie generate <prompt> \[options\]\n/],
    [['generate', 'x', '--ratio', '7:1', '--api-key', 'k'], /^error: --ratio must be one of 1:1 2:3 3:2 .* 21:9\n/],
    [['live', 'sign', 'x', '--api-key', 'k'], /^error: --scope is required\n/],
    [['key', 'list', 'acme/site'], /^error: unknown command: key\n/],
    [['--json'], /^error: missing command\n/],
  ];
  it.each(cases)('%j', async (argv, stderr) => {
    const r = await run(argv);
    expect(r.stderr).toMatch(stderr);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('an API command without a key says where a key comes from', async () => {
    const r = await run(['images', 'ls'], { BANATIE_API_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: no API key: pass --api-key KEY or set BANATIE_API_KEY\n/);
  });
});

describe('errors from the API and the configuration: one line on stderr, exit 1', () => {
  let server: Server;
  let url: string;
  const seen: Array<{ url: string; key: string | undefined }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url!, key: req.headers['x-api-key'] as string | undefined });
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: false, error: { code: 'UNAUTHORIZED', message: 'Invalid or missing API key' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('an API error is `error CODE: message`; flags win over the environment', async () => {
    const r = await run(['images', 'ls', '--limit', '5', '--json', '--api-key', 'bnt_flag'], { BANATIE_API_KEY: 'bnt_env', BANATIE_API_URL: url });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'error UNAUTHORIZED: Invalid or missing API key\n' });
    expect(seen.at(-1)).toEqual({ url: '/api/v1/images?limit=5', key: 'bnt_flag' });

    const viaEnv = await run(['generations', 'show', 'abc', '--api-url', url], { BANATIE_API_KEY: 'bnt_env' });
    expect(viaEnv.stderr).toBe('error UNAUTHORIZED: Invalid or missing API key\n');
    expect(seen.at(-1)).toEqual({ url: '/api/v1/generations/abc', key: 'bnt_env' });
  });

  it('an unreachable API names the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await run(['images', 'ls'], { BANATIE_API_KEY: 'k', BANATIE_API_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error NETWORK_ERROR: .*ECONNREFUSED.*\n$/);
  });

  it('a malformed BANATIE_API_URL is a configuration error', async () => {
    const r = await run(['images', 'ls'], { BANATIE_API_KEY: 'k', BANATIE_API_URL: 'localhost:3000' });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'error: Invalid configuration: BANATIE_API_URL must be a http: or https: URL\n' });
  });
});
