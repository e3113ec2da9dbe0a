import { UnauthorizedError } from '@banatie/core';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../../deps.js';
import { appErrorEnvelope, sendError } from '../../plugins/errors.js';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';
const BASIC_CHALLENGE = 'Basic realm="banatie admin"';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * bull-board for the generation and webhook queues at /admin/queues, master key
 * only: as X-API-Key, or as the Basic auth password so a browser can open it.
 */
export async function queueDashboardRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(deps.queue), new BullMQAdapter(deps.webhookQueue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Banatie queues' } },
  });

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      try {
        await app.requireMasterKeyOrBasicAuth(request);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
        return challenge(reply, request, err);
      }
      // Browsers replay Basic credentials on any request to this origin: refuse
      // state-changing calls (retry, clean, empty…) started by another site.
      const site = request.headers['sec-fetch-site'];
      if (!SAFE_METHODS.has(request.method) && (site === 'cross-site' || site === 'same-site')) {
        return sendError(reply, request, { status: 403, code: 'FORBIDDEN', message: 'Cross-site requests to the queue dashboard are refused' });
      }
      return undefined;
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
  });
}

/** The usual 401 body, plus the Basic challenge that makes a browser ask for the key. */
function challenge(reply: FastifyReply, request: FastifyRequest, err: UnauthorizedError): FastifyReply {
  return sendError(reply.header('www-authenticate', BASIC_CHALLENGE), request, appErrorEnvelope(err));
}
