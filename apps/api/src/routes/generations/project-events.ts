import { generationService, NotFoundError } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { serviceDeps } from '../../lib/service-deps.js';
import { projectOf, streamOwnerOf } from '../../plugins/auth.js';
import { eventStreamDoc } from '../../lib/openapi-docs.js';

/**
 * GET /generations/events: every status change of the project's generations as
 * Server-Sent Events (`event: status`, the full generation), until the client
 * goes away. Used by the Studio's live list: one connection instead of one per
 * generation. A generation appears once it changes status after submit
 * (processing); submit itself publishes nothing, to keep that path lean.
 */
export async function projectGenerationEventRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = serviceDeps(deps);

  r.get(
    '/generations/events',
    { schema: { tags: ['generations'], operationId: 'streamProjectEvents', documentedResponses: eventStreamDoc, summary: "Server-Sent Events: status changes of every generation of the project" } },
    async (request, reply) => {
      const ctx = projectOf(request);
      const changed = new Set<string>();
      const stream = await app.openStreams.create(reply, streamOwnerOf(request, deps));
      let unsubscribe: (() => Promise<void>) | undefined;
      try {
        unsubscribe = await deps.events.subscribeProject(ctx.projectId, (event) => {
          changed.add(event.generationId);
          stream.notify();
        });
        stream.open();
        stream.heartbeat();
        for (let signal = await stream.next(); signal !== 'closed'; signal = await stream.next()) {
          if (signal === 'heartbeat') {
            stream.heartbeat();
            continue;
          }
          const ids = [...changed];
          changed.clear();
          for (const id of ids) {
            try {
              stream.send('status', await generationService.getGeneration(svc, ctx, id));
            } catch (err) {
              // Deleted meanwhile: nothing to show.
              if (!(err instanceof NotFoundError)) throw err;
            }
          }
        }
      } catch (err) {
        if (!stream.isOpen) throw err;
        request.log.warn({ err }, 'project event stream ended by an error');
      } finally {
        await unsubscribe?.();
        stream.end();
      }
    },
  );
}
