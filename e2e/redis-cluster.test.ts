// The compiled API and worker processes on a real 3-master Redis Cluster (SPEC §14;
// scripts/test.sh starts it): the pipeline with its webhook, a worker killed
// mid-job, live single flight across two APIs, the shared rate limit, and every
// key the processes wrote in the one slot of the deployment's hash tag.
import { TEST_REDIS_CLUSTER_NODES, testRedisClusterNodes } from '@banatie/testing';
import { Cluster } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG_SIGNATURE, startApi, startWorker, stopAll, submitGeneration, waitForTerminal, type ApiProcess } from './helpers/processes.js';
import { startChaosWorld, storedObjects, untilGeminiCalled, type ChaosWorld } from './chaos/setup.js';

let world: ChaosWorld;
let api: ApiProcess;
let cluster: Cluster;

beforeAll(async () => {
  world = await startChaosWorld({ env: { REDIS_CLUSTER_NODES: TEST_REDIS_CLUSTER_NODES } });
  api = await startApi(world.env);
  cluster = new Cluster(testRedisClusterNodes());
  await cluster.ping(); // connected: cluster.nodes() lists the masters
});

afterAll(async () => {
  await stopAll();
  if (cluster) {
    for (const node of cluster.nodes('master')) {
      const keys = await node.keys(`*${world.env.QUEUE_PREFIX}*`);
      if (keys.length) await Promise.all(keys.map((key) => node.del(key)));
    }
    cluster.disconnect();
  }
  await world?.close();
});

const imageCalls = async (text: string) => (await world.fake.requests()).filter((c) => c.model.includes('image') && c.text.includes(text)).length;

describe('on a 3-master Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  it('SIGKILL of the worker mid-generation: another worker finishes it once, one object, one webhook', async () => {
    const first = await startWorker(world.env);
    await world.fake.script([{ kind: 'image', delayMs: 120_000 }]);
    const prompt = 'cluster: killed mid generation';
    const r = await submitGeneration(api.url, world.key, { prompt, autoEnhance: false, webhookUrl: `${world.receiver.url}/cluster` });
    expect(r.status).toBe(202);
    const id = r.body.data.id;
    await untilGeminiCalled(world.fake, prompt);
    expect((await first.stop('SIGKILL')).signal).toBe('SIGKILL');

    const second = await startWorker(world.env);
    const done = await waitForTerminal(api.url, world.key, id, { timeoutMs: 60_000 });
    expect(done.status).toBe('success');
    const [hook] = await world.receiver.waitFor(1, '/cluster');
    expect((await second.stop('SIGTERM', 20_000)).code).toBe(0);

    expect(await imageCalls(prompt)).toBe(2);
    expect(await storedObjects(world)).toEqual([done.outputImageId]);
    expect(world.receiver.received.filter((c) => c.path === '/cluster')).toHaveLength(1);
    expect(JSON.parse(hook!.body)).toMatchObject({ type: 'generation.succeeded', data: { id, status: 'success' } });
  });

  it('Prefer: wait and an event stream on another API see the worker finish (pub/sub across nodes)', async () => {
    const other = await startApi(world.env);
    const worker = await startWorker(world.env);
    await world.fake.script([{ kind: 'image', delayMs: 1000 }]);
    const waited = await submitGeneration(other.url, world.key, { prompt: 'cluster: waited for', autoEnhance: false }, { Prefer: 'wait=30' });
    expect(waited.status).toBe(200);
    expect(waited.body.data.status).toBe('success');

    await world.fake.script([{ kind: 'image', delayMs: 1000 }]);
    const r = await submitGeneration(api.url, world.key, { prompt: 'cluster: streamed', autoEnhance: false });
    const res = await fetch(`${other.url}/api/v1/generations/${r.body.data.id}/events`, { headers: { 'x-api-key': world.key } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/"status":"success"/);
    await Promise.all([other.stop(), worker.stop('SIGTERM', 20_000)]);
  });

  it('live: concurrent identical MISSes on two APIs make one generation', async () => {
    const other = await startApi(world.env);
    const worker = await startWorker(world.env);
    await world.fake.setDefault({ kind: 'image', delayMs: 1000 });
    const prompt = 'cluster: a lighthouse at dawn';
    const url = (a: ApiProcess) => `${a.url}/cdn/chaos/site/live/hero?prompt=${encodeURIComponent(prompt)}&aspectRatio=16:9`;
    const responses = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const res = await fetch(url(i % 2 ? other : api));
        return { status: res.status, imageId: res.headers.get('x-image-id'), body: Buffer.from(await res.arrayBuffer()) };
      }),
    );
    for (const r of responses) {
      expect(r.status, r.body.toString()).toBe(200);
      expect(r.body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(r.imageId).toBe(responses[0]!.imageId);
    }
    expect(await imageCalls(prompt)).toBe(1);
    const live = await world.database.db
      .selectFrom('generations')
      .select(sql<string>`count(*)`.as('n'))
      .where('live_scope_id', 'is not', null)
      .executeTakeFirstOrThrow();
    expect(Number(live.n)).toBe(1);
    await Promise.all([other.stop(), worker.stop('SIGTERM', 20_000)]);
  });

  it('the write rate limit is counted on the cluster: over it, 429 and nothing created', async () => {
    const limited = await startApi({ ...world.env, RATE_LIMIT_PER_HOUR: '2' });
    const before = await world.database.db.selectFrom('generations').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
    const prompts = ['cluster: limited 1', 'cluster: limited 2', 'cluster: limited 3'];
    const statuses = [];
    for (const prompt of prompts) statuses.push((await submitGeneration(limited.url, world.key, { prompt, autoEnhance: false })).status);
    expect(statuses).toEqual([202, 202, 429]);
    const after = await world.database.db.selectFrom('generations').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n) - Number(before.n)).toBe(2);
    const refused = await fetch(`${limited.url}/api/v1/generations`, {
      method: 'POST',
      headers: { 'x-api-key': world.key, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'cluster: limited 4', autoEnhance: false }),
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ratelimit-bucket')).toBe('write');
    await limited.stop();
  });

  it("every key the processes wrote is in the slot of the deployment's hash tag, on one master", async () => {
    const prefix = `{${world.env.QUEUE_PREFIX}}`;
    const found: { key: string; slot: number; node: string }[] = [];
    for (const node of cluster.nodes('master')) {
      for (const key of await node.keys(`*${world.env.QUEUE_PREFIX}*`)) {
        found.push({ key, slot: Number(await node.cluster('KEYSLOT', key)), node: `${node.options.host}:${node.options.port}` });
      }
    }
    expect(found.length).toBeGreaterThan(10);
    expect(found.every((k) => k.key.startsWith(`${prefix}:`)), JSON.stringify(found.map((k) => k.key))).toBe(true);
    expect(new Set(found.map((k) => k.slot))).toEqual(new Set([Number(await cluster.cluster('KEYSLOT', prefix))]));
    expect(new Set(found.map((k) => k.node)).size).toBe(1);
    // BullMQ's queues, the rate limit and the live lock/limits are among them.
    const keys = found.map((k) => k.key).join('\n');
    expect(keys).toContain(`${prefix}:generations:`);
    expect(keys).toContain(`${prefix}:webhooks:`);
    expect(keys).toContain(`${prefix}:{ratelimit}:write:`);
  });
});
