import { createGenerationBody, generationHeaders, generationIdParams, generationSchema, listGenerationsQuery, parseCancelAfter, submitGenerationHeaders, submittedGenerationSchema } from '@banatie/contracts';
import { generationService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok, page } from '../../lib/envelope.js';
import { parsePreferWait } from '../../lib/prefer-wait.js';
import { serviceDeps } from '../../lib/service-deps.js';
import { waitForGeneration } from '../../lib/wait-for-generation.js';
import { projectOf } from '../../plugins/auth.js';
import { WRITE_ROUTE } from '../../plugins/rate-limit.js';
import { okDoc, pageDoc, queuedDoc } from '../../lib/openapi-docs.js';

export async function generationRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = serviceDeps(deps);

  r.post(
    '/generations',
    { config: WRITE_ROUTE, schema: { tags: ['generations'], operationId: 'createGeneration', documentedResponses: queuedDoc(submittedGenerationSchema), summary: 'Submit a generation', body: createGenerationBody, headers: submitGenerationHeaders } },
    async (request, reply) => {
      const ctx = projectOf(request);
      const cancelAfter = request.headers['cancel-after'];
      const wait = parsePreferWait(request.headers.prefer);
      const { generation, created } = await generationService.submitGeneration(svc, ctx, request.body, {
        idempotencyKey: request.headers['idempotency-key'],
        deadlineMs: cancelAfter === undefined ? undefined : parseCancelAfter(cancelAfter),
        interactive: wait !== undefined && wait > 0,
      });
      reply.header('location', `/api/v1/generations/${generation.id}`);
      if (!created) reply.header('idempotent-replayed', 'true');
      if (wait === undefined) return reply.code(202).send(ok(generation));
      reply.header('preference-applied', `wait=${wait}`);
      const final = await waitForGeneration(deps.events, generation.id, wait * 1000, () =>
        generationService.getGeneration(svc, ctx, generation.id),
      );
      return reply.code(generationService.isTerminal(final.status) ? 200 : 202).send(ok({ ...final, warnings: generation.warnings }));
    },
  );

  r.get(
    '/generations',
    { schema: { tags: ['generations'], operationId: 'listGenerations', documentedResponses: pageDoc(generationSchema), summary: 'List generations', querystring: listGenerationsQuery } },
    async (request) => {
      const q = request.query;
      const { items, total } = await generationService.listGenerations(svc, projectOf(request), q);
      return page(items, total, q.limit, q.offset);
    },
  );

  r.get(
    '/generations/:id',
    { schema: { tags: ['generations'], operationId: 'getGeneration', documentedResponses: okDoc(generationSchema), summary: 'Get a generation (Prefer: wait=N long-polls)', params: generationIdParams, headers: generationHeaders } },
    async (request, reply) => {
      const ctx = projectOf(request);
      const read = () => generationService.getGeneration(svc, ctx, request.params.id);
      const wait = parsePreferWait(request.headers.prefer);
      if (wait === undefined) return ok(await read());
      const generation = await read();
      reply.header('preference-applied', `wait=${wait}`);
      return ok(await waitForGeneration(deps.events, generation.id, wait * 1000, read));
    },
  );
}
