// Issue 15 (a): the submit row again with the project's operator limits on, so
// every submit's admission check does its real work (the limits row locked, the
// day's usage counted and written). Each run measures the bare baseline, the plain
// submit and the submit with limits back to back, the order rotating per run, so
// both submit rows are compared with the same baseline measurement.
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

export async function submitRuns(stack: Stack, d: Durations, runs: number, log: (msg: string) => void): Promise<SubmitRun[]> {
  const masterKey = stack.createMasterKey();
  const measure: Record<Side, () => Promise<Measured<WrkResult>>> = {
    baseline: () => submitBaseline(stack, d),
    plain: () => submitReal(stack, d),
    limits: async () => {
      await putLimits(stack, masterKey, LIMITS_ON);
      try {
        return await submitReal(stack, d);
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
