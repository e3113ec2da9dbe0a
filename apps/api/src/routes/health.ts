import { ServiceUnavailableError, StorageCheckError } from '@banatie/core';
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
    const failures: Record<string, unknown> = {};
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          return [name, 'ok'] as const;
        } catch (err) {
          // Storage says what is wrong (bucket, endpoint, the server's error code); never a credential.
          if (err instanceof StorageCheckError) failures[name] = err.report;
          return [name, 'down'] as const;
        }
      }),
    );
    const down = results.filter(([, s]) => s === 'down').map(([n]) => n);
    // The body names what failed twice: in the message for people, in `details` ({ postgres: 'ok', redis: 'down', … }) for probes and scripts;
    // a storage failure's details are its report (bucket, endpoint, the server's error code).
    if (down.length) throw new ServiceUnavailableError(notReadyMessage(down, failures), 5, { ...Object.fromEntries(results), ...failures });
    return { success: true, data: Object.fromEntries(results) };
  });
}

function notReadyMessage(down: string[], failures: Record<string, unknown>): string {
  const parts = down.map((name) => {
    const report = failures[name] as { endpoint: string; bucket?: string; code: string } | undefined;
    if (!report) return `${name} unavailable`;
    return `${name} unavailable (${report.bucket ? `bucket ${report.bucket} at ` : ''}${report.endpoint}: ${report.code})`;
  });
  return `Not ready: ${parts.join(', ')}`;
}
