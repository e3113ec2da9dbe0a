import { UnauthorizedError, apiKeyService, assertKeyRole, type AuthContext, type KeyRole, type ProjectContext } from '@banatie/core';
import { apiKeyRepository } from '@banatie/db';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AppDeps } from '../deps.js';
import type { StreamOwner } from '../lib/sse.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** The key role a /api/v1 route needs (SPEC §16); absent: any project key. */
    requiredRole?: KeyRole;
  }
}

/** Route option of the /api/v1 routes only admin keys may use. */
export const ADMIN_ONLY = { requiredRole: 'admin' } as const satisfies { requiredRole: KeyRole };

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

  const authenticate = async (request: FastifyRequest, type: AuthContext['type'], opts: { basic?: boolean } = {}) => {
    app.rateLimits.refuseThrottledClient(request);
    const auth = await apiKeyService.authenticateKey(deps, presentedKey(request, opts.basic ?? false));
    if (!auth || auth.type !== type) {
      await app.rateLimits.countAuthFailure(request);
      throw new UnauthorizedError();
    }
    request.auth = auth;
    touch(auth.keyId);
  };

  app.decorate('requireProjectKey', async (request: FastifyRequest) => {
    await authenticate(request, 'project');
    // Decided with the key, before the body is read: a standard key learns nothing about an admin route's input.
    const required = request.routeOptions.config?.requiredRole;
    if (required) assertKeyRole(request.auth!.role, required);
  });
  app.decorate('requireMasterKey', (request: FastifyRequest) => authenticate(request, 'master'));
  app.decorate('requireMasterKeyOrBasicAuth', (request: FastifyRequest) => authenticate(request, 'master', { basic: true }));
});

/**
 * The key a request presents: `X-API-Key`, else, where a browser must be able to
 * log in (it cannot add a header to a navigation), the password of HTTP Basic auth.
 */
function presentedKey(request: FastifyRequest, basic: boolean): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string') return header;
  if (!basic) return undefined;
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(request.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** A project key, with the role the route's `config.requiredRole` asks for (403 otherwise). */
    requireProjectKey(request: FastifyRequest): Promise<void>;
    requireMasterKey(request: FastifyRequest): Promise<void>;
    /** Master key as X-API-Key or as the HTTP Basic password (any user name): pages a browser opens. */
    requireMasterKeyOrBasicAuth(request: FastifyRequest): Promise<void>;
  }
}

/** The role of the key of a request that passed requireProjectKey. */
export function keyRoleOf(request: FastifyRequest): KeyRole {
  if (!request.auth) throw new UnauthorizedError();
  return request.auth.role;
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

/**
 * The owner of an event stream opened by a project-key request: its key, asked
 * again (through the key cache) at each heartbeat, so a revoked or expired key's
 * stream ends even when the revocation broadcast was missed.
 */
export function streamOwnerOf(request: FastifyRequest, deps: Pick<AppDeps, 'db' | 'clock' | 'keyCache'>): StreamOwner {
  const { keyId } = projectOf(request);
  const rawKey = presentedKey(request, false);
  return {
    keyId,
    stillAuthorized: async () => (await apiKeyService.authenticateKey(deps, rawKey))?.keyId === keyId,
  };
}
