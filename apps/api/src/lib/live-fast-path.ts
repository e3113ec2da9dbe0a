import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { LiveService } from '@banatie/core';
import { parse as parseQuery } from 'fast-querystring';
import { quickLivePublicParams, quickLivePublicQuery } from '../routes/cdn/live-quick-checks.js';
import { liveImageHead } from './live-reply.js';
import { requestIdOf } from './request-id.js';

export const LIVE_ROUTE = '/cdn/:org/:project/live/:scope';
const LIVE_PATH = /^\/cdn\/([^/]+)\/([^/]+)\/live\/([^/]+)$/;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
export type RecordRequest = (method: string, route: string, status: number, seconds: number) => void;

/**
 * Live HITs whose entry and bytes are in memory, answered before Fastify builds a
 * request: the most frequent public request costs what sending the bytes costs.
 * Anything else (MISS, HEAD, a parameter the quick checks do not accept, a
 * malformed URL) goes on to Fastify and its route, which answer exactly as before.
 */
export function liveFastPath(live: Pick<LiveService, 'serveFromMemory'>, record: RecordRequest): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'GET' || !req.url?.startsWith('/cdn/')) return false;
    const started = process.hrtime.bigint();
    const at = req.url.indexOf('?');
    const m = LIVE_PATH.exec(at >= 0 ? req.url.slice(0, at) : req.url);
    if (!m) return false;
    const params = decodedParams(m);
    const query = params && quickLivePublicQuery(parseQuery(at >= 0 ? req.url.slice(at + 1) : '') as Record<string, unknown>);
    const image = params && query && live.serveFromMemory({ orgSlug: params.org, projectSlug: params.project, scope: params.scope, query });
    if (!image) return false;
    const { status, headers } = liveImageHead(image, req.headers['if-none-match']);
    headers['x-request-id'] = requestIdOf(req);
    res.writeHead(status, headers);
    res.end(status === 304 ? undefined : image.body);
    record('GET', LIVE_ROUTE, status, Number(process.hrtime.bigint() - started) / 1e9);
    return true;
  };
}

function decodedParams(m: RegExpExecArray): ReturnType<typeof quickLivePublicParams> {
  try {
    return quickLivePublicParams({ org: decodeURIComponent(m[1]!), project: decodeURIComponent(m[2]!), scope: decodeURIComponent(m[3]!) });
  } catch {
    return undefined; // bad percent-encoding: Fastify's 400
  }
}

/** Puts `fastPath` in front of the server's request handler (Fastify's). */
export function serveFirst(server: Server, fastPath: (req: IncomingMessage, res: ServerResponse) => boolean): void {
  const handlers = server.listeners('request') as Handler[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!fastPath(req, res)) for (const handler of handlers) handler(req, res);
  });
}
