// SPEC §15: `npm pack` of the SDK (and the contracts it depends on) and of the
// CLI install into an empty project and work there on Node 24 against a running
// API; the CLI brings none of the server's dependencies; the packages carry
// complete publishing metadata. Needs the compiled packages (npm run build).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanProject, packAll, PUBLISHED, ROOT, run, type CleanProject } from './helpers/packed.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let project: CleanProject;
let packDir: CleanProject;

beforeAll(async () => {
  packDir = await cleanProject([], 'banatie-tarballs');
  const tarballs = await packAll(packDir.dir);
  [stack, project] = await Promise.all([startTestStack({ key: 'acme/packed' }), cleanProject(tarballs)]);
});
afterAll(async () => {
  await stack?.stop();
  await project?.remove();
  await packDir?.remove();
});

describe('publishing metadata', () => {
  it.each(PUBLISHED)('%s is complete', async (pkg) => {
    const manifest = JSON.parse(await readFile(join(ROOT, pkg, 'package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    expect(manifest.license).toBe('MIT');
    expect(manifest.repository).toMatchObject({ type: 'git', url: 'git+https://github.com/banatie/banatie.git', directory: pkg });
    expect(manifest.publishConfig).toEqual({ access: 'public', provenance: true });
    expect(manifest.types).toBe('./dist/index.d.ts');
    expect(manifest.exports['.']).toMatchObject({ types: './dist/index.d.ts', import: './dist/index.js' });
    expect(manifest.files).toContain('dist');
    expect(manifest.engines.node).toBe('>=22.12');
    for (const [name, version] of Object.entries<string>(manifest.dependencies ?? {})) expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('in a clean project', () => {
  it('holds only the SDK, the CLI, the contracts and zod: no database, queue or image library', async () => {
    const top = (await readdir(join(project.dir, 'node_modules'))).filter((n) => !n.startsWith('.')).sort();
    expect(top).toEqual(['@banatie', 'zod']);
    expect((await readdir(join(project.dir, 'node_modules/@banatie'))).sort()).toEqual(['cli', 'contracts', 'sdk']);
    const sdkFiles = await readdir(join(project.dir, 'node_modules/@banatie/sdk'));
    expect(sdkFiles).toEqual(expect.arrayContaining(['dist', 'package.json', 'README.md']));
    expect(sdkFiles).not.toContain('test');
  });

  it('the SDK makes an image against the API (Node 24, ESM)', async () => {
    await writeFile(
      join(project.dir, 'make-image.mjs'),
      `import { Banatie } from '@banatie/sdk';
const client = new Banatie({ apiKey: process.env.BANATIE_API_KEY, baseUrl: process.env.BANATIE_API_URL });
const generation = await client.generations.createAndWait({ prompt: 'a packed lighthouse', aspectRatio: '16:9' });
const image = await fetch(generation.outputImage.url);
const ids = [];
for await (const g of client.generations.list({ status: 'success' })) ids.push(g.id);
console.log(JSON.stringify({ node: process.version, status: generation.status, contentType: image.headers.get('content-type'), bytes: (await image.arrayBuffer()).byteLength, listed: ids.includes(generation.id) }));
`,
    );
    const { stdout } = await run(process.execPath, ['make-image.mjs'], { cwd: project.dir, env: { ...process.env, BANATIE_API_KEY: stack.key.key, BANATIE_API_URL: stack.api.url } });
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ status: 'success', contentType: 'image/png', listed: true });
    expect(result.node).toMatch(/^v24\./);
    expect(result.bytes).toBeGreaterThan(100);
  });

  it("the SDK's types resolve through its exports and check a program", async () => {
    await writeFile(join(project.dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'nodenext', target: 'es2023', lib: ['es2023', 'dom'], types: [], skipLibCheck: true }, include: ['*.ts'] }));
    await writeFile(
      join(project.dir, 'app.ts'),
      `import { Banatie, BanatieError, type Generation } from '@banatie/sdk';
export async function newest(client: Banatie): Promise<Generation[]> {
  const page = await client.generations.list({ limit: 5 }, { timeoutMs: 5000 });
  const total: number = page.pagination.total;
  const all: Generation[] = [];
  for await (const g of client.generations.list({ status: 'success' })) all.push(g);
  return total > 0 ? all : page.data;
}
export const isRateLimited = (err: unknown): boolean => err instanceof BanatieError && err.code === 'RATE_LIMIT_EXCEEDED';
// @ts-expect-error a status that does not exist
export const wrong: Generation['status'] = 'done';
`,
    );
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project.dir], { cwd: project.dir });
  });

  it('the banatie CLI generates an image with only the SDK behind it', async () => {
    const env = { ...process.env, BANATIE_API_KEY: stack.key.key, BANATIE_API_URL: stack.api.url };
    const version = await run(join(project.dir, 'node_modules/.bin/banatie'), ['--version'], { cwd: project.dir, env });
    expect(version.stdout).toBe('0.1.0\n');
    const { stdout } = await run(join(project.dir, 'node_modules/.bin/banatie'), ['generate', 'a packed cli image', '--out', 'cli.png', '--json'], { cwd: project.dir, env });
    const generation = JSON.parse(stdout);
    expect(generation).toMatchObject({ status: 'success', savedTo: expect.stringMatching(/cli\.png$/) });
    const png = await readFile(join(project.dir, 'cli.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const help = await run(join(project.dir, 'node_modules/.bin/banatie'), ['--help'], { cwd: project.dir, env });
    expect(help.stdout).not.toMatch(/^ {2}(migrate|key|project) /m);
  });
});
