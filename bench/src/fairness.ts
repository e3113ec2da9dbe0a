// Issue 15 (b), SPEC §12 "Fairness": the start delay of a small project's jobs
// while a large project holds a backlog, against the same without the backlog.
// In both phases the large project A keeps every worker slot busy, so the only
// difference is A's queued backlog; the small project B submits one plain job
// every `gapMs`. Start delay = generations.started_at − created_at.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { percentile, median, type Row } from './report.js';
import { postJson, submitMany, SUBMIT_BODY } from './scenarios.js';
import type { Child } from './procs.js';
import type { Stack } from './stack.js';

export interface FairnessOptions {
  /** A's queued jobs in the "with backlog" phase. */
  backlog: number;
  /** B's jobs per phase. */
  samples: number;
  gapMs: number;
  /** The fake Gemini's answer delay. */
  geminiDelayMs: number;
  workers: number;
  concurrency: number;
}

export const FAIRNESS_FULL: FairnessOptions = { backlog: 2000, samples: 40, gapMs: 250, geminiDelayMs: 500, workers: 2, concurrency: 4 };
export const FAIRNESS_QUICK: FairnessOptions = { ...FAIRNESS_FULL, backlog: 200, samples: 6 };

export interface FairnessPhase {
  /** B's start delays (ms). */
  delays: number[];
  /** A's jobs still queued (pending) when B's last job had started. */
  aQueuedAtEnd: number;
  /** The longest of A's jobs that started while B was sampled (ms): a stall of every slot shows here, not in the scheduler. */
  aLongestJobMs: number;
}

/** started → completed of the project's longest job that started at or after `from`. */
async function longestJobMs(stack: Stack, projectId: string, from: Date): Promise<number> {
  const row = await stack.db.db
    .selectFrom('generations')
    .select(sql<number>`COALESCE(max(extract(epoch FROM completed_at - started_at) * 1000), 0)`.as('ms'))
    .where('project_id', '=', projectId)
    .where('started_at', '>=', from)
    .executeTakeFirstOrThrow();
  return Number(row.ms);
}

const UNFINISHED = ['pending', 'processing'] as const;
const POLL_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Project {
  key: string;
  projectId: string;
}

function submit(stack: Stack, key: string): Promise<string> {
  return postJson(`${stack.api.url}/api/v1/generations`, { 'x-api-key': key }, SUBMIT_BODY).then((r) => r.id);
}


async function countOf(stack: Stack, projectId: string, statuses: readonly string[]): Promise<number> {
  const row = await stack.db.db
    .selectFrom('generations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('project_id', '=', projectId)
    .where('status', 'in', statuses as never)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Keeps A at exactly `slots` unfinished generations (slots full, queue about empty) until stopped. */
function topUp(stack: Stack, a: Project, slots: number): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const missing = slots - (await countOf(stack, a.projectId, UNFINISHED));
      await Promise.all(Array.from({ length: Math.max(0, missing) }, () => submit(stack, a.key)));
      await sleep(POLL_MS);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Resolves once A's jobs fill every worker slot. */
async function untilSaturated(stack: Stack, a: Project, slots: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await countOf(stack, a.projectId, ['processing'])) < slots) {
    if (Date.now() > deadline) throw new Error(`fairness: A's jobs did not fill ${slots} worker slots within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

/** B's jobs, one every gapMs (a fixed schedule, not one after the other's answer). */
async function sampleSmallProject(stack: Stack, b: Project, o: FairnessOptions): Promise<string[]> {
  const started = performance.now();
  const ids: Promise<string>[] = [];
  for (let i = 0; i < o.samples; i++) {
    await sleep(Math.max(0, started + i * o.gapMs - performance.now()));
    ids.push(submit(stack, b.key));
  }
  return Promise.all(ids);
}

/** Longest wait for B's jobs to start: a scheduler that let the backlog go first would need minutes. */
const B_START_TIMEOUT_MS = 30_000;

/**
 * `started_at − created_at` of each job (ms) once all have started; a job still
 * waiting after `timeoutMs` counts with its wait so far, so a broken scheduler
 * shows up as a large ratio instead of a stalled bench.
 */
async function startDelays(stack: Stack, ids: string[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await stack.db.db
      .selectFrom('generations')
      .select(['created_at', 'started_at', sql<Date>`clock_timestamp()`.as('now')])
      .where('id', 'in', ids)
      .execute();
    const waiting = rows.filter((r) => r.started_at === null).length;
    if (!waiting || Date.now() > deadline) return rows.map((r) => (r.started_at ?? r.now).getTime() - r.created_at.getTime());
    await sleep(POLL_MS);
  }
}

/** Drops every queued job and unfinished row, so the next phase starts from an empty queue. */
async function clearQueue(stack: Stack): Promise<void> {
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  try {
    const queue = new Queue('generations', { connection: redis, prefix: stack.prefix });
    await queue.obliterate({ force: true });
    await queue.close();
  } finally {
    redis.disconnect();
  }
  await stack.db.db.deleteFrom('generations').where('status', 'in', [...UNFINISHED]).execute();
}

export async function fairnessPhase(stack: Stack, o: FairnessOptions, a: Project, b: Project, withBacklog: boolean): Promise<FairnessPhase> {
  const slots = o.workers * o.concurrency;
  if (withBacklog) await submitMany(o.backlog, () => submit(stack, a.key).then((id) => ({ id })), 32);
  let workers: Child[] = [];
  let filler: { stop(): Promise<void> } | undefined;
  try {
    workers = await stack.startWorkers(o.workers, o.concurrency);
    if (!withBacklog) filler = topUp(stack, a, slots);
    await untilSaturated(stack, a, slots);
    const sampledFrom = new Date();
    const ids = await sampleSmallProject(stack, b, o);
    const delays = await startDelays(stack, ids, B_START_TIMEOUT_MS);
    return {
      delays,
      aQueuedAtEnd: await countOf(stack, a.projectId, ['pending']),
      aLongestJobMs: await longestJobMs(stack, a.projectId, sampledFrom),
    };
  } finally {
    await filler?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await clearQueue(stack);
  }
}

export interface FairnessRun {
  withBacklog: FairnessPhase;
  without: FairnessPhase;
}

/** `runs` pairs of phases, the order alternating. */
export async function fairness(stack: Stack, o: FairnessOptions, runs: number, log: (msg: string) => void): Promise<FairnessRun[]> {
  await stack.setGemini({ kind: 'image', delayMs: o.geminiDelayMs });
  const a = { key: stack.key, projectId: stack.projectId };
  const b = stack.createKey('bench/small');
  const out: FairnessRun[] = [];
  for (let i = 0; i < runs; i++) {
    log(`fairness: run ${i + 1}/${runs}`);
    const phase = async (withBacklog: boolean) => {
      const p = await fairnessPhase(stack, o, a, b, withBacklog);
      const sorted = [...p.delays].sort((x, y) => x - y).map((ms) => ms.toFixed(0));
      log(`fairness: ${withBacklog ? 'with' : 'without'} backlog: B's p95 start delay ${percentile(p.delays, 95).toFixed(0)} ms (all: ${sorted.join(' ')}), A's queued jobs at the end ${p.aQueuedAtEnd}, A's longest job meanwhile ${p.aLongestJobMs.toFixed(0)} ms`);
      return p;
    };
    if (i % 2 === 0) {
      const without = await phase(false);
      out.push({ without, withBacklog: await phase(true) });
    } else {
      const withBacklog = await phase(true);
      out.push({ withBacklog, without: await phase(false) });
    }
  }
  return out;
}

/** p95(with backlog) ÷ p95(without): goal under 2. */
export function fairnessRow(runs: FairnessRun[], o: FairnessOptions): Row {
  const per = runs.map((r) => {
    const value = percentile(r.withBacklog.delays, 95);
    const baseline = percentile(r.without.delays, 95);
    return { value, baseline, ratio: value / baseline };
  });
  const ratio = median(per.map((r) => r.ratio));
  const value = median(per.map((r) => r.value));
  const baseline = median(per.map((r) => r.baseline));
  const left = Math.min(...runs.map((r) => r.withBacklog.aQueuedAtEnd));
  return {
    id: 'fairness',
    label: `small project's p95 start delay, another's ${o.backlog}-job backlog vs none (${o.workers} workers × ${o.concurrency}, ${o.geminiDelayMs} ms Gemini)`,
    unit: 'ms',
    value,
    baseline,
    ratio,
    target: '< 2× without backlog',
    pass: ratio < 2,
    note: `p95 ${value.toFixed(0)} ms with the backlog, ${baseline.toFixed(0)} ms without; ${o.samples} jobs per phase; backlog ≥ ${left} left`,
    runs: per,
  };
}
