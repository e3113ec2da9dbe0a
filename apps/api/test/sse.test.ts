// The one home of Server-Sent Events (lib/sse.ts) on a bare Fastify app: the
// wire format, one heartbeat timer and one `close` listener per stream however
// many changes and heartbeats pass, and the end of the stream when the client
// goes away or the server shuts down. Timers are faked (only the globals: the
// sockets keep their own), so the test counts exactly the timers streams hold.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitError } from '@banatie/core';
import type { StreamSlots } from '@banatie/queue';
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
let streams: OpenStreams;
/** Keys whose check at a heartbeat fails (revoked, expired). */
let badKeys: Set<string>;
let keyChecks: number;

/** StreamSlots in memory, recording what the streams did with their slots. */
class FakeSlots implements StreamSlots {
  readonly held = new Map<string, Set<string>>();
  renewals = 0;
  constructor(private readonly max: number) {}
  async acquire(keyId: string, streamId: string) {
    const set = this.held.get(keyId) ?? new Set<string>();
    if (set.size >= this.max) return false;
    this.held.set(keyId, set.add(streamId));
    return true;
  }
  async renew() {
    this.renewals++;
  }
  async release(keyId: string, streamId: string) {
    this.held.get(keyId)?.delete(streamId);
  }
  async count(keyId: string) {
    return this.held.get(keyId)?.size ?? 0;
  }
}
let slots: FakeSlots;

beforeEach(async () => {
  app = Fastify();
  badKeys = new Set();
  keyChecks = 0;
  slots = new FakeSlots(2);
  streams = new OpenStreams({ heartbeatMs: HEARTBEAT_MS, maxPerKey: 2, slots });
  app.addHook('preClose', (done) => {
    streams.endAll();
    done();
  });
  await app.register(async (scope) => {
    scope.get('/events', async (request, reply) => {
      const keyId = (request.headers['x-key'] as string | undefined) ?? 'k';
      const stream = await streams.create(reply, {
        keyId,
        stillAuthorized: async () => {
          keyChecks++;
          return !badKeys.has(keyId);
        },
      });
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
function connect(keyId = 'k'): { req: ClientRequest; response: Promise<IncomingMessage>; text: () => string; until: (check: (text: string) => boolean) => Promise<void>; ended: Promise<void> } {
  let body = '';
  const waiters: Array<() => void> = [];
  let onEnd!: () => void;
  const ended = new Promise<void>((resolve) => (onEnd = resolve));
  const req = httpRequest({ host: '127.0.0.1', port: (app.server.address() as AddressInfo).port, path: '/events', headers: { 'x-key': keyId } });
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

describe('open streams of a key', () => {
  /** Opens a stream for `keyId` and waits until the route holds it. */
  const openFor = async (keyId: string) => {
    nextOpened = new Promise((resolve) => (opened = resolve));
    const client = connect(keyId);
    const server = await nextOpened;
    await client.response;
    return { client, ...server };
  };

  it('each stream holds a slot of its key until it ends; past the limit, create refuses with RateLimitError', async () => {
    const first = await openFor('k');
    const second = await openFor('k');
    expect(await slots.count('k')).toBe(2);
    const reply = { raw: {} } as never;
    await expect(streams.create(reply, { keyId: 'k', stillAuthorized: async () => true })).rejects.toBeInstanceOf(RateLimitError);
    expect(streams.size).toBe(2);
    const other = await openFor('other');
    expect(await slots.count('other')).toBe(1);
    first.client.req.destroy();
    await first.finished;
    expect(await slots.count('k')).toBe(1);
    for (const s of [second, other]) s.client.req.destroy();
    await Promise.all([second.finished, other.finished]);
    expect(await slots.count('k')).toBe(0);
    expect(streams.size).toBe(0);
  });

  it('every heartbeat renews the lease and checks the key once; a key that fails the check ends its stream', async () => {
    const { client, finished } = await openFor('k');
    for (let i = 1; i <= 5; i++) {
      vi.advanceTimersByTime(HEARTBEAT_MS);
      await client.until((t) => count(t, ': keep-alive') === i + 1);
    }
    expect([slots.renewals, keyChecks]).toEqual([5, 5]);
    badKeys.add('k');
    vi.advanceTimersByTime(HEARTBEAT_MS);
    await Promise.all([finished, client.ended]);
    expect(vi.getTimerCount()).toBe(0);
    expect(await slots.count('k')).toBe(0);
  });

  it('endKey (a revocation) ends the streams of that key only', async () => {
    const revoked = await openFor('revoked');
    const kept = await openFor('kept');
    streams.endKey('revoked');
    await Promise.all([revoked.finished, revoked.client.ended]);
    expect(streams.size).toBe(1);
    expect(kept.stream.isEnded).toBe(false);
    kept.client.req.destroy();
    await kept.finished;
  });
});
