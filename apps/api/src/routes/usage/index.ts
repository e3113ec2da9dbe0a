import { usageQuery, usageReportSchema } from '@banatie/contracts';
import { usageService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok } from '../../lib/envelope.js';
import { okDoc } from '../../lib/openapi-docs.js';
import { projectOf } from '../../plugins/auth.js';

/** GET /api/v1/usage (SPEC §12): the key's project. */
export async function usageRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/usage',
    {
      schema: {
        tags: ['usage'],
        operationId: 'getUsage',
        documentedResponses: okDoc(usageReportSchema),
        summary: 'Generations, provider calls, tokens and cost between from and to (default: this UTC month), grouped by day, model or source',
        querystring: usageQuery,
      },
    },
    async (request) => ok(await usageService.usageReport(deps, projectOf(request).projectId, request.query)),
  );
}
