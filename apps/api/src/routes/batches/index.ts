import { batchIdParams, batchSchema, createBatchBody, generationHeaders, pageQuery } from '@banatie/contracts';
import { batchService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok, page } from '../../lib/envelope.js';
import { serviceDeps } from '../../lib/service-deps.js';
import { okDoc, pageDoc, queuedDoc } from '../../lib/openapi-docs.js';
import { projectOf } from '../../plugins/auth.js';

/** A batch costs the write bucket one unit per item (SPEC §17); a body without items costs one. */
const BATCH_ROUTE = {
  rateLimit: { bucket: 'write', cost: (body: unknown) => Math.max(1, Array.isArray((body as { items?: unknown } | null)?.items) ? (body as { items: unknown[] }).items.length : 1) },
} as const;

/** Batches of generations (SPEC §13). */
export async function batchRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // With the local provider the batch tier runs like standard (SPEC §13); with Gemini it waits for the Batch API.
  const svc = { ...serviceDeps(deps), batchTierQueued: deps.config.imageProvider === 'gemini' };

  r.post(
    '/batches',
    {
      config: BATCH_ROUTE,
      schema: {
        tags: ['batches'],
        operationId: 'createBatch',
        documentedResponses: queuedDoc(batchSchema),
        summary: 'Submit up to 500 generations at once; each item is a generation request (POST /generations body)',
        body: createBatchBody,
        headers: generationHeaders,
      },
    },
    async (request, reply) => {
      const { batch, created } = await batchService.createBatch(svc, projectOf(request), request.body, {
        idempotencyKey: request.headers['idempotency-key'],
      });
      reply.header('location', `/api/v1/batches/${batch.id}`);
      if (!created) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(ok(batch));
    },
  );

  r.get('/batches', { schema: { tags: ['batches'], operationId: 'listBatches', documentedResponses: pageDoc(batchSchema), summary: 'List batches, newest first', querystring: pageQuery } }, async (request) => {
    const q = request.query;
    const { items, total } = await batchService.listBatches(svc, projectOf(request), q);
    return page(items, total, q.limit, q.offset);
  });

  r.get('/batches/:id', { schema: { tags: ['batches'], operationId: 'getBatch', documentedResponses: okDoc(batchSchema), summary: 'A batch with its counts and generation ids', params: batchIdParams } }, async (request) =>
    ok(await batchService.getBatch(svc, projectOf(request), request.params.id)),
  );

  r.post(
    '/batches/:id/cancel',
    { schema: { tags: ['batches'], operationId: 'cancelBatch', documentedResponses: okDoc(batchSchema), summary: 'Cancel every item that has not finished', params: batchIdParams } },
    async (request) => ok(await batchService.cancelBatch(svc, projectOf(request), request.params.id)),
  );
}
