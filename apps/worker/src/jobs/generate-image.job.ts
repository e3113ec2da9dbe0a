import { QuotaWaitError, RetryableGenerationError, failGeneration, processGeneration, type ProcessorDeps } from '@banatie/core';
import { generationJobSchema, hasStalledOut, type GenerationJobData } from '@banatie/queue';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { ProjectGate } from './project-gate.js';

/** One handler per job: parses the ids, takes a slot of its project (maxConcurrency) and runs one attempt of the generation. */
export function createGenerateImageHandler(deps: ProcessorDeps, gate?: ProjectGate) {
  return async (job: Job<GenerationJobData>, token?: string): Promise<string> => {
    const parsed = generationJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('invalid job data');
    const maxAttempts = job.opts.attempts ?? 1;
    const leave = gate ? await gate.enter(job, token) : undefined;
    try {
      return await processGeneration(deps, {
        generationId: parsed.data.generationId,
        run: parsed.data.run,
        model: parsed.data.model,
        isFinalAttempt: job.attemptsMade + 1 >= maxAttempts,
      });
    } catch (err) {
      if (err instanceof QuotaWaitError) {
        // Only this job waits (other models' jobs go on), and BullMQ counts no attempt for it.
        await job.moveToDelayed(Date.now() + err.waitMs, token);
        throw new DelayedError();
      }
      throw err;
    } finally {
      await leave?.();
    }
  };
}

/**
 * The queue gave up on a job without the processor settling the row (a stall
 * past MAX_STALLED_COUNT, which BullMQ fails with an UnrecoverableError, or an
 * exhausted job): mark the generation failed.
 */
export async function onGenerationJobFailed(
  deps: Pick<ProcessorDeps, 'db' | 'clock' | 'onStatusChange' | 'logger'>,
  job: Job<GenerationJobData> | undefined,
  err: Error,
): Promise<void> {
  if (!job) return;
  const stalledOut = hasStalledOut(job);
  const exhausted = stalledOut || err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
  if (!exhausted) return;
  const parsed = generationJobSchema.safeParse(job.data);
  if (!parsed.success) return;
  const code = err instanceof RetryableGenerationError ? err.code : 'INTERNAL_ERROR';
  const message = stalledOut ? 'The worker processing this generation stopped responding' : err.message;
  await failGeneration(deps, parsed.data, code, message);
}
