import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface WebhookResponse {
  status: number;
  headers?: Record<string, string>;
  /** Answer only once this settles (the request is recorded, and waiters woken, at once). */
  after?: Promise<unknown>;
}

export interface WebhookReceiver {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedWebhook[];
  /** Answers for the next requests, in order; afterwards `fallback` (default 200). */
  script(...responses: WebhookResponse[]): void;
  setFallback(response: WebhookResponse): void;
  /** Resolves once at least `count` requests arrived (matching `path` when given). */
  waitFor(count: number, path?: string): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** A local HTTP receiver for webhook tests: records every request and answers as scripted. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const scripted: WebhookResponse[] = [];
  let fallback: WebhookResponse = { status: 200 };
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const r = scripted.shift() ?? fallback;
      const answer = () => void res.writeHead(r.status, r.headers).end();
      if (r.after) void r.after.then(answer, answer);
      else answer();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const matching = (path?: string) => (path ? received.filter((r) => r.path === path) : received);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    script: (...responses) => void scripted.push(...responses),
    setFallback: (response) => void (fallback = response),
    waitFor: async (count, path) => {
      while (matching(path).length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      return matching(path);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
