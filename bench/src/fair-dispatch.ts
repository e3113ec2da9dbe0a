// Issue 15 (c): what fair dispatch costs on its own. The pipeline row's bare
// baseline (bare Fastify submit route, bare BullMQ worker) run twice: its jobs
// added with a plain `queue.add`, and through the service's enqueue
// (`enqueueGeneration` of @banatie/queue: the fair-priority Lua script, then a
// prioritized add that the worker takes from BullMQ's priority set).
import { postJson, submitMany, SUBMIT_BODY, waitAllSucceeded, withRss, type Durations, type Measured } from './scenarios.js';
import type { Stack } from './stack.js';

/** The bare pipeline with fair dispatch: generations per second from the first submit to the last success. */
export function fairDispatchPipeline(stack: Stack, d: Durations, workerPids: Record<string, number>): Promise<Measured<number>> {
  return withRss({ baselineApi: stack.baseline.pid, ...workerPids }, async () => {
    const started = performance.now();
    const ids = await submitMany(d.pipelineJobs, () => postJson(`${stack.baseline.url}/submit-fair`, {}, SUBMIT_BODY));
    await waitAllSucceeded(stack, ids, 120_000);
    return d.pipelineJobs / ((performance.now() - started) / 1000);
  });
}
