// A generation whose job stalls out (its workers keep dying until BullMQ gives
// up) ends `failed` with the message clients see. What decides is BullMQ's
// stall counter on the job, never the text of an error.
import { systemClock } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import type { GenerationJobData } from '@banatie/queue';
import { UnrecoverableError, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onGenerationJobFailed } from '../../worker/src/jobs/generate-image.job.js';
import { startStack, type Stack } from './harness.js';
import { startVanishingWorker } from './vanishing-worker.js';

let stack: Stack;
let deps: Parameters<typeof onGenerationJobFailed>[0];

beforeAll(async () => {
  stack = await startStack({ worker: false });
  deps = { db: stack.db, clock: systemClock, logger: createLogger({ level: 'silent' }) };
});

afterAll(async () => {
  await stack?.close();
});

async function submit(prompt: string): Promise<string> {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().data.id;
}

async function outcome(id: string) {
  const row = await stack.db.selectFrom('generations').select(['status', 'error_code', 'error_message']).where('id', '=', id).executeTakeFirstOrThrow();
  return { status: row.status, code: row.error_code, message: row.error_message };
}

describe('stalled-out generation jobs', () => {
  it("the worker's failed handler fails the generation of a job BullMQ stalled out", async () => {
    const id = await submit('its workers keep dying');
    const settling: Array<Promise<void>> = [];
    const vanishing = startVanishingWorker(stack.config, id, (job, err) => settling.push(onGenerationJobFailed(deps, job, err)));
    try {
      await vanishing.failed;
      await Promise.all(settling);
    } finally {
      await vanishing.close();
    }
    expect(await outcome(id)).toEqual({ status: 'failed', code: 'INTERNAL_ERROR', message: 'The worker processing this generation stopped responding' });
  });

  it('a job that gave up for another reason keeps its own message, whatever the words', async () => {
    const id = await submit('fails on its own');
    const job = { data: { generationId: id, run: 0 }, attemptsMade: 1, opts: { attempts: 3 }, stalledCounter: 0 } as unknown as Job<GenerationJobData>;
    await onGenerationJobFailed(deps, job, new UnrecoverableError('the job stalled more than allowable limit, says its text'));
    expect(await outcome(id)).toEqual({ status: 'failed', code: 'INTERNAL_ERROR', message: 'the job stalled more than allowable limit, says its text' });
  });
});
