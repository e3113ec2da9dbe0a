import { createMetricsRegistry, queueMetrics, startMetricsServer, type MetricsServer } from '@banatie/metrics';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { AppDeps } from '../deps.js';
import type { RecordRequest } from '../lib/live-fast-path.js';

/**
 * Prometheus metrics of an API process: process defaults, request counts and
 * latencies per route, and the queues' depth read from BullMQ at scrape time.
 * Returns the request recorder, for requests answered before Fastify (live HITs).
 */
export async function registerMetrics(app: FastifyInstance, deps: Pick<AppDeps, 'queue' | 'webhookQueue' | 'logger' | 'config' | 'cdn'>): Promise<RecordRequest> {
  const registry = createMetricsRegistry();
  const requests = new Counter({
    name: 'banatie_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'banatie_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  cdnMetrics(registry, deps.cdn);
  queueMetrics(registry, [deps.queue, deps.webhookQueue], {
    onError: (err) => deps.logger.warn({ err: err.message }, 'queue metrics unavailable for this scrape'),
  });
  const record: RecordRequest = (method, route, status, seconds) => {
    requests.inc({ method, route, status: String(status) });
    duration.observe({ method, route }, seconds);
  };
  app.addHook('onResponse', (request, reply, done) => {
    record(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  const { metricsPort, host } = deps.config;
  if (metricsPort === undefined) {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  } else {
    // A listener of its own, never the public port (SPEC §11); a port that cannot be bound stops the start.
    let server: MetricsServer | undefined;
    app.addHook('onReady', async () => {
      server = await startMetricsServer(registry, { host, port: metricsPort });
    });
    app.addHook('onClose', async () => server?.close());
  }
  return record;
}

/** CDN renditions of this process, read at scrape time (SPEC §11: the render gate and single flight). */
function cdnMetrics(registry: ReturnType<typeof createMetricsRegistry>, cdn: AppDeps['cdn']): void {
  new Counter({
    name: 'banatie_cdn_variant_renders_total',
    help: 'CDN variants rendered by this process (identical concurrent misses across instances render once)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cdn.rendersStarted);
    },
  });
  new Gauge({
    name: 'banatie_cdn_renders',
    help: 'CDN variant renders in this process now, running or queued behind CDN_RENDER_CONCURRENCY',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const { running, queued } = cdn.renderStats;
      this.set({ state: 'running' }, running);
      this.set({ state: 'queued' }, queued);
    },
  });
}
