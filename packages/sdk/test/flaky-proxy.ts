import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What the proxy does with one request:
 * - `503`: answers 503 with `Retry-After: 1` without forwarding;
 * - `drop-before`: closes the connection without forwarding;
 * - `drop-after`: forwards, waits for the API's answer, then closes the connection (the work is done, the client never hears of it);
 * - `pass`: forwards.
 */
export type Fault = '503' | 'drop-before' | 'drop-after' | 'pass';

export interface FlakyProxy {
  url: string;
  /** Requests seen, as `METHOD path` (with the time each arrived). */
  seen: Array<{ line: string; at: number; idempotencyKey: string | undefined }>;
  /** Faults for the next requests matching `match`, in order; then `pass`. */
  plan(match: (method: string, path: string) => boolean, faults: Fault[]): void;
  close(): Promise<void>;
}

/** An HTTP proxy in front of the real API that fails requests as planned. */
export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const upstream = new URL(target);
  const plans: Array<{ match: (method: string, path: string) => boolean; faults: Fault[] }> = [];
  const seen: FlakyProxy['seen'] = [];
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse, after: (status: number, headers: IncomingMessage['headers'], body: Buffer) => void) => {
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => after(answer.statusCode ?? 502, answer.headers, Buffer.concat(chunks)));
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    seen.push({ line: `${method} ${path}`, at: Date.now(), idempotencyKey: req.headers['idempotency-key'] as string | undefined });
    const plan = plans.find((p) => p.faults.length > 0 && p.match(method, path));
    const fault = plan?.faults.shift() ?? 'pass';
    if (fault === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ success: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'Service unavailable' } }));
      return;
    }
    if (fault === 'drop-before') {
      req.socket.destroy();
      return;
    }
    forward(req, res, (status, headers, body) => {
      if (fault === 'drop-after') {
        req.socket.destroy();
        return;
      }
      res.writeHead(status, headers);
      res.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    plan: (match, faults) => plans.push({ match, faults: [...faults] }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A server that accepts requests and never answers them. */
export async function startHangingServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer(() => {
    count++;
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
