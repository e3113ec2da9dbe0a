import { generationIdParams, pageQuery } from '@banatie/contracts';
import { cancelGeneration, generationService, isTerminal, webhookService, type GenerationDto } from '@banatie/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok, page } from '../../lib/envelope.js';
import { serviceDeps } from '../../lib/service-deps.js';
import { projectOf } from '../../plugins/auth.js';

export const HEARTBEAT_MS = 15_000;

/** Generation status stream (SSE), cancel, and webhook attempts (SPEC §4, §8). */
export async function generationEventRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = serviceDeps(deps);

  r.post(
    '/generations/:id/cancel',
    { schema: { tags: ['generations'], summary: 'Cancel a pending or processing generation', params: generationIdParams } },
    async (request) => ok(await cancelGeneration(svc, projectOf(request), request.params.id)),
  );

  r.get(
    '/generations/:id/webhooks',
    { schema: { tags: ['generations'], summary: 'Webhook delivery attempts of a generation', params: generationIdParams, querystring: pageQuery } },
    async (request) => {
      const q = request.query;
      const { items, total } = await webhookService.listWebhookAttempts(deps, projectOf(request), request.params.id, q);
      return page(items, total, q.limit, q.offset);
    },
  );

  r.get(
    '/generations/:id/events',
    { schema: { tags: ['generations'], summary: 'Server-Sent Events: the current status, then each change until a terminal one', params: generationIdParams } },
    async (request, reply) => {
      const ctx = projectOf(request);
      const read = () => generationService.getGeneration(svc, ctx, request.params.id);
      let wake: () => void = () => undefined;
      let changed = false;
      // Subscribe before the first read so no change slips between the two (503 if Redis is down).
      const unsubscribe = await deps.events.subscribe(request.params.id, () => {
        changed = true;
        wake();
      });
      let current: GenerationDto;
      try {
        current = await read();
      } catch (err) {
        await unsubscribe();
        throw err;
      }
      const stream = openEventStream(reply);
      try {
        stream.send(current);
        while (!isTerminal(current.status) && !stream.closed()) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (changed) resolve();
            stream.onClose(resolve);
            setTimeout(resolve, HEARTBEAT_MS).unref();
          });
          if (stream.closed()) break;
          // On a heartbeat the row is read too: an event published while Redis was away is not lost.
          const quiet = !changed;
          changed = false;
          const next = await read();
          if (next.status !== current.status) stream.send(next);
          else if (quiet) stream.heartbeat();
          current = next;
        }
      } catch (err) {
        request.log.warn({ err }, 'event stream ended by an error');
      } finally {
        await unsubscribe();
        stream.end();
      }
    },
  );
}

/** Takes the response over from Fastify and writes `text/event-stream`. */
export function openEventStream(reply: FastifyReply) {
  reply.hijack();
  const res = reply.raw;
  let closed = false;
  const closeListeners: Array<() => void> = [];
  res.on('close', () => {
    closed = true;
    for (const l of closeListeners.splice(0)) l();
  });
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let seq = 0;
  return {
    send: (g: GenerationDto) => {
      if (!closed) res.write(`id: ${++seq}\nevent: status\ndata: ${JSON.stringify(g)}\n\n`);
    },
    heartbeat: () => {
      if (!closed) res.write(': keep-alive\n\n');
    },
    onClose: (l: () => void) => (closed ? l() : closeListeners.push(l)),
    closed: () => closed,
    end: () => {
      if (!closed) res.end();
    },
  };
}
