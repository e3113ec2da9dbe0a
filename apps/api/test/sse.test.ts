// The one home of Server-Sent Events (lib/sse.ts) on a bare Fastify app: the
// wire format, one heartbeat timer and one `close` listener per stream however
// many changes and heartbeats pass, and the end of the stream when the client
// goes away or the server shuts down. Timers are faked (only the globals: the
// sockets keep their own), so the test counts exactly the timers streams hold.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OpenStreams, type EventStream } from '../src/lib/sse.js';

const HEARTBEAT_MS = 1000;

interface Opened {
  stream: EventStream;
  res: ServerResponse;
  /** Resolves once the route's loop ended and released the stream. */
  finished: Promise<void>;
}

let app: FastifyInstance;
let opened: (o: Opened) => void;
let nextOpened: Promise<Opened>;

beforeEach(async () => {
  app = Fastify();
  const streams = new OpenStreams({ heartbeatMs: HEARTBEAT_MS });
  app.addHook('preClose', (done) => {
    streams.endAll();
    done();
  });
  await app.register(async (scope) => {
    scope.get('/events', async (_request, reply) => {
      const stream = await streams.create(reply, { keyId: 'k', stillAuthorized: async () => true });
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      let n = 0;
      try {
        stream.open();
        stream.heartbeat(); // the headers go out with the first write
        opened({ stream, res: reply.raw, finished });
        for (let signal = await stream.next(); signal !== 'closed'; signal = await stream.next()) {
          if (signal === 'heartbeat') stream.heartbeat();
          else stream.send('tick', { n: ++n });
        }
      } finally {
        stream.end();
        done();
      }
    });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  nextOpened = new Promise((resolve) => (opened = resolve));
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
});

afterEach(async () => {
  vi.useRealTimers();
  await app.close();
});

/** A plain node:http client (no timers of its own) that keeps what the stream sends. */
function connect(): { req: ClientRequest; response: Promise<IncomingMessage>; text: () => string; until: (check: (text: string) => boolean) => Promise<void>; ended: Promise<void> } {
  let body = '';
  const waiters: Array<() => void> = [];
  let onEnd!: () => void;
  const ended = new Promise<void>((resolve) => (onEnd = resolve));
  const req = httpRequest({ host: '127.0.0.1', port: (app.server.address() as AddressInfo).port, path: '/events' });
  const response = new Promise<IncomingMessage>((resolve) =>
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        for (const w of waiters.splice(0)) w();
      });
      res.on('end', onEnd);
      resolve(res);
    }),
  );
  req.on('error', () => undefined);
  req.end();
  const until = async (check: (text: string) => boolean) => {
    while (!check(body)) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { req, response, text: () => body, until, ended };
}

const count = (text: string, frame: string) => text.split(frame).length - 1;

describe('event streams', () => {
  it('writes the SSE wire format: numbered events with JSON data, and comment heartbeats', async () => {
    const client = connect();
    const { stream } = await nextOpened;
    const res = await client.response;
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache, no-transform');
    expect(res.headers['x-accel-buffering']).toBe('no');
    stream.notify();
    await client.until((t) => t.includes('id: 1\n'));
    vi.advanceTimersByTime(HEARTBEAT_MS);
    await client.until((t) => count(t, ': keep-alive') === 2);
    stream.notify();
    await client.until((t) => t.includes('id: 2\n'));
    expect(client.text()).toBe(': keep-alive\n\nid: 1\nevent: tick\ndata: {"n":1}\n\n: keep-alive\n\nid: 2\nevent: tick\ndata: {"n":2}\n\n');
    client.req.destroy();
  });

  it('holds one timer and one close listener however many changes and heartbeats pass', async () => {
    const client = connect();
    const { stream, res } = await nextOpened;
    await client.response;
    const closeListeners = res.listenerCount('close');
    expect(vi.getTimerCount()).toBe(1);
    for (let i = 1; i <= 50; i++) {
      stream.notify();
      await client.until((t) => t.includes(`id: ${i}\n`));
    }
    expect(vi.getTimerCount()).toBe(1);
    for (let i = 1; i <= 20; i++) {
      vi.advanceTimersByTime(HEARTBEAT_MS);
      await client.until((t) => count(t, ': keep-alive') === i + 1);
    }
    expect(vi.getTimerCount()).toBe(1);
    expect(res.listenerCount('close')).toBe(closeListeners);
    client.req.destroy();
  });

  it('a change and a heartbeat due together make one change (no heartbeat frame)', async () => {
    const client = connect();
    const { stream } = await nextOpened;
    await client.response;
    vi.advanceTimersByTime(HEARTBEAT_MS);
    stream.notify();
    await client.until((t) => t.includes('id: 1\n'));
    stream.notify();
    await client.until((t) => t.includes('id: 2\n'));
    expect(count(client.text(), ': keep-alive')).toBe(1);
    client.req.destroy();
  });

  it('ends the loop and releases the timer and the listener when the client goes away', async () => {
    const client = connect();
    const { res, finished } = await nextOpened;
    await client.response;
    client.req.destroy();
    await finished;
    expect(vi.getTimerCount()).toBe(0);
    expect(res.listenerCount('close')).toBe(0);
  });

  it('server shutdown ends every open stream, so closing does not wait for the clients', async () => {
    const clients = [connect()];
    const first = await nextOpened;
    nextOpened = new Promise((resolve) => (opened = resolve));
    clients.push(connect());
    const second = await nextOpened;
    await Promise.all(clients.map((c) => c.response));
    await app.close();
    await Promise.all([first.finished, second.finished, ...clients.map((c) => c.ended)]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
