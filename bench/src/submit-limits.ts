// Issue 15 (a): the submit row again with the project's operator limits on, so
// every submit's admission check does its real work (the limits row locked, the
// day's usage counted and written). Each run measures the bare baseline, the plain
// submit and the submit with limits back to back, the order rotating per run, so
// both submit rows are compared with the same baseline measurement.
import { sql } from 'kysely';
import type { Stack } from './stack.js';
import { submitBaseline, submitReal, type Durations, type Measured } from './scenarios.js';
import type { WrkResult } from './wrk.js';

/** High enough never to trip during a full bench (~10⁵ submits), low enough for the API's validation. */
export const LIMITS_ON = { generationsPerDay: 100_000_000, monthlyCostUsd: 1_000_000_000, maxConcurrency: 100_000 };
const LIMITS_OFF = { generationsPerDay: null, monthlyCostUsd: null, maxConcurrency: null };

export interface SubmitRun {
  baseline: Measured<WrkResult>;
  plain: Measured<WrkResult>;
  limits: Measured<WrkResult>;
}

type Side = keyof SubmitRun;
/** A Latin square: over three runs each side is measured first, second and third once. */
const ORDERS: Side[][] = [
  ['baseline', 'plain', 'limits'],
  ['plain', 'limits', 'baseline'],
  ['limits', 'baseline', 'plain'],
];

/** PUT /api/admin/projects/bench/bench/limits with the master key. */
async function putLimits(stack: Stack, masterKey: string, limits: object): Promise<void> {
  const res = await fetch(`${stack.api.url}/api/admin/projects/bench/bench/limits`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'x-api-key': masterKey },
    body: JSON.stringify(limits),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`PUT limits: ${res.status} ${body.slice(0, 500)}`);
}

/** The project's submits of today as the admission check counted them (project_usage_days). */
async function countedToday(stack: Stack): Promise<number> {
  const { rows } = await sql<{ n: string | null }>`
    SELECT max(generations) AS n FROM project_usage_days
    WHERE project_id = ${stack.projectId}::uuid AND day = (now() AT TIME ZONE 'UTC')::date`.execute(stack.db.db);
  return Number(rows[0]?.n ?? 0);
}

export async function submitRuns(stack: Stack, d: Durations, runs: number, log: (msg: string) => void): Promise<SubmitRun[]> {
  const masterKey = stack.createMasterKey();
  const measure: Record<Side, () => Promise<Measured<WrkResult>>> = {
    baseline: () => submitBaseline(stack, d),
    plain: () => submitReal(stack, d),
    limits: async () => {
      await putLimits(stack, masterKey, LIMITS_ON);
      const before = await countedToday(stack);
      try {
        const m = await submitReal(stack, d);
        // The measured run must have gone through the full admission check (it counts every admitted submit).
        const counted = (await countedToday(stack)) - before;
        if (counted < m.result.requests - m.result.errors) throw new Error(`submit with limits: ${m.result.requests} submits, ${counted} counted by the admission check`);
        log(`submit with limits: the admission check counted ${counted} submits`);
        return m;
      } finally {
        await putLimits(stack, masterKey, LIMITS_OFF);
      }
    },
  };
  const out: SubmitRun[] = [];
  for (let i = 0; i < runs; i++) {
    const order = ORDERS[i % ORDERS.length]!;
    log(`submit: run ${i + 1}/${runs} (${order.join(', ')})`);
    const run: Partial<SubmitRun> = {};
    for (const side of order) run[side] = await measure[side]();
    out.push(run as SubmitRun);
  }
  return out;
}
