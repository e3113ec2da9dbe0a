// GET /api/v1/generations/events: one SSE stream with every status change of
// the key's project (the Studio's live list), and nothing of other projects.
import { Banatie, parseServerSentEvents } from '@banatie/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenStack, startStack, waitForTerminal, type Stack } from './harness.js';

let stack: Stack;
let base: string;

beforeAll(async () => {
  stack = await startStack();
  base = await listenStack(stack);
});

afterAll(async () => {
  await stack?.close();
});

/** Reads `event: status` frames until `until` returns true for the list so far. */
async function readUntil(res: Response, until: (seen: Array<{ id: string; projectId: string; status: string }>) => boolean) {
  const seen: Array<{ id: string; projectId: string; status: string }> = [];
  for await (const message of parseServerSentEvents(res.body!)) {
    if (message.event === 'status') seen.push(JSON.parse(message.data));
    if (until(seen)) return seen;
  }
  throw new Error(`stream ended early: ${JSON.stringify(seen)}`);
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

  it('the SDK iterates the stream (generations.projectEvents) until aborted', async () => {
    const ctrl = new AbortController();
    const events = new Banatie({ apiKey: stack.key.key, baseUrl: base }).generations.projectEvents({ signal: ctrl.signal });
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
