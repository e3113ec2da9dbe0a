import { UnauthorizedError, apiKeyService, type AuthContext, type ProjectContext } from '@banatie/core';
import { apiKeyRepository } from '@banatie/db';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AppDeps } from '../deps.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
}

const TOUCH_INTERVAL_MS = 60_000;

/** Decorates requests with `auth` and offers the two guards used by route groups. */
export const authPlugin = fp(async (app: FastifyInstance, deps: AppDeps) => {
  app.decorateRequest('auth', null);
  const lastTouched = new Map<string, number>();

  const touch = (keyId: string) => {
    const now = deps.clock.now();
    if ((lastTouched.get(keyId) ?? 0) > now.getTime() - TOUCH_INTERVAL_MS) return;
    lastTouched.set(keyId, now.getTime());
    apiKeyRepository.touchApiKey(deps.db, keyId, now).catch((err) => app.log.warn({ err }, 'last_used_at update failed'));
  };

  const authenticate = async (request: FastifyRequest, type: AuthContext['type']) => {
    const header = request.headers['x-api-key'];
    const auth = await apiKeyService.authenticateKey(deps, typeof header === 'string' ? header : undefined);
    if (!auth || auth.type !== type) throw new UnauthorizedError();
    request.auth = auth;
    touch(auth.keyId);
  };

  app.decorate('requireProjectKey', (request: FastifyRequest) => authenticate(request, 'project'));
  app.decorate('requireMasterKey', (request: FastifyRequest) => authenticate(request, 'master'));
});

declare module 'fastify' {
  interface FastifyInstance {
    requireProjectKey(request: FastifyRequest): Promise<void>;
    requireMasterKey(request: FastifyRequest): Promise<void>;
  }
}

/** The tenant of a request that passed requireProjectKey. */
export function projectOf(request: FastifyRequest): ProjectContext {
  const a = request.auth;
  if (!a || a.type !== 'project' || !a.projectId) throw new UnauthorizedError();
  return {
    keyId: a.keyId,
    projectId: a.projectId,
    organizationId: a.organizationId!,
    orgSlug: a.orgSlug!,
    projectSlug: a.projectSlug!,
  };
}
