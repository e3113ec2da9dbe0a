import { createLogger } from '@banatie/logger';
import { apiKeyService, systemClock } from '@banatie/core';
import { limitsRepository } from '@banatie/db';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@banatie/cli';
import { OPERATOR_COMMANDS } from '../../cli/src/operator-commands.js';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import { startStack, type Stack } from './harness.js';

// No worker: nothing here needs a generation to run, and a refused submit must leave no job and no row.
let stack: Stack;
let master: string;
beforeAll(async () => {
  stack = await startStack({ worker: false });
  master = (await apiKeyService.createMasterKey({ db: stack.db, clock: systemClock })).key;
});
afterAll(async () => stack?.close());

const limitsUrl = (project: string) => `/api/admin/projects/acme/${project}/limits`;
const putLimits = (project: string, payload: object, key = master) =>
  stack.app.inject({ method: 'PUT', url: limitsUrl(project), headers: { 'x-api-key': key }, payload });
const submit = (app: FastifyInstance, apiKey: string, body: object, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': apiKey, ...headers }, payload: body });
const countRows = async (projectId: string) => {
  const gens = await stack.db.selectFrom('generations').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  const flows = await stack.db.selectFrom('flows').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  const scopes = await stack.db.selectFrom('live_scopes').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  return { generations: Number(gens.n), flows: Number(flows.n), scopes: Number(scopes.n) };
};
/** What the worker records with a provider call's usage: today's cost of the project. */
const addCost = (projectId: string, usd: string) =>
  stack.db
    .insertInto('project_usage_days')
    .values({ project_id: projectId, day: new Date().toISOString().slice(0, 10), cost_usd: usd })
    .onConflict((oc) => oc.columns(['project_id', 'day']).doUpdateSet({ cost_usd: usd }))
    .execute();
const secondsToUtcMidnight = () => {
  const now = new Date();
  return Math.ceil((Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000);
};

describe('admin limits API (master key)', () => {
  it('reads nulls by default, sets, keeps what is left out, clears with null', async () => {
    await stack.createKey('acme', 'limits-crud');
    const empty = await stack.app.inject({ method: 'GET', url: limitsUrl('limits-crud'), headers: { 'x-api-key': master } });
    expect(empty.statusCode).toBe(200);
    expect(empty.json().data).toEqual({ generationsPerDay: null, monthlyCostUsd: null, maxConcurrency: null, usage: { generationsToday: 0, costUsdThisMonth: 0 } });
    const set = await putLimits('limits-crud', { generationsPerDay: 50, monthlyCostUsd: 12.5, maxConcurrency: 3 });
    expect(set.statusCode).toBe(200);
    expect(set.json().data).toMatchObject({ generationsPerDay: 50, monthlyCostUsd: 12.5, maxConcurrency: 3 });
    const partial = await putLimits('limits-crud', { monthlyCostUsd: null });
    expect(partial.json().data).toMatchObject({ generationsPerDay: 50, monthlyCostUsd: null, maxConcurrency: 3 });
  });

  it.each([
    [{ generationsPerDay: -1 }, 'generationsPerDay'],
    [{ generationsPerDay: 1.5 }, 'generationsPerDay'],
    [{ monthlyCostUsd: 'ten' }, 'monthlyCostUsd'],
    [{ maxConcurrency: 0 }, 'maxConcurrency'],
    [{ dailyCost: 1 }, 'dailyCost'],
  ])('%o is a 400 naming the field', async (body, field) => {
    const res = await putLimits('limits-crud', body);
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json().error)).toContain(field);
  });

  it('an unknown project is 404; a project key is 401', async () => {
    expect((await putLimits('no-such-project', { generationsPerDay: 1 })).statusCode).toBe(404);
    expect((await stack.app.inject({ method: 'GET', url: limitsUrl('no-such-project'), headers: { 'x-api-key': master } })).statusCode).toBe(404);
    expect((await putLimits('limits-crud', { generationsPerDay: 1 }, stack.key.key)).statusCode).toBe(401);
  });

  it('GET /api/v1/project shows the limits with the current usage', async () => {
    const key = await stack.createKey('acme', 'limits-shown', { role: 'standard' });
    await putLimits('limits-shown', { generationsPerDay: 10 });
    expect((await submit(stack.app, key.key, { prompt: 'one' })).statusCode).toBe(202);
    await addCost(key.projectId, '1.25');
    const res = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': key.key } });
    expect(res.json().data.limits).toEqual({ generationsPerDay: 10, monthlyCostUsd: null, maxConcurrency: null, usage: { generationsToday: 1, costUsdThisMonth: 1.25 } });
  });

  it('maxConcurrency is stored for the workers (limitsRepository.maxConcurrencyOf)', async () => {
    const a = await stack.createKey('acme', 'limits-conc-a');
    const b = await stack.createKey('acme', 'limits-conc-b');
    await putLimits('limits-conc-a', { maxConcurrency: 2 });
    await putLimits('limits-conc-b', { generationsPerDay: 5 });
    const map = await limitsRepository.maxConcurrencyOf(stack.db, [a.projectId, b.projectId, stack.key.projectId]);
    expect([...map]).toEqual([[a.projectId, 2]]);
  });
});

describe('limits refuse work before anything is created', () => {
  it('generationsPerDay: past it a plain submit and a submit with references/idempotency are 429 QUOTA_EXCEEDED with Retry-After; nothing is stored', async () => {
    const key = await stack.createKey('acme', 'limits-day');
    await putLimits('limits-day', { generationsPerDay: 2 });
    expect((await submit(stack.app, key.key, { prompt: 'one' })).statusCode).toBe(202);
    const admitted = await submit(stack.app, key.key, { prompt: 'two' }, { 'idempotency-key': 'k-two' });
    expect(admitted.statusCode).toBe(202);
    const before = await countRows(key.projectId);

    for (const [body, headers] of [
      [{ prompt: 'three' }, {}],
      [{ prompt: 'three', flowId: null }, { 'idempotency-key': 'k-three' }],
    ] as const) {
      const refused = await submit(stack.app, key.key, body, headers);
      expect(refused.statusCode).toBe(429);
      expect(refused.json().error).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { limit: 'generationsPerDay' } });
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(Math.abs(retryAfter - secondsToUtcMidnight())).toBeLessThanOrEqual(2);
    }
    expect(await countRows(key.projectId)).toEqual(before);
    // The replay of a request admitted before the limit answers as before.
    const replay = await submit(stack.app, key.key, { prompt: 'two' }, { 'idempotency-key': 'k-two' });
    expect(replay.statusCode).toBe(202);
    expect(replay.json().data.id).toBe(admitted.json().data.id);
    // Raising the limit admits again.
    await putLimits('limits-day', { generationsPerDay: 3 });
    expect((await submit(stack.app, key.key, { prompt: 'three' })).statusCode).toBe(202);
    expect((await submit(stack.app, key.key, { prompt: 'four' })).statusCode).toBe(429);
    // Generations made while unlimited still count once a limit is back.
    await putLimits('limits-day', { generationsPerDay: null });
    expect((await submit(stack.app, key.key, { prompt: 'four' })).statusCode).toBe(202);
    await putLimits('limits-day', { generationsPerDay: 4 });
    expect((await submit(stack.app, key.key, { prompt: 'five' })).statusCode).toBe(429);
    expect((await countRows(key.projectId)).generations).toBe(4);
  });

  it('monthlyCostUsd: once the month’s recorded cost reaches it, submits are 429 until the end of the UTC month', async () => {
    const key = await stack.createKey('acme', 'limits-month');
    await putLimits('limits-month', { monthlyCostUsd: 1 });
    expect((await submit(stack.app, key.key, { prompt: 'under budget' })).statusCode).toBe(202);
    await addCost(key.projectId, '1.0000000001');
    const refused = await submit(stack.app, key.key, { prompt: 'over budget' });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { limit: 'monthlyCostUsd' } });
    const now = new Date();
    const toMonthEnd = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) - now.getTime()) / 1000;
    expect(Math.abs(Number(refused.headers['retry-after']) - toMonthEnd)).toBeLessThanOrEqual(2);
    await putLimits('limits-month', { monthlyCostUsd: null });
    expect((await submit(stack.app, key.key, { prompt: 'unlimited again' })).statusCode).toBe(202);
  });

  it('a live MISS past a limit is 403 QUOTA_EXCEEDED: no scope, no generation', async () => {
    const key = await stack.createKey('acme', 'limits-live');
    await putLimits('limits-live', { generationsPerDay: 0 });
    const before = await countRows(key.projectId);
    const res = await stack.app.inject({ method: 'GET', url: '/cdn/acme/limits-live/live/hero?prompt=a%20red%20fox' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('QUOTA_EXCEEDED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    const keyed = await stack.app.inject({ method: 'GET', url: '/api/v1/live?prompt=a%20red%20fox', headers: { 'x-api-key': key.key } });
    expect(keyed.statusCode).toBe(403);
    expect(keyed.json().error.code).toBe('QUOTA_EXCEEDED');
    expect(await countRows(key.projectId)).toEqual(before);
  });
});

describe('limits across API instances', () => {
  let second: { app: FastifyInstance; close(): Promise<void> };
  beforeAll(async () => {
    const deps = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
    const app = await buildApp(deps);
    await app.ready();
    second = { app, close: async () => (await app.close(), await deps.close()) };
  });
  afterAll(async () => second?.close());

  it('racing submits at the cap from two instances: exactly one wins', async () => {
    const key = await stack.createKey('acme', 'limits-race');
    await putLimits('limits-race', { generationsPerDay: 3 });
    for (const prompt of ['a', 'b']) expect((await submit(stack.app, key.key, { prompt })).statusCode).toBe(202);
    const racers = Array.from({ length: 12 }, (_, i) => {
      const app = i % 2 === 0 ? stack.app : second.app;
      // Both submit paths: the one-statement plain path and the transactional one.
      return i % 3 === 0 ? submit(app, key.key, { prompt: `race ${i}` }, { 'idempotency-key': `race-${i}` }) : submit(app, key.key, { prompt: `race ${i}` });
    });
    const statuses = (await Promise.all(racers)).map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(11);
    expect((await countRows(key.projectId)).generations).toBe(3);
  });

  it('many racing plain submits below the cap, the day counter known: exactly the cap is admitted', async () => {
    const key = await stack.createKey('acme', 'limits-race-counted');
    await putLimits('limits-race-counted', { generationsPerDay: 10 });
    // The first admission of the day counts the rows; the racers then take the counter's conditional update.
    expect((await submit(stack.app, key.key, { prompt: 'first' })).statusCode).toBe(202);
    const racers = Array.from({ length: 30 }, (_, i) => submit(i % 2 === 0 ? stack.app : second.app, key.key, { prompt: `race ${i}` }));
    const statuses = (await Promise.all(racers)).map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 202)).toHaveLength(9);
    expect(statuses.filter((s) => s === 429)).toHaveLength(21);
    expect((await countRows(key.projectId)).generations).toBe(10);
  });
});

describe('CLI: limits and usage (operator commands on the database)', () => {
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      env: { DATABASE_URL: stack.config.databaseUrl, LOG_LEVEL: 'silent' },
      signal: new AbortController().signal,
    }, OPERATOR_COMMANDS);
    return { code, stdout: out.join(''), stderr: err.join('') };
  };

  it('limits set / show, and usage of the project, as JSON and as text', async () => {
    const key = await stack.createKey('acme', 'limits-cli');
    const set = await cli('limits', 'set', 'acme/limits-cli', '--generations-per-day', '1', '--max-concurrency', '2', '--json');
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ generationsPerDay: 1, monthlyCostUsd: null, maxConcurrency: 2 });
    expect((await submit(stack.app, key.key, { prompt: 'one' })).statusCode).toBe(202);
    expect((await submit(stack.app, key.key, { prompt: 'two' })).statusCode).toBe(429);
    const shown = await cli('limits', 'show', 'acme/limits-cli');
    expect(shown.stdout).toMatch(/generations per day: 1 \(today: 1\)/);
    expect((await cli('limits', 'set', 'acme/limits-cli', '--generations-per-day', 'none', '--json')).stdout).toMatch(/"generationsPerDay":null/);
    const usage = await cli('usage', 'acme/limits-cli', '--json');
    expect(usage.code).toBe(0);
    expect(JSON.parse(usage.stdout).totals.generations).toBe(1);
    expect((await cli('usage')).stdout).toMatch(/^acme\/limits-cli +1 /m);
    const missing = await cli('limits', 'show', 'acme/no-such-project');
    expect(missing.code).toBe(1);
  });
});
