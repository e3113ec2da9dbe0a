import { outputImageIdFor, processGeneration, systemClock, type ImageProvider, type ProcessorDeps } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import { LocalImageProvider } from '@banatie/providers';
import { createObjectStorage } from '@banatie/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { call, cdnPath, storedKeys } from './image-helpers.js';

/**
 * Generations changed while a run is in flight (regenerated, deleted): the late
 * run neither overwrites newer bytes nor leaves an image or an object behind.
 * The worker is off; the tests play the runs through the real processor.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local', worker: false });
});
afterAll(async () => stack?.close());

describe('changes while a run is in flight', () => {
  it('the superseded run is discarded', async () => {
    const local = new LocalImageProvider();
    const storage = createObjectStorage(stack.config.storage);
    const base = { db: stack.db, storage, clock: systemClock, logger: createLogger({ level: 'silent' }) };
    const sub = (await call(stack, 'POST', '/api/v1/generations', { prompt: 'race', autoEnhance: false })).json().data;

    // While run 0 is "in the provider", the client regenerates and run 1 completes first.
    const slowProvider: ImageProvider = {
      name: 'local',
      models: local.models,
      enhancePrompt: (req) => local.enhancePrompt(req),
      generateImage: async (req) => {
        const regen = await call(stack, 'POST', `/api/v1/generations/${sub.id}/regenerate`);
        expect(regen.json().data.status).toBe('pending');
        const winner = await processGeneration({ ...base, imageProvider: local }, { generationId: sub.id, run: 1, isFinalAttempt: true });
        expect(winner).toBe('succeeded');
        return local.generateImage({ ...req, prompt: 'stale bytes' });
      },
    };
    const deps: ProcessorDeps = { ...base, imageProvider: slowProvider };
    expect(await processGeneration(deps, { generationId: sub.id, run: 0, isFinalAttempt: true })).toBe('skipped');

    const g = (await call(stack, 'GET', `/api/v1/generations/${sub.id}`)).json().data;
    expect(g.status).toBe('success');
    const served = await stack.app.inject({ method: 'GET', url: cdnPath(g.outputImage.url) });
    expect(served.statusCode).toBe(200);
    expect(served.rawPayload.length).toBe(g.outputImage.fileSize);
    const expected = await local.generateImage({ prompt: 'race', aspectRatio: '1:1', referenceImages: [] });
    expect(Buffer.compare(served.rawPayload, expected.data)).toBe(0);
    expect((await storedKeys(stack)).filter((k) => k.includes(g.outputImageId))).toEqual([`${g.projectId}/${g.outputImageId}.r1`]);
  });

  it('a regeneration replaces the object and removes the previous one', async () => {
    const local = new LocalImageProvider();
    const deps: ProcessorDeps = { db: stack.db, storage: createObjectStorage(stack.config.storage), clock: systemClock, logger: createLogger({ level: 'silent' }), imageProvider: local };
    const sub = (await call(stack, 'POST', '/api/v1/generations', { prompt: 'first', autoEnhance: false })).json().data;
    await processGeneration(deps, { generationId: sub.id, run: 0, isFinalAttempt: true });
    await call(stack, 'PUT', `/api/v1/generations/${sub.id}`, { prompt: 'second' });
    await processGeneration(deps, { generationId: sub.id, run: 1, isFinalAttempt: true });
    const g = (await call(stack, 'GET', `/api/v1/generations/${sub.id}`)).json().data;
    expect([g.status, g.outputImage.version]).toEqual(['success', 2]);
    expect((await storedKeys(stack)).filter((k) => k.includes(g.outputImageId))).toEqual([`${g.projectId}/${g.outputImageId}.r1`]);
  });

  it('deleting a pending generation cancels it: its job produces nothing', async () => {
    const local = new LocalImageProvider();
    const deps: ProcessorDeps = { db: stack.db, storage: createObjectStorage(stack.config.storage), clock: systemClock, logger: createLogger({ level: 'silent' }), imageProvider: local };
    const sub = (await call(stack, 'POST', '/api/v1/generations', { prompt: 'never drawn', autoEnhance: false })).json().data;
    expect((await call(stack, 'DELETE', `/api/v1/generations/${sub.id}`)).statusCode).toBe(200);
    expect(await processGeneration(deps, { generationId: sub.id, run: 0, isFinalAttempt: true })).toBe('skipped');
    const g = (await call(stack, 'GET', `/api/v1/generations/${sub.id}`)).json().data;
    expect([g.status, g.outputImageId, g.deletedAt === null]).toEqual(['cancelled', null, false]);
  });

  it('deleting a processing generation discards its output', async () => {
    const local = new LocalImageProvider();
    const sub = (await call(stack, 'POST', '/api/v1/generations', { prompt: 'deleted midway', autoEnhance: false })).json().data;
    const provider: ImageProvider = {
      name: 'local',
      models: local.models,
      enhancePrompt: (req) => local.enhancePrompt(req),
      generateImage: async (req) => {
        expect((await call(stack, 'DELETE', `/api/v1/generations/${sub.id}`)).statusCode).toBe(200);
        return local.generateImage(req);
      },
    };
    const deps: ProcessorDeps = { db: stack.db, storage: createObjectStorage(stack.config.storage), clock: systemClock, logger: createLogger({ level: 'silent' }), imageProvider: provider };
    expect(await processGeneration(deps, { generationId: sub.id, run: 0, isFinalAttempt: true })).toBe('skipped');
    const g = (await call(stack, 'GET', `/api/v1/generations/${sub.id}`)).json().data;
    expect([g.status, g.outputImageId]).toEqual(['cancelled', null]);
    expect(await stack.db.selectFrom('images').selectAll().where('generation_id', '=', sub.id).execute()).toEqual([]);
    expect((await storedKeys(stack)).filter((k) => k.includes(outputImageIdFor(g.id)))).toEqual([]);
  });
});
