// SPEC §11: on SIGTERM the compiled API ends its open event streams and exits 0
// within 5 s, even with a client still waiting on a long request.
import { generationChannel } from '@banatie/queue';
import { TEST_REDIS_URL } from '@banatie/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;

beforeAll(async () => {
  // No worker: the generation below stays pending, so its `Prefer: wait` request would wait a minute.
  stack = await startTestStack({ workers: 0 });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** Reads a response body to its end; resolves once the server ended it (or the connection dropped). */
async function drain(res: Response): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body!) text += decoder.decode(chunk, { stream: true });
  } catch {
    // connection closed by the server
  }
  return text;
}

/** Resolves once the API listens on `channel`: the waiting request is in the server. */
async function untilSubscribed(channel: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    for (;;) {
      const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
      if (Number(count) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    redis.disconnect();
  }
}

describe('SIGTERM', () => {
  it('ends open event streams and exits 0 within 5 s, a waiting request notwithstanding', async () => {
    const api = stack.api;
    const headers = { 'x-api-key': stack.key.key };
    const submitted = await fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a lighthouse that never gets drawn', autoEnhance: false }),
    });
    expect(submitted.status).toBe(202);
    const { id } = ((await submitted.json()) as { data: { id: string } }).data;

    const waiting = fetch(`${api.url}/api/v1/generations/${id}`, { headers: { ...headers, prefer: 'wait=60' } }).then(
      (res) => res.status,
      () => 'dropped',
    );
    await untilSubscribed(generationChannel(stack.env.QUEUE_PREFIX!, id));
    const project = await fetch(`${api.url}/api/v1/generations/events`, { headers });
    const generation = await fetch(`${api.url}/api/v1/generations/${id}/events`, { headers });
    expect([project.status, generation.status]).toEqual([200, 200]);
    const streams = [drain(project), drain(generation)];

    // stop() sends SIGTERM and SIGKILLs after 5 s: exit code 0 means the API left by itself in time.
    const exit = await api.stop('SIGTERM', 5000);
    expect(exit).toEqual({ code: 0, signal: null });
    const [projectText, generationText] = await Promise.all(streams);
    expect(projectText).toContain(': keep-alive');
    expect(generationText).toContain('event: status');
    expect(await waiting).toBeDefined();
  }, 30_000);
});
