import rateLimit from '@fastify/rate-limit';
import { RateLimitError } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';

/**
 * Per API key, shared by all API instances through Redis. Registered inside the
 * authenticated scopes (after the onRequest auth hook) so it keys on the key, not the IP.
 */
export async function registerKeyRateLimit(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const max = deps.config.rateLimitPerHour;
  if (max === 0) return;
  await app.register(rateLimit, {
    global: true,
    hook: 'preParsing',
    max,
    timeWindow: 3_600_000,
    redis: deps.redis,
    nameSpace: `${deps.config.queuePrefix}:ratelimit:`,
    skipOnError: false,
    keyGenerator: (request) => request.auth?.keyId ?? request.ip,
    errorResponseBuilder: (_request, context) => new RateLimitError(Math.max(1, Math.ceil(context.ttl / 1000))),
  });
}
