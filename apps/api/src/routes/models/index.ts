import { modelSchema } from '@banatie/contracts';
import { listModels, modelPricing, priceTable } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppDeps } from '../../deps.js';
import { ok } from '../../lib/envelope.js';
import { okDoc } from '../../lib/openapi-docs.js';

export async function modelRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const settings = { allowed: deps.config.gemini.imageModels, defaultModel: deps.config.gemini.imageModel };
  const prices = priceTable(deps.config.pricing);
  r.get('/models', { schema: { tags: ['models'], operationId: 'listModels', documentedResponses: okDoc(z.array(modelSchema)), summary: 'The allowed image models and what each supports (SPEC §13)' } }, async () =>
    ok(listModels(settings, (model) => modelPricing(prices, model))),
  );
}
