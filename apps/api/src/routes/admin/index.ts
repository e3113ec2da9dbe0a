import { adminUsageQuery, apiKeySchema, createKeyBody, createdKeySchema, deletedSchema, idParams, listKeysQuery, projectLimitsBody, projectLimitsUsageSchema, projectSlugParams, usageReportSchema } from '@banatie/contracts';
import { apiKeyService, limitsService, usageService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok } from '../../lib/envelope.js';
import { okDoc } from '../../lib/openapi-docs.js';
import { z } from 'zod';

/** Admin API: master key only (a project key gets 401 here, like any other key problem). */
export async function adminRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.addHook('onRequest', (request) => app.requireMasterKey(request));
  // Keyed like /api/v1 (SPEC §11): every admin request is charged to the master key's read bucket.
  app.rateLimits.applyTo(app);

  r.post('/keys', { schema: { tags: ['admin'], operationId: 'createKey', documentedResponses: okDoc(createdKeySchema, 201), summary: 'Create a project key', body: createKeyBody } }, async (request, reply) => {
    const created = await apiKeyService.createProjectKey(deps, request.body);
    return reply.code(201).send(ok(created));
  });

  r.get(
    '/keys',
    { schema: { tags: ['admin'], operationId: 'listKeys', documentedResponses: okDoc(z.array(apiKeySchema)), summary: "List a project's keys", querystring: listKeysQuery } },
    async (request) => ok(await apiKeyService.listProjectKeys(deps.db, request.query.orgSlug, request.query.projectSlug)),
  );

  r.get(
    '/usage',
    {
      schema: {
        tags: ['admin'],
        operationId: 'getAdminUsage',
        documentedResponses: okDoc(usageReportSchema),
        summary: 'Usage across projects (default groupBy=project, this UTC month)',
        querystring: adminUsageQuery,
      },
    },
    async (request) => ok(await usageService.usageReport(deps, null, request.query)),
  );

  r.get(
    '/projects/:orgSlug/:projectSlug/limits',
    { schema: { tags: ['admin'], operationId: 'getProjectLimits', documentedResponses: okDoc(projectLimitsUsageSchema), summary: "A project's limits and their current usage", params: projectSlugParams } },
    async (request) => ok(await limitsService.getLimits(deps, request.params.orgSlug, request.params.projectSlug)),
  );

  r.put(
    '/projects/:orgSlug/:projectSlug/limits',
    {
      schema: {
        tags: ['admin'],
        operationId: 'updateProjectLimits',
        documentedResponses: okDoc(projectLimitsUsageSchema),
        summary: 'Set limits: generationsPerDay, monthlyCostUsd, maxConcurrency (null = unlimited; left out = unchanged)',
        params: projectSlugParams,
        body: projectLimitsBody,
      },
    },
    async (request) => ok(await limitsService.setLimits(deps, request.params.orgSlug, request.params.projectSlug, request.body)),
  );

  r.delete(
    '/keys/:id',
    { schema: { tags: ['admin'], operationId: 'revokeKey', documentedResponses: okDoc(deletedSchema), summary: 'Revoke a key', params: idParams } },
    async (request) => {
      await apiKeyService.revokeKey(deps, request.params.id);
      return ok({ id: request.params.id });
    },
  );
}
