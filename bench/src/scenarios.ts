// One function per measured row. Each returns raw numbers; main.ts turns them
// into ratios, medians and the table.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import sharp from 'sharp';
import { cpuTime, cpuTimesOfAll, cpuUsedBetween, sampleRss, type Child, type CpuTime } from './procs.js';
import type { Stack } from './stack.js';
import { runWrk, type WrkResult } from './wrk.js';

export interface Durations {
  wrkSeconds: number;
  warmupSeconds: number;
  connections: number;
  pipelineJobs: number;
  scalingRounds: number;
  pickupSamples: number;
  uploads: number;
}

export interface Measured<T> {
  result: T;
  rss: Record<string, number>;
  /** CPU time each process used during the measurement. */
  cpu: Record<string, CpuTime>;
}

/** 200 KB of incompressible pixels: what the fake Gemini returns for the live and pipeline rows. */
export const NOISE_IMAGE = { width: 256, height: 256 };

export const SUBMIT_BODY = JSON.stringify({ prompt: 'a benchmark of a submitted generation', autoEnhance: false });
const TERMINAL = ['success', 'failed', 'cancelled'] as const;

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const SHARED_SERVICES = { postgres: 'postgres', redis: 'redis-server' };

function cpuOf(pids: Record<string, number>): Record<string, CpuTime> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuTime(pid) ?? { userMs: Number.NaN, systemMs: Number.NaN }]));
}

function sharedCpu(): Record<string, Map<number, CpuTime>> {
  return Object.fromEntries(Object.entries(SHARED_SERVICES).map(([name, comm]) => [name, cpuTimesOfAll(comm)]));
}

/** RSS peaks and CPU used by the measured processes, plus PostgreSQL's and Redis's CPU, while `run` runs. */
export function withRss<T>(pids: Record<string, number>, run: () => Promise<T>): Promise<Measured<T>> {
  const sampler = sampleRss(pids);
  const cpuBefore = cpuOf(pids);
  const sharedBefore = sharedCpu();
  return run().then(
    (result) => {
      const used = Object.entries(cpuOf(pids)).map(([name, after]) => {
        const before = cpuBefore[name]!;
        return [name, { userMs: after.userMs - before.userMs, systemMs: after.systemMs - before.systemMs }];
      });
      const sharedAfter = sharedCpu();
      const shared = Object.keys(SHARED_SERVICES).map((name) => [name, cpuUsedBetween(sharedBefore[name]!, sharedAfter[name]!)]);
      return { result, rss: sampler.stop(), cpu: Object.fromEntries([...used, ...shared]) };
    },
    (err: unknown) => {
      sampler.stop();
      throw err;
    },
  );
}

async function wrkWithWarmup(stack: Stack, d: Durations, req: Parameters<typeof runWrk>[0], pids: Record<string, number>): Promise<Measured<WrkResult>> {
  if (d.warmupSeconds > 0) await runWrk(req, { seconds: d.warmupSeconds, connections: d.connections });
  return withRss(pids, () => runWrk(req, { seconds: d.wrkSeconds, connections: d.connections }));
}

/** The API's memory as its /metrics reports it (what the RSS is made of: V8 heap, Buffers outside it). */
export async function apiMemory(stack: Stack): Promise<string> {
  try {
    const text = await (await fetch(`${stack.api.url}/metrics`)).text();
    const mb = (name: string, labels = '') => {
      const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
      return m ? `${Math.round(Number(m[1]) / 2 ** 20)} MB` : '?';
    };
    return [
      `rss ${mb('process_resident_memory_bytes')}`,
      `V8 heap used ${mb('nodejs_heap_size_used_bytes')} of ${mb('nodejs_heap_size_total_bytes')}`,
      `new space ${mb('nodejs_heap_space_size_total_bytes', '{space="new"}')}`,
      `old space ${mb('nodejs_heap_space_size_total_bytes', '{space="old"}')}`,
      `external ${mb('nodejs_external_memory_bytes')}`,
    ].join(', ');
  } catch (err) {
    return `unavailable (${(err as Error).message})`;
  }
}

// ---- submit ------------------------------------------------------------------

export function submitReal(stack: Stack, d: Durations): Promise<Measured<WrkResult>> {
  return wrkWithWarmup(
    stack,
    d,
    {
      url: `${stack.api.url}/api/v1/generations`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': stack.key },
      body: SUBMIT_BODY,
    },
    { api: stack.api.pid },
  );
}

export function submitBaseline(stack: Stack, d: Durations): Promise<Measured<WrkResult>> {
  return wrkWithWarmup(
    stack,
    d,
    { url: `${stack.baseline.url}/submit`, method: 'POST', headers: { 'content-type': 'application/json' }, body: SUBMIT_BODY },
    { baseline: stack.baseline.pid },
  );
}

/** Drops the jobs and rows the submit row piled up, so later rows start from empty queues. */
export async function clearSubmitted(stack: Stack): Promise<void> {
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  try {
    for (const prefix of [stack.prefix, stack.baselinePrefix]) {
      const queue = new Queue('generations', { connection: redis, prefix });
      await queue.obliterate({ force: true });
      await queue.close();
    }
  } finally {
    redis.disconnect();
  }
  await stack.db.db.deleteFrom('generations').where('status', '=', 'pending').execute();
}

// ---- poll ----------------------------------------------------------------------

export function pollReal(stack: Stack, d: Durations, id: string): Promise<Measured<WrkResult>> {
  return wrkWithWarmup(stack, d, { url: `${stack.api.url}/api/v1/generations/${id}`, headers: { 'x-api-key': stack.key } }, { api: stack.api.pid });
}

export function pollBaseline(stack: Stack, d: Durations, id: string): Promise<Measured<WrkResult>> {
  return wrkWithWarmup(stack, d, { url: `${stack.baseline.url}/poll/${id}` }, { baseline: stack.baseline.pid });
}

// ---- live HIT ------------------------------------------------------------------

export const LIVE_PATH = '/cdn/bench/bench/live/bench?prompt=a%20benchmark%20of%20a%20live%20image';

/** Warms the live entry; the image bytes, or null when the endpoint does not exist (404). */
export async function warmLive(stack: Stack): Promise<Buffer | null> {
  const res = await fetch(`${stack.api.url}${LIVE_PATH}`, { signal: AbortSignal.timeout(60_000) });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`live warm-up: ${res.status} ${body.subarray(0, 500).toString()}`);
  const again = await fetch(`${stack.api.url}${LIVE_PATH}`);
  await again.arrayBuffer();
  if (again.headers.get('x-cache-status') !== 'HIT') throw new Error(`live: second request was not a HIT (${again.headers.get('x-cache-status')})`);
  const put = await fetch(`${stack.baseline.url}/bytes`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body });
  if (!put.ok) throw new Error(`baseline bytes: ${put.status}`);
  return body;
}

export function liveReal(stack: Stack, d: Durations): Promise<Measured<WrkResult>> {
  return wrkWithWarmup(stack, d, { url: `${stack.api.url}${LIVE_PATH}` }, { api: stack.api.pid });
}

export function liveBaseline(stack: Stack, d: Durations): Promise<Measured<WrkResult>> {
  return wrkWithWarmup(stack, d, { url: `${stack.baseline.url}/bytes` }, { baseline: stack.baseline.pid });
}

// ---- submissions over HTTP (pipeline, scaling, pickup) --------------------------------

export async function postJson(url: string, headers: Record<string, string>, body: string): Promise<{ id: string; at: number }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const at = performance.timeOrigin + performance.now();
  const payload = (await res.json()) as { data?: { id?: string } };
  if (res.status !== 202 || !payload.data?.id) throw new Error(`submit ${url}: ${res.status} ${JSON.stringify(payload).slice(0, 500)}`);
  return { id: payload.data.id, at };
}

function submitOne(stack: Stack, baseline: boolean): Promise<{ id: string; at: number }> {
  return baseline
    ? postJson(`${stack.baseline.url}/submit`, {}, SUBMIT_BODY)
    : postJson(`${stack.api.url}/api/v1/generations`, { 'x-api-key': stack.key }, SUBMIT_BODY);
}

/** Runs `count` submits, `concurrency` at a time; resolves with the generation ids. */
export async function submitMany(count: number, submit: () => Promise<{ id: string }>, concurrency = 16): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        next++;
        ids.push((await submit()).id);
      }
    }),
  );
  return ids;
}

/** Waits until every generation is terminal; throws when one did not succeed. */
export async function waitAllSucceeded(stack: Stack, ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await stack.db.db
      .selectFrom('generations')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('id', 'in', ids)
      .where('status', 'in', TERMINAL)
      .groupBy('status')
      .execute();
    const done = rows.reduce((a, r) => a + Number(r.n), 0);
    const bad = rows.filter((r) => r.status !== 'success');
    if (bad.length) {
      const errors = await stack.db.db
        .selectFrom('generations')
        .select(['id', 'status', 'error_code', 'error_message'])
        .where('id', 'in', ids)
        .where('status', 'in', ['failed', 'cancelled'])
        .limit(5)
        .execute();
      throw new Error(`generations did not succeed: ${JSON.stringify(bad)} ${JSON.stringify(errors)}`);
    }
    if (done === ids.length) return;
    if (Date.now() > deadline) {
      const all = await stack.db.db
        .selectFrom('generations')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('id', 'in', ids)
        .groupBy('status')
        .execute();
      const activity = await sql<Record<string, unknown>>`
        SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS xact_age, left(query, 120) AS query
        FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`.execute(stack.db.db);
      throw new Error(`only ${done}/${ids.length} generations done after ${timeoutMs} ms (${JSON.stringify(all)}); busy sessions: ${JSON.stringify(activity.rows)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One generation taken through to success (the poll row reads it). */
export async function oneSucceeded(stack: Stack): Promise<string> {
  const { id } = await submitOne(stack, false);
  await waitAllSucceeded(stack, [id], 30_000);
  return id;
}

// ---- pipeline ------------------------------------------------------------------

/** Generations per second from the first submit to the last success, with idle workers ready. */
export async function pipeline(stack: Stack, d: Durations, baseline: boolean, workerPids: Record<string, number>): Promise<Measured<number>> {
  return withRss({ api: stack.api.pid, baselineApi: stack.baseline.pid, fakeGemini: stack.fake.pid, ...workerPids }, async () => {
    const started = performance.now();
    const ids = await submitMany(d.pipelineJobs, () => submitOne(stack, baseline));
    await waitAllSucceeded(stack, ids, 120_000);
    return d.pipelineJobs / ((performance.now() - started) / 1000);
  });
}

/** Size of the generated output images (KB, median), to show the pipeline moved ~200 KB per job. */
export async function outputImageKb(stack: Stack): Promise<number> {
  const rows = await stack.db.db.selectFrom('images').select('file_size').where('source', '=', 'generated').execute();
  return Math.round(medianOf(rows.map((r) => r.file_size)) / 1024);
}

// ---- scaling -------------------------------------------------------------------

export interface ScalingResult {
  perSecond: number;
  ideal: number;
  /** Medians over the jobs (ms): `processing_time_ms` (provider call to stored output) and `started_at` → `completed_at`. */
  processingMs: number;
  cycleMs: number;
}

/**
 * Submits workers×concurrency×rounds generations with no worker running, then
 * starts the workers. Steady-state throughput leaves out the first round (worker
 * start-up): (K − N·C) completions between the N·C-th and the last.
 */
export async function scaling(stack: Stack, d: Durations, workers: number, concurrency: number): Promise<Measured<ScalingResult>> {
  const batch = workers * concurrency;
  const total = batch * d.scalingRounds;
  const ids = await submitMany(total, () => submitOne(stack, false), 32);
  let started: Child[] = [];
  try {
    const measured = await (async () => {
      started = await stack.startWorkers(workers, concurrency);
      const pids = Object.fromEntries(started.map((w, i) => [`worker${i + 1}`, w.pid]));
      return withRss(pids, () => waitAllSucceeded(stack, ids, (d.scalingRounds + 60) * 1000));
    })();
    const rows = await stack.db.db
      .selectFrom('generations')
      .select(['started_at', 'completed_at', 'processing_time_ms'])
      .where('id', 'in', ids)
      .execute();
    const times = rows.map((r) => r.completed_at!.getTime()).sort((a, b) => a - b);
    const span = (times[total - 1]! - times[batch - 1]!) / 1000;
    return {
      result: {
        perSecond: (total - batch) / span,
        ideal: batch,
        processingMs: medianOf(rows.map((r) => r.processing_time_ms ?? Number.NaN)),
        cycleMs: medianOf(rows.map((r) => r.completed_at!.getTime() - r.started_at!.getTime())),
      },
      rss: measured.rss,
      cpu: measured.cpu,
    };
  } finally {
    await Promise.all(started.map((w) => w.stop()));
  }
}

// ---- 4K outputs --------------------------------------------------------------------

/** What the fake Gemini answers for the 4K row: 4096×4096 grey noise, a ~17 MB PNG (~22 MB of base64 in the answer). */
export const FOUR_K_IMAGE = { width: 4096, height: 4096, channels: 1 as const };

export interface FourKResult {
  count: number;
  /** Median stored output size (MB). */
  outputMb: number;
}

/**
 * SPEC §13: `count` concurrent 4K generations (gemini-3-pro-image-preview, imageSize 4K) through one
 * worker with that concurrency; the worker's peak RSS is the measurement.
 */
export async function fourK(stack: Stack, count: number): Promise<Measured<FourKResult>> {
  const body = JSON.stringify({ prompt: 'a 4K benchmark image', autoEnhance: false, model: 'gemini-3-pro-image-preview', imageSize: '4K', flowId: null });
  const [worker] = await stack.startWorkers(1, count);
  try {
    return await withRss({ worker: worker!.pid }, async () => {
      const ids = await Promise.all(Array.from({ length: count }, async () => (await postJson(`${stack.api.url}/api/v1/generations`, { 'x-api-key': stack.key }, body)).id));
      await waitAllSucceeded(stack, ids, 300_000);
      const rows = await stack.db.db
        .selectFrom('images')
        .innerJoin('generations', 'generations.output_image_id', 'images.id')
        .select('images.file_size')
        .where('generations.id', 'in', ids)
        .execute();
      return { count, outputMb: Math.round((medianOf(rows.map((r) => r.file_size)) / 1024 / 1024) * 10) / 10 };
    });
  } finally {
    await worker!.stop();
  }
}

// ---- queue pickup ----------------------------------------------------------------

/**
 * Milliseconds from the 202 reaching the client to the worker marking the row
 * `processing` (0 when the worker started before the 202 arrived), and from the
 * row's insert (`created_at`) to `started_at`.
 */
export async function pickup(stack: Stack, d: Durations): Promise<{ from202: number[]; fromInsert: number[] }> {
  const from202: number[] = [];
  const fromInsert: number[] = [];
  for (let i = 0; i < d.pickupSamples; i++) {
    const { id, at } = await submitOne(stack, false);
    await waitAllSucceeded(stack, [id], 30_000);
    const row = await stack.db.db.selectFrom('generations').select(['created_at', 'started_at']).where('id', '=', id).executeTakeFirstOrThrow();
    from202.push(Math.max(0, row.started_at!.getTime() - at));
    fromInsert.push(row.started_at!.getTime() - row.created_at.getTime());
  }
  return { from202, fromInsert };
}

// ---- memory during uploads ----------------------------------------------------------------

/** A PNG of incompressible pixels just under the 5 MB upload limit. */
async function fiveMbPng(): Promise<Buffer> {
  const width = 1280;
  const height = 1300;
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 1;
  for (let i = 0; i < pixels.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    pixels[i] = seed >>> 24;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
}

/** Peak API RSS during concurrent uploads; null when the upload route does not exist (404). */
export async function uploads(stack: Stack, d: Durations): Promise<Measured<{ bytes: number; statuses: number[] }> | null> {
  const png = await fiveMbPng();
  const send = async () => {
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'bench.png');
    const res = await fetch(`${stack.api.url}/api/v1/images/upload`, { method: 'POST', headers: { 'x-api-key': stack.key }, body: form });
    await res.arrayBuffer();
    return res.status;
  };
  if ((await send()) === 404) return null;
  return withRss({ api: stack.api.pid }, async () => {
    const statuses = await Promise.all(Array.from({ length: d.uploads }, send));
    return { bytes: png.length, statuses };
  });
}

// ---- a burst of anonymous variant misses ------------------------------------------------------

export interface VariantBurst {
  statuses: Record<string, number>;
  /** Slowest `/health` answer while the burst ran (ms). */
  healthMaxMs: number;
  /** Stored renditions of the image afterwards (rows and objects). */
  storedRows: number;
  storedObjects: number;
}

/**
 * `sizes` distinct variant URLs of one 1280×1300 upload from `connections`
 * anonymous clients at once (SPEC §11): the API must stay small and
 * responsive, and never store more renditions than CDN_VARIANTS_PER_IMAGE.
 */
export async function variantBurst(stack: Stack, sizes: number, connections: number): Promise<Measured<VariantBurst> | null> {
  const form = new FormData();
  form.append('file', new Blob([await fiveMbPng()], { type: 'image/png' }), 'variants.png');
  const uploaded = await fetch(`${stack.api.url}/api/v1/images/upload`, { method: 'POST', headers: { 'x-api-key': stack.key }, body: form });
  if (uploaded.status !== 201) return null;
  const image = ((await uploaded.json()) as { data: { id: string; url: string } }).data;
  const urls = Array.from({ length: sizes }, (_, i) => `${image.url}?w=${64 + i * 5}&h=${48 + i * 3}&fit=cover&format=webp`);
  return withRss({ api: stack.api.pid }, async () => {
    let healthMaxMs = 0;
    let bursting = true;
    const probe = (async () => {
      while (bursting) {
        const t0 = performance.now();
        await fetch(`${stack.api.url}/health`).then((r) => r.arrayBuffer());
        healthMaxMs = Math.max(healthMaxMs, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const statuses: Record<string, number> = {};
    let next = 0;
    const client = async () => {
      while (next < urls.length) {
        const res = await fetch(urls[next++]!);
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: connections }, client));
    bursting = false;
    await probe;
    const rows = await stack.db.db.selectFrom('image_variants').select((eb) => eb.fn.countAll<string>().as('n')).where('image_id', '=', image.id).executeTakeFirst();
    const dir = join(stack.storageDir, stack.projectId, 'variants', image.id);
    const storedObjects = await readdir(dir).then((f) => f.length, () => 0);
    return { statuses, healthMaxMs, storedRows: Number(rows?.n ?? 0), storedObjects };
  });
}
