import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../deps.js';

/** Live URL seed endpoint, signing and scopes API (SPEC §7). */
export async function liveRoutes(_app: FastifyInstance, _deps: AppDeps): Promise<void> {}
