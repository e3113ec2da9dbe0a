import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Response headers a browser app may read: request ids, retry hints, rate limits, idempotent replays. */
const EXPOSED_HEADERS = [
  'x-request-id',
  'retry-after',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'idempotent-replayed',
  'preference-applied',
  'location',
  'etag',
].join(', ');
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const DEFAULT_ALLOWED_HEADERS = 'x-api-key, content-type, idempotency-key, prefer, cancel-after, accept, last-event-id';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

type Origins = '*' | readonly string[];

/** The `Access-Control-Allow-Origin` value for a request's Origin, or undefined when it is not allowed. */
function allowedOrigin(origins: Origins, origin: string | undefined): string | undefined {
  if (!origin) return undefined;
  if (origins === '*') return '*';
  return origins.includes(origin) ? origin : undefined;
}

/**
 * CORS for `/api/v1` (SPEC §15): the configured origins may call the API from a
 * browser. Keys travel in `X-API-Key`, never in cookies, so no credentials mode.
 * Registered only when CORS_ORIGINS is set: no cost otherwise.
 */
export function registerApiCors(v1: FastifyInstance, origins: Origins): void {
  if (!corsEnabled(origins)) return;
  const varyOnOrigin = origins !== '*';
  // Before the key check and rate limit, so a browser can read their 401/429 too.
  v1.addHook('onRequest', (request, reply, done) => {
    const allow = allowedOrigin(origins, request.headers.origin);
    if (varyOnOrigin) reply.header('vary', 'Origin');
    if (allow) reply.header('access-control-allow-origin', allow).header('access-control-expose-headers', EXPOSED_HEADERS);
    done();
  });
}

const corsEnabled = (origins: Origins) => origins === '*' || origins.length > 0;

/** Preflights carry no key: answered at the root, outside the authenticated scope. */
export function registerApiPreflight(app: FastifyInstance, origins: Origins): void {
  if (!corsEnabled(origins)) return;
  const varyOnOrigin = origins !== '*';
  app.options('/api/v1/*', { schema: { hide: true } }, (request: FastifyRequest, reply: FastifyReply) => {
    const allow = allowedOrigin(origins, request.headers.origin);
    if (varyOnOrigin) reply.header('vary', 'Origin');
    if (allow) {
      const requested = request.headers['access-control-request-headers'];
      reply.headers({
        'access-control-allow-origin': allow,
        'access-control-allow-methods': ALLOWED_METHODS,
        'access-control-allow-headers': typeof requested === 'string' && requested ? requested : DEFAULT_ALLOWED_HEADERS,
        'access-control-max-age': PREFLIGHT_MAX_AGE_SECONDS,
      });
    }
    return reply.code(204).send();
  });
}

/** `/cdn/*` images are public: any page may fetch them (GET/HEAD), whatever CORS_ORIGINS says. */
export const CDN_CORS_HEADER = 'access-control-allow-origin';
