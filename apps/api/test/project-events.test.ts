// GET /api/v1/generations/events: one SSE stream with every status change of
// the key's project (the Studio's live list), and nothing of other projects.
import type { AddressInfo } from 'node:net';
import { projectGenerationEvents } from '@banatie/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';

let stack: Stack;
let base: string;

beforeAll(async () => {
  stack = await startStack();
  await stack.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await stack?.close();
});

/** Reads `event: status` frames until `until` returns true for the list so far. */
async function readUntil(res: Response, until: (seen: Array<{ id: string; projectId: string; status: string }>) => boolean) {
  const seen: Array<{ id: string; projectId: string; status: string }> = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    while (!until(seen)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${JSON.stringify(seen)}`);
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (data && frame.includes('event: status')) seen.push(JSON.parse(data.slice(6)));
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return seen;
}

/** True once some API connection listens on the project's channel. */
async function hasSubscriber(): Promise<boolean> {
  const counts = (await stack.deps.redis.pubsub('NUMSUB', `${stack.config.queuePrefix}:events:project:${stack.key.projectId}`)) as [string, number];
  return Number(counts[1]) > 0;
}

async function submit(key: string, prompt: string): Promise<string> {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': key }, payload: { prompt, autoEnhance: false } });
  expect(res.statusCode).toBe(202);
  return res.json().data.id;
}

describe('project-wide generation events', () => {
  it('streams the status changes of every generation of the project, and none of another project', async () => {
    const other = await stack.createKey('acme', 'other-site');
    const res = await fetch(`${base}/api/v1/generations/events`, { headers: { 'x-api-key': stack.key.key }, signal: AbortSignal.timeout(45_000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);

    const foreign = await submit(other.key, 'a foreign lighthouse');
    const first = await submit(stack.key.key, 'a red kite');
    const second = await submit(stack.key.key, 'a blue kite');
    const done = (seen: Array<{ id: string; status: string }>, id: string) => seen.some((g) => g.id === id && g.status === 'success');
    const seen = await readUntil(res, (s) => done(s, first) && done(s, second));

    expect(seen.every((g) => g.projectId === stack.key.projectId)).toBe(true);
    expect(seen.map((g) => g.id)).not.toContain(foreign);
    expect(seen.filter((g) => g.id === first).map((g) => g.status)).toContain('processing');
    await waitForTerminal(stack, foreign, other.key);
  });

  it('the SDK iterates the stream (projectGenerationEvents) until aborted', async () => {
    const ctrl = new AbortController();
    const events = projectGenerationEvents({ apiKey: stack.key.key, baseUrl: base }, { signal: ctrl.signal });
    const first = events.next(); // opens the connection
    const statuses: string[] = [];
    let id: string | undefined;
    const submitted = (async () => {
      // Submit only once the stream is subscribed: the route answers 200 after subscribing.
      while (!(await hasSubscriber())) await new Promise((r) => setTimeout(r, 20));
      id = await submit(stack.key.key, 'an sdk kite');
    })();
    for (let next = await first; !next.done; next = await events.next()) {
      await submitted;
      if (next.value.id !== id) continue;
      statuses.push(next.value.status);
      if (next.value.status === 'success') break;
    }
    ctrl.abort();
    await events.return(undefined);
    expect(statuses).toContain('success');
  });

  it('needs a key', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/api/v1/generations/events' });
    expect(res.statusCode).toBe(401);
  });
});
