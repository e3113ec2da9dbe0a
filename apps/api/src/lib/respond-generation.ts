import { generationService, type GenerationDto, type ProjectContext } from '@banatie/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.js';
import { ok } from './envelope.js';
import { parsePreferWait } from './prefer-wait.js';
import { waitForGeneration } from './wait-for-generation.js';

/** 202 with Location for a (re)queued generation; honours `Prefer: wait=N` (200 once terminal). */
export async function respondQueued(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: ProjectContext,
  generation: GenerationDto,
): Promise<FastifyReply> {
  reply.header('location', `/api/v1/generations/${generation.id}`);
  const wait = parsePreferWait(request.headers.prefer);
  if (wait === undefined) return reply.code(202).send(ok(generation));
  reply.header('preference-applied', `wait=${wait}`);
  const read = () => generationService.getGeneration({ db: deps.db, publicBaseUrl: deps.config.publicBaseUrl }, ctx, generation.id);
  const final = await waitForGeneration(deps.events, generation.id, wait * 1000, read);
  return reply.code(generationService.isTerminal(final.status) ? 200 : 202).send(ok(final));
}
