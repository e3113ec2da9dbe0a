import type { Redis } from 'ioredis';
import { publishGenerationEvent } from './generation-events.js';

export interface GenerationStatusChange {
  id: string;
  project_id: string;
  status: string;
}

export type GenerationNotifier = (row: GenerationStatusChange) => Promise<void>;

/**
 * What happens after every committed status change, in the API (cancel) and the
 * worker alike: publish on the generation's Redis channel (Prefer: wait, SSE).
 */
export function createGenerationNotifier(opts: { redis: Redis; prefix: string }): GenerationNotifier {
  return async (row) => {
    await publishGenerationEvent(opts.redis, opts.prefix, { generationId: row.id, status: row.status });
  };
}
