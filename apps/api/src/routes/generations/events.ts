import { generationIdParams, generationSchema, pageQuery, webhookAttemptSchema } from '@banatie/contracts';
import { cancelGeneration, generationService, isTerminal, webhookService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok, page } from '../../lib/envelope.js';
import { serviceDeps } from '../../lib/service-deps.js';
import { projectOf, streamOwnerOf } from '../../plugins/auth.js';
import { eventStreamDoc, okDoc, pageDoc } from '../../lib/openapi-docs.js';

/** Generation status stream (SSE), cancel, and webhook attempts (SPEC §4, §8). */
export async function generationEventRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = serviceDeps(deps);

  r.post(
    '/generations/:id/cancel',
    { schema: { tags: ['generations'], operationId: 'cancelGeneration', documentedResponses: okDoc(generationSchema), summary: 'Cancel a pending or processing generation', params: generationIdParams } },
    async (request) => ok(await cancelGeneration(svc, projectOf(request), request.params.id)),
  );

  r.get(
    '/generations/:id/webhooks',
    { schema: { tags: ['generations'], operationId: 'listGenerationWebhooks', documentedResponses: pageDoc(webhookAttemptSchema), summary: 'Webhook delivery attempts of a generation', params: generationIdParams, querystring: pageQuery } },
    async (request) => {
      const q = request.query;
      const { items, total } = await webhookService.listWebhookAttempts(deps, projectOf(request), request.params.id, q);
      return page(items, total, q.limit, q.offset);
    },
  );

  r.get(
    '/generations/:id/events',
    { schema: { tags: ['generations'], operationId: 'streamGenerationEvents', documentedResponses: eventStreamDoc, summary: 'Server-Sent Events: the current status, then each change until a terminal one', params: generationIdParams } },
    async (request, reply) => {
      const ctx = projectOf(request);
      const read = () => generationService.getGeneration(svc, ctx, request.params.id);
      const stream = await app.openStreams.create(reply, streamOwnerOf(request, deps));
      let unsubscribe: (() => Promise<void>) | undefined;
      try {
        // Subscribe before the first read so no change slips between the two (503 if Redis is down).
        unsubscribe = await deps.events.subscribe(request.params.id, () => stream.notify());
        let current = await read();
        stream.open();
        stream.send('status', current);
        while (!isTerminal(current.status)) {
          const signal = await stream.next();
          if (signal === 'closed') break;
          // On a heartbeat the row is read too: an event published while Redis was away is not lost.
          const next = await read();
          if (next.status !== current.status) stream.send('status', next);
          else if (signal === 'heartbeat') stream.heartbeat();
          current = next;
        }
      } catch (err) {
        // Before the stream opened (the generation is not found…): an ordinary error response.
        if (!stream.isOpen) throw err;
        request.log.warn({ err }, 'event stream ended by an error');
      } finally {
        await unsubscribe?.();
        stream.end();
      }
    },
  );
}
