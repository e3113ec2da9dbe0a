import { AppError } from '@banatie/core';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { okDoc } from '../lib/openapi-docs.js';

const withTimeout = (p: Promise<unknown>, ms: number): Promise<unknown> =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);

export async function healthRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const health = { tags: ['health'], security: [] };
  app.get('/health', { schema: { ...health, operationId: 'getHealth', summary: 'The process is up', documentedResponses: okDoc(z.object({ status: z.literal('ok') })) } }, async () => ({ success: true, data: { status: 'ok' } }));

  app.get(
    '/ready',
    {
      schema: {
        ...health,
        operationId: 'getReadiness',
        summary: 'PostgreSQL, Redis and storage answer (503 naming what does not)',
        documentedResponses: okDoc(z.record(z.string(), z.enum(['ok', 'down']))),
      },
    }, async () => {
    const checks: Record<string, () => Promise<unknown>> = {
      postgres: () => sql`select 1`.execute(deps.db),
      redis: () => deps.redis.ping(),
      storage: () => deps.storage.ping(),
    };
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          return [name, 'ok'] as const;
        } catch {
          return [name, 'down'] as const;
        }
      }),
    );
    const down = results.filter(([, s]) => s === 'down').map(([n]) => n);
    // The body names what failed twice: in the message for people, in `details` ({ postgres: 'ok', redis: 'down', … }) for probes and scripts.
    if (down.length) throw new AppError('unavailable', 'SERVICE_UNAVAILABLE', `Not ready: ${down.join(', ')} unavailable`, { details: Object.fromEntries(results), retryAfterSeconds: 5 });
    return { success: true, data: Object.fromEntries(results) };
  });
}
