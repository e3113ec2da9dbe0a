import { processGeneration, systemClock, type ImageProvider, type ProcessorDeps } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import { LocalImageProvider } from '@banatie/providers';
import { createObjectStorage } from '@banatie/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { call, cdnPath, storedKeys } from './image-helpers.js';

/**
 * A regeneration while the previous run is still in the provider: the newer run
 * wins, and the late older run neither overwrites its bytes nor leaves an object.
 * The worker is off; the test plays both runs through the real processor.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local', worker: false });
});
afterAll(async () => stack?.close());

describe('regenerate during processing', () => {
  it('the superseded run is discarded', async () => {
    const local = new LocalImageProvider();
    const storage = createObjectStorage(stack.config.storage);
    const base = { db: stack.db, storage, clock: systemClock, logger: createLogger({ level: 'silent' }) };
    const sub = (await call(stack, 'POST', '/api/v1/generations', { prompt: 'race', autoEnhance: false })).json().data;

    // While run 0 is "in the provider", the client regenerates and run 1 completes first.
    const slowProvider: ImageProvider = {
      name: 'local',
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
});
