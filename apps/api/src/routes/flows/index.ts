import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../deps.js';

/** Flows (SPEC §5). */
export async function flowRoutes(_app: FastifyInstance, _deps: AppDeps): Promise<void> {}
