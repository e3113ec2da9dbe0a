// Live URLs across processes: two API instances share one generation per cache
// key (Redis lock + generation channel), the per-IP limit, and the entries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG_SIGNATURE, type ApiProcess } from './helpers/processes.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const CONCURRENT = 30;

describe('live URLs with two API processes', () => {
  let stack: TestStack;
  let apis: ApiProcess[];

  beforeAll(async () => {
    stack = await startTestStack({ provider: 'gemini', apis: 2, workers: 1, key: 'acme/live', env: { LIVE_MISS_PER_IP_PER_HOUR: '4' } });
    // Slow enough that all requests arrive while the one generation runs.
    await stack.fake!.setDefault({ kind: 'image', delayMs: 1000 });
    apis = stack.apis;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const liveUrl = (api: ApiProcess, prompt: string) => `${api.url}/cdn/acme/live/live/hero?prompt=${encodeURIComponent(prompt)}&aspectRatio=16:9`;

  async function imageCalls(): Promise<number> {
    return (await stack.fake!.requests()).filter((r) => r.model.toLowerCase().includes('image')).length;
  }

  it(`${CONCURRENT} concurrent identical MISSes on both APIs make one generation; all get identical bytes`, async () => {
    const responses = await Promise.all(
      Array.from({ length: CONCURRENT }, async (_, i) => {
        const res = await fetch(liveUrl(apis[i % 2]!, 'a lighthouse at dawn'));
        return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
      }),
    );
    for (const r of responses) {
      expect(r.status, r.body.toString()).toBe(200);
      expect(r.headers.get('content-type')).toBe('image/png');
      expect(r.body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(r.body.equals(responses[0]!.body)).toBe(true);
      expect(r.headers.get('x-image-id')).toBe(responses[0]!.headers.get('x-image-id'));
    }
    expect(await imageCalls()).toBe(1);
    const generations = await stack.database.db.selectFrom('generations').select(['id', 'live_scope_id']).execute();
    expect(generations).toHaveLength(1);
    expect(generations[0]!.live_scope_id).toEqual(expect.any(String));

    // Both instances now answer HIT from the cache, with no new generation.
    for (const api of apis) {
      const hit = await fetch(liveUrl(api, 'a lighthouse at dawn'));
      expect(hit.headers.get('x-cache-status')).toBe('HIT');
      expect(Buffer.from(await hit.arrayBuffer()).equals(responses[0]!.body)).toBe(true);
    }
    expect(await imageCalls()).toBe(1);
  });

  it('when the API that started a generation dies, another instance delivers it', async () => {
    await stack.fake!.setDefault({ kind: 'image', delayMs: 1500 });
    const callsBefore = await imageCalls();
    const doomed = await stack.startApi();
    const survivor = apis[1]!;
    const url = (api: ApiProcess) => `${api.url}/cdn/acme/live/live/hero?prompt=${encodeURIComponent('survives its api')}`;
    let answered = false;
    const abandoned = fetch(url(doomed)).then(
      () => (answered = true),
      () => null,
    );
    // Wait until a worker runs the generation (its job was queued, so the kill cannot fall between the row
    // and the job, a case the sweeper repairs only after SWEEP_INTERVAL_MS), then kill the API holding the request.
    let row: { id: string } | undefined;
    while (!row) {
      expect(answered, 'the first request must still be waiting').toBe(false);
      row = await stack.database.db
        .selectFrom('generations')
        .select('id')
        .where('original_prompt', '=', 'survives its api')
        .where('status', '=', 'processing')
        .executeTakeFirst();
      if (!row) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await doomed.stop('SIGKILL');
    await abandoned;

    const res = await fetch(url(survivor));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('x-generation-id')).toBe(row.id);
    expect(await imageCalls()).toBe(callsBefore + 1);
  });

  it('the per-IP miss limit is shared by the two instances', async () => {
    await stack.fake!.setDefault({ kind: 'image' });
    expect((await fetch(liveUrl(apis[0]!, 'ip one'))).status).toBe(200);
    expect((await fetch(liveUrl(apis[1]!, 'ip two'))).status).toBe(200);
    const refused = await fetch(liveUrl(apis[0]!, 'ip three'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await refused.json()) as { error: Record<string, unknown> };
    expect(body.error).toEqual({ code: 'RATE_LIMIT_EXCEEDED', message: expect.stringMatching(/address/), requestId: refused.headers.get('x-request-id') });
    const again = await fetch(liveUrl(apis[1]!, 'ip three'));
    expect(again.status).toBe(429);
    await again.arrayBuffer();
  });
});
