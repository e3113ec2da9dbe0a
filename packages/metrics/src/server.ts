import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** What `GET /health` reports: 200 while `ok`, else 503; `detail` goes into the JSON body. */
export interface HealthReport {
  ok: boolean;
  detail?: Record<string, unknown>;
}

/** What `GET /queue-depth` reports (KEDA's metrics-api scaler reads it): jobs waiting for a worker, and running. */
export interface QueueDepth {
  backlog: number;
  running: number;
}

/**
 * A listener serving `GET /metrics` from `registry` and, when given, `GET /health`
 * (a liveness probe: it answers only while the event loop turns) and
 * `GET /queue-depth` (JSON, for autoscalers), for processes without an HTTP API
 * of their own (workers). Rejects if the port cannot be bound.
 */
export async function startMetricsServer(
  registry: Registry,
  opts: { host: string; port: number; health?: () => HealthReport; queueDepth?: () => Promise<QueueDepth> },
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const readMethod = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/queue-depth' && opts.queueDepth && readMethod) {
      opts.queueDepth().then(
        (depth) => res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : JSON.stringify(depth)),
        (err: Error) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`queue depth unavailable: ${err.message}\n`),
      );
      return;
    }
    if (path === '/health' && opts.health && readMethod) {
      const report = opts.health();
      const body = JSON.stringify({ status: report.ok ? 'ok' : 'down', ...report.detail });
      res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path !== '/metrics' || !readMethod) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`Not found: this listener serves GET /metrics${opts.health ? ', GET /health' : ''}${opts.queueDepth ? ', GET /queue-depth' : ''}\n`);
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
