import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../deps.js';

/** Public live URLs (SPEC §7). */
export async function liveCdnRoutes(_app: FastifyInstance, _deps: AppDeps): Promise<void> {}
