// `npm run bench [-- --quick] [-- --runs N] [-- --out DIR]`
// Measures the service against bare baselines run back to back in the same
// invocation, prints one table, writes results.json and BENCHMARKS.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, setInterruptCleanup, stopAll, type Child, type CpuTime } from './procs.js';
import { benchmarksMarkdown, describeMachine, median, percentile, textTable, type Results, type Row } from './report.js';
import * as s from './scenarios.js';
import { FLEET_FULL, FLEET_QUICK, measureFleet } from './fleet.js';
import { benchRedisCluster, type BenchRedisCluster } from './redis-cluster.js';
import { startStack, type Stack } from './stack.js';
import { submitRuns, type SubmitRun } from './submit-limits.js';
import { fairDispatchPipeline } from './fair-dispatch.js';
import { fairness, fairnessRow, FAIRNESS_FULL, FAIRNESS_QUICK } from './fairness.js';
import { ensureWrk, type WrkResult } from './wrk.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    out: { type: 'string' },
    /** Seconds per wrk measurement (overrides the mode's default). */
    seconds: { type: 'string' },
    /** Writes V8 CPU profiles of the API and workers (node --cpu-prof) into this directory. */
    profile: { type: 'string' },
    /** Comma-separated sections to run (submit,pickup,poll,live,pipeline,scaling,fairness,uploads,variants,4k,fleet); default all. */
    only: { type: 'string' },
    /** Re-renders BENCHMARKS.md from an existing results.json (after editing bench/NOTES.md); measures nothing. */
    render: { type: 'string' },
    /**
     * REDIS_CLUSTER_NODES of a Redis Cluster: the scaling rows run again on a second stack on it, each run
     * beside the single-Redis one. Default: the suite's (scripts/lib.sh ensure_redis_cluster, ports
     * 17101–17103), started when not running and stopped afterwards; in quick mode only one already running.
     */
    'redis-cluster': { type: 'string' },
    /** The scaling rows on the single Redis only. */
    'no-redis-cluster': { type: 'boolean', default: false },
  },
});
const quick = args.quick!;
const runs = Number(args.runs ?? (quick ? 1 : 3));
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${args.runs}`);
// Quick mode must not overwrite the committed numbers unless asked to.
const outDir = resolve(ROOT, args.out ?? (quick ? 'bench/quick' : 'bench'));
const markdownPath = args.out || quick ? join(outDir, 'BENCHMARKS.md') : join(ROOT, 'BENCHMARKS.md');

const durations: s.Durations = quick
  ? { wrkSeconds: 1, warmupSeconds: 0, connections: 50, pipelineJobs: 20, scalingRounds: 2, pickupSamples: 5, uploads: 4 }
  : { wrkSeconds: 8, warmupSeconds: 2, connections: 50, pipelineJobs: 300, scalingRounds: 4, pickupSamples: 40, uploads: 20 };

if (args.seconds) durations.wrkSeconds = Number(args.seconds);
const only = args.only ? new Set(args.only.split(',')) : null;
const want = (section: string) => !only || only.has(section);

const SCALING_POINTS = [
  [1, 8],
  [1, 32],
  [2, 8],
  [2, 32],
] as const;

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** CPU per request or job of each measured process: the steadiest number to compare two builds on a busy machine. */
function logCpu(load: string, unit: string, count: number, cpu: Record<string, CpuTime>): void {
  const us = (ms: number) => ((ms * 1000) / count).toFixed(0);
  const perUnit = Object.entries(cpu).map(([name, t]) => `${name} ${us(t.userMs)} µs user + ${us(t.systemMs)} µs system`);
  log(`${load}: CPU per ${unit}: ${perUnit.join(', ')}`);
}

/** rss peaks collected per load: name → MB. */
const peaks = new Map<string, number>();
function keepPeak(name: string, mb: number | undefined): void {
  if (mb !== undefined) peaks.set(name, Math.max(peaks.get(name) ?? 0, mb));
}
function workerPeak(rss: Record<string, number>): number | undefined {
  const w = Object.entries(rss).filter(([k]) => k.startsWith('worker'));
  return w.length ? Math.max(...w.map(([, v]) => v)) : undefined;
}

/** Runs baseline and real back to back `runs` times, alternating which goes first. */
async function paired<T>(name: string, baseline: () => Promise<T>, real: () => Promise<T>): Promise<Array<{ real: T; baseline: T }>> {
  const out: Array<{ real: T; baseline: T }> = [];
  for (let i = 0; i < runs; i++) {
    log(`${name}: run ${i + 1}/${runs}`);
    if (i % 2 === 0) {
      const b = await baseline();
      out.push({ baseline: b, real: await real() });
    } else {
      const r = await real();
      out.push({ real: r, baseline: await baseline() });
    }
  }
  return out;
}

function ratioRow(id: string, label: string, unit: string, min: number, pairs: Array<{ real: number; baseline: number }>, note?: string): Row {
  const runsOut = pairs.map((p) => ({ value: p.real, baseline: p.baseline, ratio: p.real / p.baseline }));
  const ratio = median(runsOut.map((r) => r.ratio));
  return {
    id,
    label,
    unit,
    value: median(runsOut.map((r) => r.value)),
    baseline: median(runsOut.map((r) => r.baseline)),
    ratio,
    target: `≥ ${min}× baseline`,
    pass: ratio >= min,
    note,
    runs: runsOut,
  };
}

function limitRow(id: string, label: string, unit: string, values: number[], max: number | null, baselines?: number[]): Row {
  const value = median(values);
  return {
    id,
    label,
    unit,
    value,
    baseline: baselines ? median(baselines) : null,
    ratio: null,
    target: max === null ? '—' : `< ${max} ${unit}`,
    pass: max === null ? null : value < max,
    runs: values.map((v, i) => ({ value: v, ...(baselines ? { baseline: baselines[i] } : {}) })),
  };
}

function naRow(id: string, label: string, target: string, note: string): Row {
  return { id, label, unit: '', value: null, baseline: null, ratio: null, target, pass: null, note, runs: [] };
}

function wrkNote(pairs: Array<{ real: WrkResult; baseline: WrkResult }>): string | undefined {
  const errors = pairs.reduce((a, p) => a + p.real.errors, 0);
  const baseErrors = pairs.reduce((a, p) => a + p.baseline.errors, 0);
  if (!errors && !baseErrors) return undefined;
  return `non-2xx/socket errors: service ${errors}, baseline ${baseErrors}`;
}

/** Paired wrk runs of one HTTP row; keeps the API's peak RSS under `load`. */
async function pairedWrk(
  stack: Stack,
  load: string,
  baseline: () => Promise<s.Measured<WrkResult>>,
  real: () => Promise<s.Measured<WrkResult>>,
): Promise<Array<{ real: WrkResult; baseline: WrkResult }>> {
  const pairs = await paired(load, baseline, real);
  for (const p of pairs) {
    keepPeak(`api:${load}`, p.real.rss.api);
    logCpu(load, 'request', p.real.result.requests, p.real.cpu);
    logCpu(`${load} baseline`, 'request', p.baseline.result.requests, p.baseline.cpu);
  }
  log(`${load}: API memory after the row: ${await s.apiMemory(stack)}`);
  return pairs.map((p) => ({ real: p.real.result, baseline: p.baseline.result }));
}

const rpsPairs = (pairs: Array<{ real: WrkResult; baseline: WrkResult }>) => pairs.map((p) => ({ real: p.real.rps, baseline: p.baseline.rps }));

async function measureHttp(stack: Stack, rows: Row[]): Promise<void> {
  if (!want('submit')) return;
  const measured = await submitRuns(stack, durations, runs, log);
  for (const r of measured) {
    for (const side of ['plain', 'limits'] as const) {
      keepPeak('api:submit', r[side].rss.api);
      logCpu(side === 'plain' ? 'submit' : 'submit with limits', 'request', r[side].result.requests, r[side].cpu);
    }
    logCpu('submit baseline', 'request', r.baseline.result.requests, r.baseline.cpu);
  }
  log(`submit: API memory after the row: ${await s.apiMemory(stack)}`);
  const sub = measured.map((r) => ({ real: r.plain.result, baseline: r.baseline.result }));
  const limited = measured.map((r) => ({ real: r.limits.result, baseline: r.baseline.result }));
  rows.push(
    ratioRow('submit.rps', 'submit POST /generations (50 conns)', 'req/s', 0.5, rpsPairs(sub), wrkNote(sub)),
    limitRow('submit.p50', 'submit p50 latency', 'ms', sub.map((p) => p.real.p50Ms), null, sub.map((p) => p.baseline.p50Ms)),
    limitRow('submit.p99', 'submit p99 latency', 'ms', sub.map((p) => p.real.p99Ms), 50, sub.map((p) => p.baseline.p99Ms)),
    submitLimitsRow(ratioRow('submit.limits', 'submit with project limits on (same baseline)', 'req/s', 0.5, rpsPairs(limited), wrkNote(limited)), measured),
  );
  await s.clearSubmitted(stack);
}

/**
 * Issue 15: "the submit row with limits and usage switched on stays within 10 % of today's", today's being
 * the submit row before limits and usage existed: 0.51 of its baseline (d990cbb, 2026-12-07, this machine).
 * The note also gives limits ÷ plain submit of the same runs (the plain submit has since become faster).
 */
const SUBMIT_RATIO_BEFORE_LIMITS = 0.51;
function submitLimitsRow(row: Row, measured: SubmitRun[]): Row {
  const vsPlain = median(measured.map((r) => r.limits.result.rps / r.plain.result.rps));
  const bar = Math.round(SUBMIT_RATIO_BEFORE_LIMITS * 0.9 * 100) / 100;
  row.target = `≥ ${bar}× baseline (within 10 % of ${SUBMIT_RATIO_BEFORE_LIMITS}, the submit row before limits)`;
  row.pass = row.ratio === null ? null : row.ratio >= bar;
  row.note = [`${vsPlain.toFixed(2)}× the plain submit, p99 ${median(measured.map((r) => r.limits.result.p99Ms)).toFixed(0)} ms`, row.note].filter(Boolean).join('; ');
  return row;
}

async function measureWithWorkers(stack: Stack, rows: Row[]): Promise<void> {
  await stack.setGemini({ kind: 'image', noise: s.NOISE_IMAGE });
  const [worker] = await stack.startWorkers(1, 8);
  const baselineWorker = await stack.startBaselineWorker(8);
  try {
    const pickups: Array<{ from202: number[]; fromInsert: number[] }> = [];
    for (let i = 0; i < (want('pickup') ? runs : 0); i++) {
      log(`queue pickup: run ${i + 1}/${runs}`);
      pickups.push(await s.pickup(stack, durations));
    }
    if (want('pickup')) {
      rows.push(
        limitRow('pickup.p50', 'queue pickup p50 (202 → processing)', 'ms', pickups.map((p) => percentile(p.from202, 50)), 10),
        limitRow('pickup.p99', 'queue pickup p99 (202 → processing)', 'ms', pickups.map((p) => percentile(p.from202, 99)), null),
        limitRow('pickup.insert.p50', 'row insert → processing p50', 'ms', pickups.map((p) => percentile(p.fromInsert, 50)), null),
      );
    }

    if (want('poll')) await measurePoll(stack, rows);
    if (want('live')) await measureLive(stack, rows);
    if (want('pipeline')) await measurePipeline(stack, rows, worker!, baselineWorker);
  } finally {
    await Promise.all([worker!.stop(), baselineWorker.stop()]);
  }
}

async function measurePoll(stack: Stack, rows: Row[]): Promise<void> {
  const pollId = await s.oneSucceeded(stack);
  const pl = await pairedWrk(
    stack,
    'poll',
    () => s.pollBaseline(stack, durations, pollId),
    () => s.pollReal(stack, durations, pollId),
  );
  rows.push(ratioRow('poll.rps', 'poll GET /generations/:id', 'req/s', 0.6, rpsPairs(pl), wrkNote(pl)));
}

async function measureLive(stack: Stack, rows: Row[]): Promise<void> {
  const liveBytes = await s.warmLive(stack);
  if (!liveBytes) {
    rows.push(naRow('live.rps', 'live HIT (~200 KB image)', '≥ 0.7× baseline', 'live URLs not available'));
  } else {
    const lv = await pairedWrk(
      stack,
      'live',
      () => s.liveBaseline(stack, durations),
      () => s.liveReal(stack, durations),
    );
    rows.push(ratioRow('live.rps', `live HIT (${Math.round(liveBytes.length / 1024)} KB image)`, 'req/s', 0.7, rpsPairs(lv), wrkNote(lv)));
  }
}

async function measurePipeline(stack: Stack, rows: Row[], worker: Child, baselineWorker: Child): Promise<void> {
  const pipe = await paired(
    'pipeline',
    () => s.pipeline(stack, durations, true, { worker: baselineWorker.pid }),
    () => s.pipeline(stack, durations, false, { worker: worker.pid }),
  ).catch((err: unknown) => {
    log(`pipeline failed; baseline worker logs:\n${baselineWorker.logs.slice(-20).join('\n')}\nworker logs:\n${worker.logs.slice(-10).join('\n')}`);
    throw err;
  });
  for (const p of pipe) {
    keepPeak('api:pipeline', p.real.rss.api);
    keepPeak('worker:pipeline', p.real.rss.worker);
    logCpu('pipeline', 'job', durations.pipelineJobs, p.real.cpu);
    logCpu('pipeline baseline', 'job', durations.pipelineJobs, p.baseline.cpu);
  }
  const kb = await s.outputImageKb(stack);
  rows.push(
    ratioRow('pipeline.gps', 'pipeline incl. fair dispatch vs plain BullMQ, zero-latency Gemini (1 worker × 8)', 'gen/s', 0.4, pipe.map((p) => ({ real: p.real.result, baseline: p.baseline.result })), `${kb} KB images`),
    await measureFairDispatch(stack, baselineWorker),
  );
}

/** Issue 15: the bare pipeline with fair dispatch ÷ the same with plain `queue.add`; no target of its own (the goal is pipeline ≥ 0.4). */
async function measureFairDispatch(stack: Stack, baselineWorker: Child): Promise<Row> {
  const pids = { worker: baselineWorker.pid };
  const pairs = await paired(
    'pipeline.fair-dispatch',
    () => s.pipeline(stack, durations, true, pids),
    () => fairDispatchPipeline(stack, durations, pids),
  );
  for (const p of pairs) {
    logCpu('pipeline.fair-dispatch', 'job', durations.pipelineJobs, p.real.cpu);
    logCpu('pipeline.fair-dispatch plain', 'job', durations.pipelineJobs, p.baseline.cpu);
  }
  const row = ratioRow('pipeline.fair-dispatch', 'bare pipeline, fair dispatch vs plain queue.add', 'gen/s', 0, pairs.map((p) => ({ real: p.real.result, baseline: p.baseline.result })));
  row.target = '— (part of pipeline ≥ 0.4)';
  row.pass = null;
  row.note = 'the scheduler\'s cost alone';
  return row;
}

type ScalingPoint = s.ScalingResult;

async function scalingPoint(stack: Stack, workers: number, concurrency: number): Promise<ScalingPoint> {
  const m = await s.scaling(stack, durations, workers, concurrency);
  keepPeak('worker:scaling', workerPeak(m.rss));
  return m.result;
}

function scalingRow(id: string, label: string, points: ScalingPoint[]): Row {
  const row = ratioRow(id, label, 'gen/s', 0.9, points.map((p) => ({ real: p.perSecond, baseline: p.ideal })));
  row.target = '≥ 0.9× ideal N×C/1 s';
  row.note = `median job ${Math.round(median(points.map((p) => p.cycleMs)))} ms, of which provider call ${Math.round(median(points.map((p) => p.processingMs)))} ms`;
  return row;
}

/** A scaling point on the Redis Cluster against the single Redis of the same runs (issue 17's goal: within 10 %). */
function clusterRow(id: string, label: string, onCluster: ScalingPoint[], single: ScalingPoint[]): Row {
  const row = ratioRow(id, label, 'gen/s', 0.9, onCluster.map((p, i) => ({ real: p.perSecond, baseline: single[i]!.perSecond })));
  row.target = '≥ 0.9× single Redis';
  const vsIdeal = median(onCluster.map((p) => p.perSecond / p.ideal));
  row.note = `${vsIdeal.toFixed(2)}× ideal; ${scalingRow(id, label, onCluster).note}`;
  return row;
}

/** The scaling rows; with a cluster stack, each run again on the Redis Cluster right beside it (order alternating). */
async function measureScaling(stack: Stack, rows: Row[], cluster?: Stack): Promise<void> {
  if (!want('scaling')) return;
  for (const st of [stack, cluster]) await st?.setGemini({ kind: 'image', delayMs: 1000, noise: s.NOISE_IMAGE });
  for (const [workers, concurrency] of SCALING_POINTS) {
    const single: ScalingPoint[] = [];
    const onCluster: ScalingPoint[] = [];
    for (let i = 0; i < runs; i++) {
      log(`scaling ${workers}×${concurrency}: run ${i + 1}/${runs}`);
      if (cluster && i % 2 === 1) onCluster.push(await scalingPoint(cluster, workers, concurrency));
      single.push(await scalingPoint(stack, workers, concurrency));
      if (cluster && i % 2 === 0) onCluster.push(await scalingPoint(cluster, workers, concurrency));
    }
    const label = `scaling, 1 s Gemini, ${workers} worker${workers > 1 ? 's' : ''} × ${concurrency}`;
    rows.push(scalingRow(`scaling.${workers}x${concurrency}`, label, single));
    if (!cluster) continue;
    rows.push(clusterRow(`scaling.cluster.${workers}x${concurrency}`, `${label}, Redis Cluster`, onCluster, single));
  }
}

async function measureFairness(stack: Stack, rows: Row[]): Promise<void> {
  if (!want('fairness')) return;
  const options = quick ? FAIRNESS_QUICK : FAIRNESS_FULL;
  rows.push(fairnessRow(await fairness(stack, options, runs, log), options));
}

const FOUR_K_CONCURRENCY = 8;

async function measureFourK(stack: Stack, rows: Row[]): Promise<void> {
  if (!want('4k')) return;
  log(`4K: ${FOUR_K_CONCURRENCY} concurrent generations`);
  await stack.setGemini({ kind: 'image', noise: s.FOUR_K_IMAGE });
  const m = await s.fourK(stack, FOUR_K_CONCURRENCY);
  const row = limitRow('rss.worker.4k', `worker peak RSS, ${FOUR_K_CONCURRENCY} concurrent 4K generations (1 worker × ${FOUR_K_CONCURRENCY})`, 'MB', [m.rss.worker ?? 0], 1024);
  row.note = `${m.result.outputMb} MB PNG each`;
  rows.push(row);
}

async function measureUploads(stack: Stack, rows: Row[]): Promise<void> {
  if (!want('uploads')) return;
  log('uploads');
  const m = await s.uploads(stack, durations);
  if (!m) {
    rows.push(naRow('rss.api.uploads', `API peak RSS, ${durations.uploads} concurrent 5 MB uploads`, '< 500 MB', 'upload route not available'));
    return;
  }
  const row = limitRow('rss.api.uploads', `API peak RSS, ${durations.uploads} concurrent 5 MB uploads`, 'MB', [m.rss.api ?? 0], 500);
  const bad = m.result.statuses.filter((st) => st !== 201);
  if (bad.length) row.note = `upload statuses: ${[...new Set(m.result.statuses)].join(', ')}`;
  rows.push(row);
}

/** SPEC §11: a burst of anonymous variant misses (200 distinct sizes, 50 connections) on one image. */
const VARIANT_SIZES = 200;
/** The API's default CDN_VARIANTS_PER_IMAGE. */
const VARIANT_CAP = 16;

async function measureVariants(stack: Stack, rows: Row[]): Promise<void> {
  if (!want('variants')) return;
  log('variants');
  const label = `${VARIANT_SIZES} distinct variant misses, ${durations.connections} conns`;
  const m = await s.variantBurst(stack, VARIANT_SIZES, durations.connections);
  if (!m) {
    rows.push(naRow('variants.rss', `API peak RSS, ${label}`, '< 400 MB', 'upload route not available'));
    return;
  }
  const statuses = Object.entries(m.result.statuses).map(([st, n]) => `${n}× ${st}`).join(', ');
  const rss = limitRow('variants.rss', `API peak RSS, ${label}`, 'MB', [m.rss.api ?? 0], 400);
  rss.note = statuses;
  rows.push(rss);
  rows.push(limitRow('variants.health', `/health slowest answer during the variant burst`, 'ms', [m.result.healthMaxMs], 100));
  const stored = Math.max(m.result.storedRows, m.result.storedObjects);
  const cap = limitRow('variants.stored', 'stored variants after the burst (rows, objects)', 'variants', [stored], VARIANT_CAP + 1);
  cap.target = `≤ ${VARIANT_CAP}`;
  cap.note = `${m.result.storedRows} rows, ${m.result.storedObjects} objects`;
  rows.push(cap);
}

function memoryRows(): Row[] {
  const rows: Row[] = [];
  for (const load of ['submit', 'poll', 'live', 'pipeline']) {
    const mb = peaks.get(`api:${load}`);
    rows.push(mb === undefined ? naRow(`rss.api.${load}`, `API peak RSS under ${load}`, '< 250 MB', load === 'live' ? 'live URLs not available' : 'not measured') : limitRow(`rss.api.${load}`, `API peak RSS under ${load}`, 'MB', [mb], 250));
  }
  for (const load of ['pipeline', 'scaling']) {
    const mb = peaks.get(`worker:${load}`);
    rows.push(mb === undefined ? naRow(`rss.worker.${load}`, `worker peak RSS under ${load}`, '—', 'not measured') : limitRow(`rss.worker.${load}`, `worker peak RSS under ${load}`, 'MB', [mb], null));
  }
  return rows;
}

const NOTES_FILE = join(ROOT, 'bench/NOTES.md');

async function main(): Promise<void> {
  ensureWrk(log);
  const machine = describeMachine();
  const date = new Date().toISOString();
  log(`starting the stack (${quick ? 'quick' : 'full'} mode, ${runs} run(s))`);
  const stack = await startStack({ profileDir: args.profile ? resolve(args.profile) : undefined });
  setInterruptCleanup(() => stack.close());
  let cluster: Stack | undefined;
  let redisCluster: BenchRedisCluster | undefined;
  const rows: Row[] = [];
  try {
    redisCluster = want('scaling') ? benchRedisCluster({ nodes: args['redis-cluster'], disabled: args['no-redis-cluster']!, quick }) : undefined;
    if (redisCluster) {
      log(`starting a second stack on the Redis Cluster ${redisCluster.nodes}`);
      setInterruptCleanup(() => Promise.all([stack.close(), cluster?.close()]).then(() => redisCluster?.stop()));
      cluster = await startStack({ redisClusterNodes: redisCluster.nodes });
    }
    await measureHttp(stack, rows);
    if (['pickup', 'poll', 'live', 'pipeline'].some(want)) await measureWithWorkers(stack, rows);
    await measureScaling(stack, rows, cluster);
    await measureFairness(stack, rows);
    await measureUploads(stack, rows);
    await measureVariants(stack, rows);
    await measureFourK(stack, rows);
    if (want('fleet')) rows.push(await measureFleet(quick ? FLEET_QUICK : FLEET_FULL, runs, log));
    rows.push(...memoryRows());
  } catch (err) {
    log(`failed; last API logs:\n${stack.api.logs.slice(-20).join('\n')}`);
    throw err;
  } finally {
    setInterruptCleanup(undefined);
    await Promise.all([stack.close(), cluster?.close()]);
    redisCluster?.stop();
  }
  machine.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const results: Results = { date, command, mode: quick ? 'quick' : 'full', runs, machine, rows };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(markdownPath, benchmarksMarkdown(results, readFileSync(NOTES_FILE, 'utf8')));
  process.stdout.write(`${textTable(rows)}\n`);
  log(`wrote ${join(outDir, 'results.json')} and ${markdownPath}`);
  const fleet = rows.find((r) => r.id === 'fleet.throughput');
  if (fleet?.pass === false) throw new Error(`fleet: generations lost or duplicated (${fleet.note})`);
}

/** BENCHMARKS.md again from a results.json, with the current notes. */
function render(resultsFile: string): void {
  const results = JSON.parse(readFileSync(resolve(resultsFile), 'utf8')) as Results;
  writeFileSync(markdownPath, benchmarksMarkdown(results, readFileSync(NOTES_FILE, 'utf8')));
  process.stdout.write(`${textTable(results.rows)}\n`);
  log(`wrote ${markdownPath}`);
}

(args.render ? Promise.resolve().then(() => render(args.render!)) : main()).then(
  () => process.exit(0),
  async (err: unknown) => {
    log(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await stopAll();
    process.exit(1);
  },
);
