// SPEC §14 (issue 17): several API and worker processes on one stack (one
// database, one Redis prefix, one fake Gemini), submits spread over the APIs;
// afterwards PostgreSQL, the fake's recorded calls, the storage directory and
// BullMQ must show every generation done exactly once.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { sampleRss, type Child } from './procs.js';
import { median, type Row } from './report.js';
import { startStack, type Stack } from './stack.js';

export interface FleetSize {
  apis: number;
  workers: number;
  /** WORKER_CONCURRENCY of each worker (the service's default). */
  concurrency: number;
  submits: number;
}

export const FLEET_FULL: FleetSize = { apis: 4, workers: 8, concurrency: 4, submits: 5000 };
export const FLEET_QUICK: FleetSize = { apis: 2, workers: 2, concurrency: 4, submits: 200 };

/** The fake Gemini's answer delay: short, so the run is about the fleet, yet jobs overlap on every worker. */
export const FLEET_GEMINI_DELAY_MS = 50;
/** Client connections submitting at once (keep-alive), spread round-robin over the APIs. */
const SUBMIT_CONNECTIONS = 32;
/**
 * DATABASE_POOL_MAX of every process: 12 processes × 4 stay well under PostgreSQL's default
 * max_connections of 100 (shared with whatever else runs), which the defaults (20 per API,
 * concurrency + 2 per worker: 128) would not. A job holds a connection only for its two statements.
 */
const FLEET_POOL_MAX = '4';
/** Waiting ends when nothing moved for this long: what is still not done by then counts as lost. */
const STALL_MS = 60_000;
const TERMINAL = ['success', 'failed', 'cancelled'];
/** BullMQ states a finished queue has no job in. */
const UNFINISHED_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed'] as const;

export interface FleetResult {
  size: FleetSize;
  jobsPerSecond: number;
  /** Submits answered 202. */
  accepted: number;
  submitErrors: string[];
  /** Generations by final status (`pending`/`processing` when never finished). */
  statuses: Record<string, number>;
  /** Submitted generations that did not end in `success`. */
  lost: number;
  /** Image-model calls beyond one per generation (a generation run twice), and generations no call was made for. */
  duplicateCalls: number;
  uncalled: number;
  providerCalls: number;
  imageRows: number;
  distinctOutputs: number;
  storedObjects: number;
  /** Outputs whose storage key has no object. */
  missingObjects: number;
  leftInQueue: Record<string, number>;
  /** Distinct error messages of generations that failed (a few). */
  failures: string[];
  rssPeakMb: { api: number; worker: number };
}

/** No loss, no duplicate: what the row's pass means. */
export function fleetClean(r: FleetResult): boolean {
  const n = r.size.submits;
  return (
    r.submitErrors.length === 0 &&
    r.lost === 0 &&
    r.duplicateCalls === 0 &&
    r.uncalled === 0 &&
    r.providerCalls === n &&
    r.imageRows === n &&
    r.distinctOutputs === n &&
    r.storedObjects === n &&
    r.missingObjects === 0 &&
    Object.values(r.leftInQueue).every((count) => count === 0)
  );
}

export function fleetNote(r: FleetResult): string {
  const left = Object.entries(r.leftInQueue).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`);
  const parts = [
    `lost ${r.lost}, duplicates ${r.duplicateCalls}`,
    `${r.statuses.success ?? 0} success, ${r.providerCalls} provider calls, ${r.imageRows} images, ${r.distinctOutputs} distinct outputs, ${r.storedObjects} objects`,
    left.length ? `left in BullMQ: ${left.join(', ')}` : '0 jobs left in BullMQ',
  ];
  if (r.uncalled) parts.push(`${r.uncalled} never sent to the provider`);
  if (r.missingObjects) parts.push(`${r.missingObjects} outputs without an object`);
  if (r.submitErrors.length) parts.push(`${r.submitErrors.length} submits failed (${r.submitErrors[0]})`);
  const other = Object.entries(r.statuses).filter(([status]) => status !== 'success');
  if (other.length) parts.push(`statuses: ${other.map(([status, n]) => `${n} ${status}`).join(', ')}`);
  if (r.failures.length) parts.push(`errors: ${r.failures.join(' | ')}`);
  return parts.join('; ');
}

const promptOf = (i: number) => `fleet generation ${i} of a benchmark`;
const PROMPT_NUMBER = /fleet generation (\d+) of a benchmark/;

/** Submits `count` generations from SUBMIT_CONNECTIONS concurrent clients, generation i to API i mod N. */
async function submitSpread(apis: Array<{ url: string }>, key: string, count: number): Promise<{ accepted: number; errors: string[] }> {
  let next = 0;
  let accepted = 0;
  const errors: string[] = [];
  const client = async () => {
    while (next < count) {
      const i = next++;
      try {
        const res = await fetch(`${apis[i % apis.length]!.url}/api/v1/generations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key },
          body: JSON.stringify({ prompt: promptOf(i), autoEnhance: false }),
        });
        const text = await res.text();
        if (res.status === 202) accepted++;
        else errors.push(`#${i}: ${res.status} ${text.slice(0, 200)}`);
      } catch (err) {
        errors.push(`#${i}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SUBMIT_CONNECTIONS, count) }, client));
  return { accepted, errors };
}

async function statusCounts(stack: Stack): Promise<Record<string, number>> {
  const rows = await stack.db.db
    .selectFrom('generations')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/**
 * Polls `read` until `done` holds, or until its answer has not changed for STALL_MS
 * (then the last answer is returned: the caller reports what is missing).
 */
async function untilSettled<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let last = await read();
  let lastChange = Date.now();
  while (!done(last) && Date.now() - lastChange < STALL_MS) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await read();
    if (JSON.stringify(now) !== JSON.stringify(last)) lastChange = Date.now();
    last = now;
  }
  return last;
}

async function queueCounts(stack: Stack): Promise<Record<string, number>> {
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('generations', { connection: redis, prefix: stack.prefix });
  try {
    return await untilSettled(
      () => queue.getJobCounts(...UNFINISHED_STATES),
      (counts) => Object.values(counts).every((n) => n === 0),
    );
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** Image-model calls the fake Gemini received, per generation number. */
async function providerCalls(stack: Stack): Promise<{ total: number; perGeneration: Map<number, number> }> {
  const res = await fetch(`${stack.fakeGeminiUrl}/__control/requests`);
  const requests = (await res.json()) as Array<{ model: string; text: string }>;
  const images = requests.filter((r) => r.model.toLowerCase().includes('image'));
  const perGeneration = new Map<number, number>();
  for (const r of images) {
    const m = PROMPT_NUMBER.exec(r.text);
    if (m) perGeneration.set(Number(m[1]), (perGeneration.get(Number(m[1])) ?? 0) + 1);
  }
  return { total: images.length, perGeneration };
}

/** Stored objects directly in the project's directory (variants live in a subdirectory). */
async function storedObjects(stack: Stack): Promise<Set<string>> {
  const entries = await readdir(join(stack.storageDir, stack.projectId), { withFileTypes: true }).catch(() => []);
  return new Set(entries.filter((e) => e.isFile()).map((e) => `${stack.projectId}/${e.name}`));
}

async function failureMessages(stack: Stack): Promise<string[]> {
  const rows = await sql<{ message: string }>`
    SELECT DISTINCT coalesce(error_code, '') || ' ' || coalesce(error_message, '') AS message
    FROM generations WHERE status = 'failed' LIMIT 3`.execute(stack.db.db);
  return rows.rows.map((r) => r.message);
}

async function outputKeys(stack: Stack): Promise<{ imageRows: number; keys: string[] }> {
  const images = await stack.db.db.selectFrom('images').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  const outputs = await sql<{ storage_key: string }>`
    SELECT i.storage_key FROM generations g JOIN images i ON i.id = g.output_image_id WHERE g.status = 'success'`.execute(stack.db.db);
  return { imageRows: Number(images.n), keys: outputs.rows.map((r) => r.storage_key) };
}

function peakOf(peaks: Record<string, number>, prefix: string): number {
  return Math.round(Math.max(0, ...Object.entries(peaks).filter(([name]) => name.startsWith(prefix)).map(([, mb]) => mb)));
}

/** One fleet run on a stack of its own (fresh database, prefix and fake Gemini, so every count is this run's). */
export async function runFleet(size: FleetSize, log: (msg: string) => void): Promise<FleetResult> {
  const stack = await startStack({ serviceEnv: { DATABASE_POOL_MAX: FLEET_POOL_MAX } });
  try {
    await stack.setGemini({ kind: 'image', delayMs: FLEET_GEMINI_DELAY_MS });
    const apis = [stack.api, ...(await Promise.all(Array.from({ length: size.apis - 1 }, () => stack.startApi())))];
    const workers: Child[] = await stack.startWorkers(size.workers, size.concurrency);
    log(`fleet: ${apis.length} APIs and ${workers.length} workers up; ${size.submits} submits`);
    const pids = Object.fromEntries([...apis.map((a, i) => [`api${i}`, a.pid]), ...workers.map((w, i) => [`worker${i}`, w.pid])]);
    const rss = sampleRss(pids, 200);

    const started = Date.now();
    const { accepted, errors } = await submitSpread(apis, stack.key, size.submits);
    const statuses = await untilSettled(
      () => statusCounts(stack),
      (counts) => TERMINAL.reduce((sum, status) => sum + (counts[status] ?? 0), 0) >= accepted,
    );
    const finished = await stack.db.db.selectFrom('generations').select((eb) => eb.fn.max('completed_at').as('last')).executeTakeFirstOrThrow();
    const leftInQueue = await queueCounts(stack);
    const peaks = rss.stop();

    const calls = await providerCalls(stack);
    const { imageRows, keys } = await outputKeys(stack);
    const objects = await storedObjects(stack);
    let duplicateCalls = 0;
    let uncalled = 0;
    for (let i = 0; i < size.submits; i++) {
      const n = calls.perGeneration.get(i) ?? 0;
      if (n === 0) uncalled++;
      duplicateCalls += Math.max(0, n - 1);
    }
    const success = statuses.success ?? 0;
    const lastMs = finished.last ? new Date(finished.last as Date).getTime() : Date.now();
    return {
      size,
      jobsPerSecond: success / ((lastMs - started) / 1000),
      accepted,
      submitErrors: errors,
      statuses,
      lost: size.submits - success,
      // Calls the numbering cannot place (a prompt changed on the way) count as duplicates too.
      duplicateCalls: duplicateCalls + (calls.total - [...calls.perGeneration.values()].reduce((a, b) => a + b, 0)),
      uncalled,
      providerCalls: calls.total,
      imageRows,
      distinctOutputs: new Set(keys).size,
      storedObjects: objects.size,
      missingObjects: keys.filter((k) => !objects.has(k)).length,
      leftInQueue,
      failures: await failureMessages(stack),
      rssPeakMb: { api: peakOf(peaks, 'api'), worker: peakOf(peaks, 'worker') },
    };
  } catch (err) {
    log(`fleet failed; last API logs:\n${stack.api.logs.slice(-20).join('\n')}`);
    throw err;
  } finally {
    await stack.close();
  }
}

/** Row `fleet.throughput`: `runs` fleet runs (each on a fresh stack); fails on any loss or duplicate in any run. */
export async function measureFleet(size: FleetSize, runs: number, log: (msg: string) => void): Promise<Row> {
  const results: FleetResult[] = [];
  for (let i = 0; i < runs; i++) {
    log(`fleet: run ${i + 1}/${runs}`);
    const r = await runFleet(size, log);
    log(`fleet: ${r.jobsPerSecond.toFixed(1)} jobs/s; ${fleetNote(r)}; peak RSS API ${r.rssPeakMb.api} MB, worker ${r.rssPeakMb.worker} MB`);
    results.push(r);
  }
  const failed = results.find((r) => !fleetClean(r));
  return {
    id: 'fleet.throughput',
    label: `fleet: ${size.apis} APIs + ${size.workers} workers × ${size.concurrency}, ${size.submits} submits, ${FLEET_GEMINI_DELAY_MS} ms Gemini`,
    unit: 'jobs/s',
    value: median(results.map((r) => r.jobsPerSecond)),
    baseline: null,
    ratio: null,
    target: 'no loss, no duplicate',
    pass: !failed,
    note: fleetNote(failed ?? results[0]!),
    runs: results.map((r) => ({ value: r.jobsPerSecond })),
  };
}
