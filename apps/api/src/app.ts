import { readFileSync } from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { AppDeps } from './deps.js';
import { authPlugin } from './plugins/auth.js';
import { CDN_CORS_HEADER, registerApiCors, registerApiPreflight } from './plugins/cors.js';
import { registerDocs } from './plugins/docs.js';
import { errorsPlugin, sendError } from './plugins/errors.js';
import { registerMetrics } from './plugins/metrics.js';
import { liveFastPath, serveFirst } from './lib/live-fast-path.js';
import { requestIdOf } from './lib/request-id.js';
import { OpenStreams } from './lib/sse.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { adminRoutes } from './routes/admin/index.js';
import { queueDashboardRoutes } from './routes/admin/queues.js';
import { cdnRoutes } from './routes/cdn/index.js';
import { liveCdnRoutes } from './routes/cdn/live.js';
import { flowRoutes } from './routes/flows/index.js';
import { generationEventRoutes } from './routes/generations/events.js';
import { generationLifecycleRoutes } from './routes/generations/lifecycle.js';
import { projectGenerationEventRoutes } from './routes/generations/project-events.js';
import { imageRoutes } from './routes/images/index.js';
import { liveRoutes } from './routes/live/index.js';
import { generationRoutes } from './routes/generations/index.js';
import { healthRoutes } from './routes/health.js';
import { batchRoutes } from './routes/batches/index.js';
import { modelRoutes } from './routes/models/index.js';
import { projectRoutes } from './routes/project/index.js';
import { usageRoutes } from './routes/usage/index.js';
import { DEFAULT_STUDIO_DIR, studioRoutes } from './routes/studio.js';
import { fastifyTrustProxy } from './lib/trust-proxy.js';

/** The API package's version (src/ and dist/ both sit next to package.json): OpenAPI `info.version`. */
const API_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Builds the HTTP app from ready-made dependencies (server.ts in production, tests directly). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    trustProxy: fastifyTrustProxy(deps.config.trustProxy),
    bodyLimit: 1024 * 1024,
    genReqId: requestIdOf,
    // Bad percent-encoding or an over-long path parameter (e.g. an alias in a CDN URL): the usual envelope, not Fastify's.
    // Public URLs (/cdn/…) answer it like their other errors: request id in the body, never cached (SPEC §11).
    frameworkErrors: (err, request, reply) => {
      const isPublic = request.url.startsWith('/cdn/');
      if (isPublic) reply.header('cache-control', 'no-store');
      return sendError(
        reply.header('x-request-id', request.id),
        request,
        { status: 400, code: 'VALIDATION_ERROR', message: err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'Malformed URL' },
        { withRequestId: isPublic },
      );
    },
  });
  // JSON only: a text/plain body is 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Callback style: an async hook costs a promise per request on every route.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if ((request.method === 'GET' || request.method === 'HEAD') && request.url.startsWith('/cdn/')) reply.header(CDN_CORS_HEADER, '*');
    done();
  });

  registerOpenStreams(app, deps);
  await app.register(errorsPlugin);
  await app.register(rateLimitPlugin, deps);
  await app.register(authPlugin, deps);
  await registerDocs(app, deps.config.publicBaseUrl, API_VERSION);
  const recordRequest = await registerMetrics(app, deps);
  await app.register(healthRoutes, deps);
  await app.register(cdnRoutes, deps);
  await app.register(liveCdnRoutes, deps);
  await app.register(studioRoutes, { dir: deps.studioDir ?? DEFAULT_STUDIO_DIR, publicBaseUrl: deps.config.publicBaseUrl });

  registerApiPreflight(app, deps.config.corsOrigins);
  await app.register(
    async (v1) => {
      registerApiCors(v1, deps.config.corsOrigins);
      v1.addHook('onRequest', (request) => app.requireProjectKey(request));
      app.rateLimits.applyTo(v1);
      await v1.register(generationRoutes, deps);
      await v1.register(generationEventRoutes, deps);
      await v1.register(projectGenerationEventRoutes, deps);
      await v1.register(generationLifecycleRoutes, deps);
      await v1.register(imageRoutes, deps);
      await v1.register(flowRoutes, deps);
      await v1.register(liveRoutes, deps);
      await v1.register(projectRoutes, deps);
      await v1.register(usageRoutes, deps);
      await v1.register(modelRoutes, deps);
      await v1.register(batchRoutes, deps);
    },
    { prefix: '/api/v1' },
  );
  await app.register(adminRoutes, { ...deps, prefix: '/api/admin' } as AppDeps & { prefix: string });
  await queueDashboardRoutes(app, deps);
  serveFirst(app.server, liveFastPath(deps.live, recordRequest));
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The event streams this app serves (SPEC §4, §11). */
    openStreams: OpenStreams;
  }
}

/** One registry of event streams per app: ended with their key, and all of them before the server closes. */
function registerOpenStreams(app: FastifyInstance, deps: AppDeps): void {
  const streams = new OpenStreams({
    heartbeatMs: deps.config.sse.heartbeatMs,
    maxPerKey: deps.config.sse.maxPerKey,
    slots: deps.streamSlots,
    onError: (err, what) => deps.logger.warn({ err }, what),
  });
  app.decorate('openStreams', streams);
  const unwatch = deps.watchKeyRevocations?.((keyId) => streams.endKey(keyId));
  // Open streams would otherwise hold the close (and a SIGTERM'd process) until their clients leave.
  app.addHook('preClose', (done) => {
    unwatch?.();
    streams.endAll();
    done();
  });
}
