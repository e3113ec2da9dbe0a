import { deletedSchema, flowAliasParams, flowIdParams, flowSchema, generationHeaders, generationSchema, imageSchema, pageQuery, setFlowAliasesBody } from '@banatie/contracts';
import { flowService, generationLifecycle, generationService, imageService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok, page } from '../../lib/envelope.js';
import { respondQueued } from '../../lib/respond-generation.js';
import { serviceDeps } from '../../lib/service-deps.js';
import { projectOf } from '../../plugins/auth.js';
import { WRITE_ROUTE } from '../../plugins/rate-limit.js';
import { okDoc, pageDoc, queuedDoc } from '../../lib/openapi-docs.js';

/** Flows (SPEC §5). */
export async function flowRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = serviceDeps(deps);

  r.get('/flows', { schema: { tags: ['flows'], operationId: 'listFlows', documentedResponses: pageDoc(flowSchema), summary: 'List flows', querystring: pageQuery } }, async (request) => {
    const q = request.query;
    const { items, total } = await flowService.listFlows(svc, projectOf(request), q);
    return page(items, total, q.limit, q.offset);
  });

  r.get('/flows/:id', { schema: { tags: ['flows'], operationId: 'getFlow', documentedResponses: okDoc(flowSchema), summary: 'Get a flow', params: flowIdParams } }, async (request) =>
    ok(await flowService.getFlow(svc, projectOf(request), request.params.id)),
  );

  r.get(
    '/flows/:id/generations',
    { schema: { tags: ['flows'], operationId: 'listFlowGenerations', documentedResponses: pageDoc(generationSchema), summary: "A flow's generations", params: flowIdParams, querystring: pageQuery } },
    async (request) => {
      const ctx = projectOf(request);
      const flowId = await flowService.requireFlow(deps.db, ctx, request.params.id);
      const q = request.query;
      const { items, total } = await generationService.listGenerations(svc, ctx, { flowId, ...q });
      return page(items, total, q.limit, q.offset);
    },
  );

  r.get(
    '/flows/:id/images',
    { schema: { tags: ['flows'], operationId: 'listFlowImages', documentedResponses: pageDoc(imageSchema), summary: "A flow's images (generated and uploaded)", params: flowIdParams, querystring: pageQuery } },
    async (request) => {
      const ctx = projectOf(request);
      const flowId = await flowService.requireFlow(deps.db, ctx, request.params.id);
      const q = request.query;
      const { items, total } = await imageService.listImages(svc, ctx, { flowId, ...q });
      return page(items, total, q.limit, q.offset);
    },
  );

  r.put(
    '/flows/:id/aliases',
    { schema: { tags: ['flows'], operationId: 'setFlowAliases', documentedResponses: okDoc(flowSchema), summary: 'Merge flow aliases', params: flowIdParams, body: setFlowAliasesBody } },
    async (request) => ok(await flowService.setFlowAliases(svc, projectOf(request), request.params.id, request.body.aliases)),
  );

  r.delete(
    '/flows/:id/aliases/:alias',
    { schema: { tags: ['flows'], operationId: 'deleteFlowAlias', documentedResponses: okDoc(flowSchema), summary: 'Remove a flow alias', params: flowAliasParams } },
    async (request) => ok(await flowService.removeFlowAlias(svc, projectOf(request), request.params.id, request.params.alias)),
  );

  r.post(
    '/flows/:id/regenerate',
    { config: WRITE_ROUTE, schema: { tags: ['flows'], operationId: 'regenerateFlow', documentedResponses: queuedDoc(generationSchema), summary: "Regenerate the flow's latest generation", params: flowIdParams, headers: generationHeaders } },
    async (request, reply) => {
      const ctx = projectOf(request);
      const generation = await generationLifecycle.regenerateFlow(svc, ctx, request.params.id);
      return respondQueued(deps, request, reply, ctx, generation);
    },
  );

  r.delete('/flows/:id', { schema: { tags: ['flows'], operationId: 'deleteFlow', documentedResponses: okDoc(deletedSchema), summary: 'Delete a flow (its generations and images remain)', params: flowIdParams } }, async (request) =>
    ok(await flowService.deleteFlow(svc, projectOf(request), request.params.id)),
  );
}
