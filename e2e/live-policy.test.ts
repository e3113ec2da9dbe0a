// The project live policy across two compiled API processes (SPEC §11): the daily
// cap is one budget for both, concurrent MISSes racing it never overspend it, and
// a policy change made through one API applies to the next MISS on the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiProcess } from './helpers/processes.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

describe('live policy with two API processes', () => {
  let stack: TestStack;
  let apis: ApiProcess[];

  beforeAll(async () => {
    stack = await startTestStack({ apis: 2, workers: 1, key: 'acme/policy', keyRole: 'admin', env: { LIVE_MISS_PER_IP_PER_HOUR: '0' } });
    apis = stack.apis;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const liveUrl = (api: ApiProcess, scope: string, prompt: string) => `${api.url}/cdn/acme/policy/live/${scope}?prompt=${encodeURIComponent(prompt)}`;

  async function putLive(api: ApiProcess, live: unknown): Promise<void> {
    const res = await fetch(`${api.url}/api/v1/project`, {
      method: 'PUT',
      headers: { 'x-api-key': stack.key.key, 'content-type': 'application/json' },
      body: JSON.stringify({ live }),
    });
    expect(res.status, await res.text()).toBe(200);
  }

  async function generations(): Promise<number> {
    const row = await stack.database.db.selectFrom('generations').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it('10 concurrent MISSes on both APIs against a cap of 3: exactly 3 generations, the rest 403 LIVE_BUDGET_EXHAUSTED', async () => {
    await putLive(apis[0]!, { newGenerationsPerDay: 3 });
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const res = await fetch(liveUrl(apis[i % 2]!, `scope-${i % 3}`, `capped prompt ${i}`));
        return { status: res.status, body: res.status === 200 ? null : ((await res.json()) as { error: { code: string } }), drained: res.status === 200 ? await res.arrayBuffer() : null };
      }),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(403);
      expect(r.body!.error.code).toBe('LIVE_BUDGET_EXHAUSTED');
    }
    expect(await generations()).toBe(3);
    const usage = await stack.database.db.selectFrom('live_daily_usage').select('generations').executeTakeFirstOrThrow();
    expect(usage.generations).toBe(3);
  });

  it('a policy change through one API applies to the next MISS on the other; HITs are still served', async () => {
    await putLive(apis[0]!, { newGenerationsPerDay: null });
    const made = await fetch(liveUrl(apis[1]!, 'scope-0', 'made before disabling'));
    expect(made.status).toBe(200);
    await made.arrayBuffer();
    await putLive(apis[0]!, { enabled: false });
    const before = await generations();
    const refused = await fetch(liveUrl(apis[1]!, 'scope-0', 'made after disabling'));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('LIVE_DISABLED');
    for (const api of apis) {
      const hit = await fetch(liveUrl(api, 'scope-0', 'made before disabling'));
      expect(hit.status).toBe(200);
      expect(hit.headers.get('x-cache-status')).toBe('HIT');
      await hit.arrayBuffer();
    }
    expect(await generations()).toBe(before);
  });
});
