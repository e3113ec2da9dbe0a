import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../deps.js';

/** Generation status stream (SSE) and webhook attempts (SPEC §4, §8). */
export async function generationEventRoutes(_app: FastifyInstance, _deps: AppDeps): Promise<void> {}
