import { deletedSchema, generationHeaders, generationIdParams, generationSchema, updateGenerationBody } from '@banatie/contracts';
import { generationLifecycle } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok } from '../../lib/envelope.js';
import { respondQueued } from '../../lib/respond-generation.js';
import { serviceDeps } from '../../lib/service-deps.js';
import { projectOf } from '../../plugins/auth.js';
import { WRITE_ROUTE } from '../../plugins/rate-limit.js';
import { okDoc, queuedDoc } from '../../lib/openapi-docs.js';

/** Regenerate (and the deprecated /retry), PUT and DELETE of a generation (SPEC §4). */
export async function generationLifecycleRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = serviceDeps(deps);

  for (const action of ['regenerate', 'retry'] as const) {
    r.post(
      `/generations/:id/${action}`,
      {
        config: WRITE_ROUTE,
        schema: {
          tags: ['generations'],
          operationId: `${action}Generation`,
          documentedResponses: queuedDoc(generationSchema),
          summary: action === 'retry' ? 'Deprecated alias of /regenerate' : 'Regenerate in place (same image id and URL, new ETag and version)',
          params: generationIdParams,
          headers: generationHeaders,
          ...(action === 'retry' ? { deprecated: true } : {}),
        },
      },
      async (request, reply) => {
        const ctx = projectOf(request);
        if (action === 'retry') reply.header('deprecation', 'true').header('link', `</api/v1/generations/${request.params.id}/regenerate>; rel="successor-version"`);
        const generation = await generationLifecycle.regenerateGeneration(svc, ctx, request.params.id);
        return respondQueued(deps, request, reply, ctx, generation);
      },
    );
  }

  r.put(
    '/generations/:id',
    { config: { rateLimit: { bucket: 'write', cost: mayRegenerate } }, schema: { tags: ['generations'], operationId: 'updateGeneration', documentedResponses: okDoc(generationSchema), summary: 'Update; a new prompt or aspect ratio regenerates in place', params: generationIdParams, body: updateGenerationBody } },
    async (request) => ok(await generationLifecycle.updateGeneration(svc, projectOf(request), request.params.id, request.body)),
  );

  r.delete(
    '/generations/:id',
    { schema: { tags: ['generations'], operationId: 'deleteGeneration', documentedResponses: okDoc(deletedSchema), summary: 'Soft-delete; the output image goes unless it carries an alias', params: generationIdParams } },
    async (request) => ok(await generationLifecycle.deleteGeneration(svc, projectOf(request), request.params.id)),
  );
}

/** A PUT that sets the prompt or aspect ratio may regenerate: it is charged as work, whether or not the value changes. */
function mayRegenerate(body: unknown): number {
  if (typeof body !== 'object' || body === null) return 0;
  return 'prompt' in body || 'aspectRatio' in body ? 1 : 0;
}
