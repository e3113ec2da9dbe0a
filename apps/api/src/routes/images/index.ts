import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../deps.js';

/** Images, uploads and aliases (SPEC §6). */
export async function imageRoutes(_app: FastifyInstance, _deps: AppDeps): Promise<void> {}
