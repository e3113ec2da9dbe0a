// The client CLI (`banatie generate|upload|images|generations|live`) as a user
// runs it: the compiled apps/cli against the compiled API and worker, through
// the SDK; stdout, stderr, exit codes and the files it writes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI_ENTRY,
  PNG_SIGNATURE,
  ROOT,
  runCli,
  spawnNode,
  waitForTerminal,
  type ApiProcess,
  type CliResult,
  type Env,
  type FakeGeminiProcess,
} from './helpers/processes.js';
import { createKey, startTestStack, type TestStack } from './helpers/stack.js';

/** A stack as the client CLI sees it. */
interface Stack {
  services: TestStack;
  api: ApiProcess;
  /** A standard key (the default): what the client CLI runs with. */
  key: string;
  /** An admin key of the same project, for setting things up (live scopes). */
  adminKey: string;
  /** What the client CLI needs: the key and the API's address, nothing inherited. */
  client: Env;
}

async function startStack(provider: 'local' | 'gemini'): Promise<Stack> {
  const services = await startTestStack({ provider, key: 'acme/cli' });
  const adminKey = (await createKey('acme/cli', services.env, 'admin')).key;
  return { services, api: services.api, key: services.key.key, adminKey, client: { BANATIE_API_KEY: services.key.key, BANATIE_API_URL: services.api.url } };
}

async function stopStack(stack: Stack | undefined): Promise<void> {
  await stack?.services.stop();
}

/** The one JSON value a `--json` command prints, and nothing else. */
function onlyJson(r: CliResult): unknown {
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  expect(lines, `stdout:\n${r.stdout}`).toHaveLength(1);
  return JSON.parse(lines[0]!) as unknown;
}

describe('the banatie bin', () => {
  it('npm links it into node_modules/.bin, executable, running the compiled CLI', async () => {
    const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/banatie'), ['--version'], { cwd: ROOT });
    const pkg = JSON.parse(await readFile(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
    expect(stdout).toBe(`${pkg.version}\n`);
    expect(Object.keys(pkg.bin)).toEqual(['banatie']);
  });

  it('the server CLI (banatie-server) adds the operator commands', async () => {
    const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/banatie-server'), ['--help'], { cwd: ROOT });
    for (const name of ['generate', 'images', 'migrate', 'key', 'project']) expect(stdout).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'));
  });
});

const PROGRESS_LINE = /^(pending( · queued, position \d+)?|processing|success|failed|cancelled) · \d+\.\ds$/;

describe('client CLI against the local provider', () => {
  let stack: Stack;
  let workDir: string;

  beforeAll(async () => {
    [stack, workDir] = await Promise.all([startStack('local'), mkdtemp(join(tmpdir(), 'banatie-e2e-cli-files-'))]);
  });

  afterAll(async () => {
    await stopStack(stack);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('generate --ratio 16:9 --out hero.png writes a 16:9 PNG, reports each status on stderr and the result on stdout', async () => {
    const out = join(workDir, 'hero.png');
    const r = await runCli(['generate', 'a lighthouse at dusk', '--ratio', '16:9', '--out', out], stack.client);
    expect(r.code, r.stderr).toBe(0);

    const bytes = await readFile(out);
    expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const meta = await sharp(bytes).metadata();
    expect(meta.format).toBe('png');
    // 16:9 as gemini-2.5-flash-image draws it (the local provider returns the real model's size).
    expect([meta.width, meta.height]).toEqual([1344, 768]);

    // Not a terminal here: one line per status, from the submit's answer to the end.
    const progress = r.stderr.split('\n').filter((l) => l !== '');
    expect(progress.length, r.stderr).toBeGreaterThanOrEqual(2);
    for (const line of progress) expect(line).toMatch(PROGRESS_LINE);
    // The submit's answer: the worker may already have taken the job.
    expect(progress[0]).toMatch(/^(pending|processing) · /);
    expect(progress.at(-1)).toMatch(/^success · /);

    const id = /^id:\s+(\S+)$/m.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    expect(r.stdout).toMatch(/^status:\s+success$/m);
    expect(r.stdout).toMatch(new RegExp(`^image:\\s+${stack.api.url}/cdn/acme/cli/img/[0-9a-f-]{36}$`, 'm'));
    expect(r.stdout).toMatch(/^size:\s+1344×768 · .* · image\/png$/m);
    expect(r.stdout).toMatch(new RegExp(`^saved:\\s+${out}$`, 'm'));

    const shown = onlyJson(await runCli(['generations', 'show', id!, '--json'], stack.client)) as { status: string; outputImage: { fileSize: number } };
    expect(shown.status).toBe('success');
    expect(shown.outputImage.fileSize).toBe(bytes.length);
  });

  it('generate --model --size --ground sends the model options; batch submit/show/cancel drive a batch from a file of prompts', async () => {
    const g = onlyJson(
      await runCli(['generate', 'a 2K harbour', '--model', 'gemini-3-pro-image-preview', '--size', '2K', '--ground', '--wait', '--json', '--no-enhance'], stack.client),
    ) as { status: string; model: string; imageSize: string; groundWithSearch: boolean; outputImage: { width: number } };
    expect(g).toMatchObject({ status: 'success', model: 'gemini-3-pro-image-preview', imageSize: '2K', groundWithSearch: true, outputImage: { width: 2048 } });
    const refused = await runCli(['generate', 'no 4K here', '--model', 'gemini-2.5-flash-image', '--size', '4K'], stack.client);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('imageSize 4K is not supported by model gemini-2.5-flash-image');

    const file = join(workDir, 'prompts.txt');
    await writeFile(file, '# two prompts\na red kite\n\na blue kite\n');
    const batch = onlyJson(await runCli(['batch', 'submit', file, '--no-enhance', '--json'], stack.client)) as { id: string; counts: { total: number } };
    expect(batch.counts.total).toBe(2);
    let shown = onlyJson(await runCli(['batch', 'show', batch.id, '--json'], stack.client)) as { status: string; counts: { success: number } };
    while (shown.status !== 'completed') shown = onlyJson(await runCli(['batch', 'show', batch.id, '--json'], stack.client)) as typeof shown;
    expect(shown.counts.success).toBe(2);
    const text = await runCli(['batch', 'show', batch.id], stack.client);
    expect(text.stdout).toMatch(/^items:\s+2: 2 succeeded, 0 failed/m);
    const cancel = await runCli(['batch', 'cancel', batch.id], stack.client);
    expect(cancel.code).not.toBe(0);
    expect(cancel.stderr).toMatch(/CONFLICT/);
  });

  it('generate --wait --json prints exactly the finished generation on stdout', async () => {
    const prompt = 'a red bicycle by @nowhere';
    const r = await runCli(['generate', prompt, '--wait', '--json', '--no-enhance', '--alias', '@bike'], stack.client);
    const g = onlyJson(r) as { status: string; originalPrompt: string; prompt: string; alias: string; outputImage: { url: string; width: number; height: number } };
    expect(g).toMatchObject({ status: 'success', originalPrompt: prompt, prompt, alias: '@bike' });
    expect(g.outputImage.width).toBe(g.outputImage.height);
    expect(r.stderr).toMatch(/^success · /m);
    // The submit's warning (an alias in the prompt that resolves to nothing), after the progress.
    expect(r.stderr).toMatch(/^success · .*\nwarning: .*@nowhere.*\n$/m);

    // Without --wait: submitted, not waited for.
    const submitted = onlyJson(await runCli(['generate', 'a quick one', '--json'], stack.client)) as { id: string; status: string };
    expect(submitted.status).toMatch(/^(pending|processing|success)$/);
    expect(submitted.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('upload --alias, then images ls --json lists it and images ls shows it in a table', async () => {
    const file = join(workDir, 'logo.png');
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c03020' } }).png().toFile(file);
    const uploaded = onlyJson(await runCli(['upload', file, '--alias', '@logo', '--json'], stack.client)) as { id: string; alias: string; source: string; width: number };
    expect(uploaded).toMatchObject({ alias: '@logo', source: 'uploaded', width: 64 });

    const listed = onlyJson(await runCli(['images', 'ls', '--json'], stack.client)) as Array<{ id: string; alias: string | null }>;
    expect(listed.find((i) => i.id === uploaded.id)?.alias).toBe('@logo');
    const byAlias = onlyJson(await runCli(['images', 'ls', '--alias', '@logo', '--source', 'uploaded', '--json'], stack.client)) as Array<{ id: string }>;
    expect(byAlias.map((i) => i.id)).toEqual([uploaded.id]);

    const table = await runCli(['images', 'ls', '--limit', '50'], stack.client);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+SOURCE\s+ALIAS\s+SIZE\s+BYTES\s+CREATED$/);
    const row = rows.find((l) => l.startsWith(uploaded.id));
    expect(row, table.stdout).toMatch(/\suploaded\s+@logo\s+64×48\s/);
    // Aligned: every row has its SOURCE column where the header has it.
    const sourceAt = header!.indexOf('SOURCE');
    for (const line of rows) expect(line.slice(sourceAt)).toMatch(/^(generated|uploaded) /);

    // A generation can use the upload by its alias.
    const g = onlyJson(await runCli(['generate', 'a mug with a logo', '--ref', '@logo', '--wait', '--json'], stack.client)) as {
      referenceImages: Array<{ imageId: string }>;
    };
    expect(g.referenceImages.map((ref) => ref.imageId)).toEqual([uploaded.id]);
  });

  it('live sign gives a URL that a requireSignature scope serves, and the scope refuses it unsigned', async () => {
    const res = await fetch(`${stack.api.url}/api/v1/live/scopes`, {
      method: 'POST',
      // Managing scopes needs an admin key; the CLI's standard key signs (on the server) all the same.
      headers: { 'x-api-key': stack.adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'signed', requireSignature: true }),
    });
    expect(res.status, await res.clone().text()).toBe(201);

    const r = await runCli(['live', 'sign', '--scope', 'signed', 'a paper boat', '--ratio', '4:3', '--expires-in', '3600'], stack.client);
    expect(r.code, r.stderr).toBe(0);
    const url = new URL(r.stdout.trim());
    expect(url.origin + url.pathname).toBe(`${stack.api.url}/cdn/acme/cli/live/signed`);
    expect(url.searchParams.get('sig')).toBeTruthy();

    const image = await fetch(url);
    const body = Buffer.from(await image.arrayBuffer());
    expect(image.status, body.toString()).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    // 4:3 as gemini-2.5-flash-image draws it.
    const { width, height } = await sharp(body).metadata();
    expect([width, height]).toEqual([1184, 864]);

    url.searchParams.delete('sig');
    url.searchParams.set('prompt', 'another paper boat');
    const unsigned = await fetch(url);
    expect(unsigned.status).toBe(403);

    const json = onlyJson(await runCli(['live', 'sign', '--scope', 'signed', 'a paper boat', '--json'], stack.client)) as { url: string; expiresAt: null };
    expect(json).toEqual({ url: expect.stringContaining('sig='), expiresAt: null });
  });

  it('an invalid key exits 1 with error UNAUTHORIZED and prints nothing on stdout', async () => {
    const results = await Promise.all([
      runCli(['images', 'ls', '--json'], { ...stack.client, BANATIE_API_KEY: 'bnt_not_a_real_key' }),
      runCli(['generate', 'x', '--wait', '--api-key', 'bnt_not_a_real_key'], stack.client),
    ]);
    for (const r of results) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error UNAUTHORIZED: .+\n$/);
    }
  });

  it('API errors and usage errors: error CODE on exit 1, usage on stderr with exit 2', async () => {
    const [missingRef, missingImage, unknownFlag, unknownCommand, noKey, tooLarge] = await Promise.all([
      runCli(['generate', 'x', '--ref', '@nothing-here'], stack.client),
      runCli(['images', 'show', '00000000-0000-4000-8000-000000000000'], stack.client),
      runCli(['images', 'ls', '--colour', 'red'], stack.client),
      runCli(['imagez'], stack.client),
      runCli(['images', 'ls'], { BANATIE_API_KEY: undefined, BANATIE_API_URL: stack.api.url }),
      (async () => {
        const big = join(workDir, 'big.png');
        await writeFile(big, Buffer.alloc(5 * 1024 * 1024 + 1));
        return runCli(['upload', big], stack.client);
      })(),
    ]);
    expect([missingRef.code, missingRef.stderr]).toEqual([1, 'error NOT_FOUND: Image not found\n']);
    expect([missingImage.code, missingImage.stderr]).toEqual([1, 'error NOT_FOUND: Image not found\n']);
    expect(tooLarge.code).toBe(1);
    expect(tooLarge.stderr).toMatch(/^error FILE_TOO_LARGE: /);
    for (const r of [unknownFlag, unknownCommand, noKey]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: .+\n\nUsage: banatie /);
    }
    expect(unknownFlag.stderr).toMatch(/^error: unknown option --colour\n/);
    expect(unknownCommand.stderr).toMatch(/^error: unknown command: imagez \(did you mean 'images'\?\)\n/);
    expect(noKey.stderr).toMatch(/BANATIE_API_KEY/);
  });
});

describe('client CLI when a generation fails', () => {
  let fake: FakeGeminiProcess;
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('gemini');
    fake = stack.services.fake!;
  });

  afterAll(async () => {
    await stopStack(stack);
  });

  it('Ctrl-C while waiting stops the CLI and says the generation goes on', async () => {
    await fake.setDefault({ kind: 'image', delayMs: 4000 });
    const cli = spawnNode(CLI_ENTRY, ['generate', 'a slow one', '--wait', '--no-enhance'], stack.client);
    const deadline = Date.now() + 20_000;
    while (!/^processing · /m.test(cli.stderr()) && cli.proc.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cli.stderr()).toMatch(/^processing · /m);
    cli.proc.kill('SIGINT');
    const { code } = await cli.exited;
    expect(code).toBe(1);
    const id = /^error INTERRUPTED: stopped waiting; generation (\S+) goes on \(banatie generations show \1\)$/m.exec(cli.stderr())?.[1];
    expect(id, cli.stderr()).toBeDefined();
    expect(cli.stdout()).toBe('');
    const finished = await waitForTerminal(stack.api.url, stack.key, id!);
    expect(finished.status).toBe('success');
  });

  it('generate --wait exits 1 with error CODE: message; --json still prints the failed generation', async () => {
    await fake.setDefault({ kind: 'safety', level: 'prompt', reason: 'SAFETY' });
    const [human, json] = await Promise.all([
      runCli(['generate', 'something refused', '--wait', '--no-enhance'], stack.client),
      runCli(['generate', 'something else refused', '--wait', '--no-enhance', '--json'], stack.client),
    ]);
    expect(human.code).toBe(1);
    expect(human.stdout).toBe('');
    const lines = human.stderr.split('\n').filter((l) => l !== '');
    expect(lines.at(-1)).toMatch(/^error CONTENT_BLOCKED: \S.*$/);
    expect(lines.at(-2)).toMatch(/^failed · \d+\.\ds$/);

    expect(json.code).toBe(1);
    const stdoutLines = json.stdout.split('\n').filter((l) => l !== '');
    expect(stdoutLines).toHaveLength(1);
    const g = JSON.parse(stdoutLines[0]!) as { status: string; error: { code: string; message: string } };
    expect(g.status).toBe('failed');
    expect(json.stderr).toContain(`error ${g.error.code}: ${g.error.message}\n`);
    expect(g.error.code).toBe('CONTENT_BLOCKED');
  });
});

describe('client CLI with no worker taking jobs: the queue position and --cancel-after (SPEC §12)', () => {
  let stack: Stack;

  beforeAll(async () => {
    const services = await startTestStack({ key: 'acme/queue', workers: 0 });
    stack = { services, api: services.api, key: services.key.key, adminKey: '', client: { BANATIE_API_KEY: services.key.key, BANATIE_API_URL: services.api.url } };
  });

  afterAll(async () => {
    await stopStack(stack);
  });

  /** The deadline the API set, as milliseconds after the submit. */
  const deadlineOf = async (id: string) => {
    const row = await stack.services.database.db.selectFrom('generations').select(['deadline_at', 'created_at']).where('id', '=', id).executeTakeFirstOrThrow();
    return row.deadline_at!.getTime() - row.created_at.getTime();
  };

  it('generate --wait shows "queued, position N" while pending; --cancel-after reaches the API as Cancel-After', async () => {
    const ahead = onlyJson(await runCli(['generate', 'first in line', '--cancel-after', '90', '--json'], stack.client)) as { id: string; status: string; queuePosition: number };
    expect(ahead).toMatchObject({ status: 'pending', queuePosition: 0 });
    expect(await deadlineOf(ahead.id)).toBe(90_000);

    const cli = spawnNode(CLI_ENTRY, ['generate', 'second in line', '--wait', '--cancel-after', '4m30s'], stack.client);
    const deadline = Date.now() + 20_000;
    while (!/^pending · /m.test(cli.stderr()) && cli.proc.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cli.stderr()).toMatch(/^pending · queued, position 2 · \d+\.\ds$/m);
    cli.proc.kill('SIGINT');
    expect((await cli.exited).code).toBe(1);
    const id = /^error INTERRUPTED: stopped waiting; generation (\S+) goes on/m.exec(cli.stderr())?.[1];
    expect(id, cli.stderr()).toBeDefined();
    expect(await deadlineOf(id!)).toBe(270_000);

    const shown = await runCli(['generations', 'show', id!], stack.client);
    expect(shown.stdout).toMatch(/^queue:\s+position 2 \(1 ahead\)$/m);
  });

  it('an unreadable --cancel-after is a usage error, exit 2, and nothing is submitted', async () => {
    const r = await runCli(['generate', 'never sent', '--cancel-after', 'soon'], stack.client);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: --cancel-after must be a duration such as 30s, 5m or 1h30m, or a number of seconds\n\nUsage: banatie generate /);
    const listed = onlyJson(await runCli(['generations', 'ls', '--json'], stack.client)) as Array<{ originalPrompt: string }>;
    expect(listed.map((g) => g.originalPrompt)).not.toContain('never sent');
  });
});
