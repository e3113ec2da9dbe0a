import { AuthThrottledError, RateLimitError, type Clock } from '@banatie/core';
import { createRequestLimits, type ChargeResult, type RateBucket, type RequestLimits } from '@banatie/queue';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AppDeps } from '../deps.js';
import { clientSubnet } from '../lib/client-subnet.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A route that creates work or costs money (SPEC §17): charged to the key's
     * write bucket. `cost(body)` reads the parsed, not yet validated body
     * (a batch counts its items); 0 charges the request as a read.
     */
    rateLimit?: { bucket: 'write'; cost?: (body: unknown) => number };
  }
  interface FastifyInstance {
    rateLimits: RateLimitGate;
  }
}

/** Route option of the routes that create work at cost 1. */
export const WRITE_ROUTE = { rateLimit: { bucket: 'write' } } as const;

export interface RateLimitGate {
  /** Before a key is looked at: refuses a client this process already knows to be throttled. */
  refuseThrottledClient(request: FastifyRequest): void;
  /** After a failed authentication: counts it, and refuses the request if the client is now throttled. */
  countAuthFailure(request: FastifyRequest): Promise<void>;
  /** Takes `cost` from the authenticated key's bucket; sets the X-RateLimit-* headers; throws when refused. */
  charge(request: FastifyRequest, reply: FastifyReply, bucket: RateBucket, cost: number): Promise<void>;
  /** Charges every request of the scope: fixed costs before the body is read, body-dependent ones after parsing. */
  applyTo(scope: FastifyInstance): void;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const MAX_REMEMBERED_CLIENTS = 10_000;

/** Per-key buckets (SPEC §17) and the failed-authentication throttle per client (§11), shared through Redis. */
export const rateLimitPlugin = fp(async (app: FastifyInstance, deps: AppDeps) => {
  const { rateLimits } = deps.config;
  const limits = createRequestLimits(deps.redis, deps.config.queuePrefix, {
    buckets: { write: { limit: rateLimits.writePerHour, windowMs: HOUR_MS }, read: { limit: rateLimits.readPerMinute, windowMs: MINUTE_MS } },
    authFailuresPerMinute: rateLimits.authFailuresPerIpPerMinute,
  });
  app.decorate('rateLimits', createGate(limits, deps.clock));
});

function createGate(limits: RequestLimits, clock: Clock): RateLimitGate {
  const throttled = new ThrottledClients(clock);
  const throttleOff = limits.options.authFailuresPerMinute === 0;
  const bucketsOff = limits.options.buckets.write.limit === 0 && limits.options.buckets.read.limit === 0;

  const charge: RateLimitGate['charge'] = async (request, reply, bucket, cost) => {
    if (throttleOff && bucketsOff) return;
    const client = clientSubnet(request.ip);
    const result = await limits.charge({ client, keyId: request.auth!.keyId, bucket, cost });
    if (result.outcome === 'client_throttled') {
      throttled.remember(client, result.resetMs);
      throw new AuthThrottledError(seconds(result.resetMs));
    }
    if (result.outcome === 'unlimited') return;
    setHeaders(reply, result);
    if (result.outcome === 'over_limit') throw new RateLimitError(seconds(result.resetMs), { bucket });
  };

  return {
    refuseThrottledClient: (request) => {
      if (throttleOff) return;
      const resetMs = throttled.resetMsOf(clientSubnet(request.ip));
      if (resetMs > 0) throw new AuthThrottledError(seconds(resetMs));
    },
    countAuthFailure: async (request) => {
      if (throttleOff) return;
      const client = clientSubnet(request.ip);
      const result = await limits.recordAuthFailure(client).catch((err: Error) => {
        // Uncounted rather than a 503: the request is refused as unauthenticated either way.
        request.log.warn({ err: err.message }, 'failed authentication not counted');
        return null;
      });
      if (!result?.throttled) return;
      throttled.remember(client, result.resetMs);
      throw new AuthThrottledError(seconds(result.resetMs));
    },
    charge,
    applyTo: (scope) => {
      scope.addHook('preParsing', async (request, reply) => {
        const rule = request.routeOptions.config?.rateLimit;
        if (rule?.cost) return;
        await charge(request, reply, rule ? 'write' : 'read', 1);
      });
      scope.addHook('preValidation', async (request, reply) => {
        const cost = request.routeOptions.config?.rateLimit?.cost?.(request.body);
        if (cost === undefined) return;
        await charge(request, reply, cost > 0 ? 'write' : 'read', Math.max(cost, 1));
      });
    },
  };
}

function setHeaders(reply: FastifyReply, state: Extract<ChargeResult, { limit: number }>): void {
  reply
    .header('x-ratelimit-limit', String(state.limit))
    .header('x-ratelimit-remaining', String(state.remaining))
    .header('x-ratelimit-reset', String(seconds(state.resetMs)))
    .header('x-ratelimit-bucket', state.bucket);
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Clients this process has seen throttled, until their minute ends: their
 * requests are refused before any key lookup. Bounded; other instances learn
 * of a throttle from Redis on the client's next authenticated request.
 */
class ThrottledClients {
  private readonly until = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  remember(client: string, resetMs: number): void {
    const now = this.clock.now().getTime();
    if (this.until.size >= MAX_REMEMBERED_CLIENTS) this.dropExpired(now);
    if (this.until.size >= MAX_REMEMBERED_CLIENTS) this.until.delete(this.until.keys().next().value!);
    this.until.set(client, now + resetMs);
  }

  resetMsOf(client: string): number {
    const until = this.until.get(client);
    if (until === undefined) return 0;
    const left = until - this.clock.now().getTime();
    if (left <= 0) this.until.delete(client);
    return Math.max(left, 0);
  }

  private dropExpired(now: number): void {
    for (const [client, until] of this.until) if (until <= now) this.until.delete(client);
  }
}
