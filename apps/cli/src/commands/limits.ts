// `limits show|set`: a project's limits (SPEC §12), straight in the database like `key` and `project`.
import { limitsService, systemClock, type LimitsView } from '@banatie/core';
import { defineCommand, LOCAL_GLOBALS, UsageError, type CommandGroup, print, printJson, type Io } from '@banatie/cli';
import { splitTarget, withDatabase } from './database.js';

function render(io: Io, target: string, v: LimitsView): void {
  const show = (n: number | null, unit = '') => (n === null ? 'unlimited' : `${n}${unit}`);
  print(
    io,
    [
      `Limits of ${target}`,
      `  generations per day: ${show(v.generationsPerDay)} (today: ${v.usage.generationsToday})`,
      `  monthly cost (USD): ${show(v.monthlyCostUsd)} (this month: ${v.usage.costUsdThisMonth})`,
      `  max concurrency: ${show(v.maxConcurrency)}`,
    ].join('\n'),
  );
}

const show = defineCommand({
  name: 'limits show',
  summary: "Show a project's limits and what it used of them today and this month",
  synopsis: '<org>/<project>',
  args: { min: 1, max: 1 },
  options: {},
  globals: LOCAL_GLOBALS,
  async run({ args, values, io }) {
    const [org, project] = splitTarget(args[0]);
    const view = await withDatabase(io, (db) => limitsService.getLimits({ db, clock: systemClock }, org, project));
    if (values.json) return printJson(io, view);
    render(io, `${org}/${project}`, view);
  },
});

/** `--x 10` → 10, `--x none` → null (unlimited), absent → undefined (unchanged). */
function limitValue(raw: string | undefined, flag: string, rule: { integer: boolean; min: number }): number | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'none') return null;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < rule.min || (rule.integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag} must be ${rule.integer ? 'a whole number' : 'a number'} ≥ ${rule.min}, or none`);
  }
  return n;
}

const set = defineCommand({
  name: 'limits set',
  summary: "Set a project's limits (none = unlimited; options left out keep their value)",
  synopsis: '<org>/<project>',
  args: { min: 1, max: 1 },
  options: {
    'generations-per-day': { type: 'string', value: 'N', description: 'generations created per UTC day (submits and live MISSes)' },
    'monthly-cost-usd': { type: 'string', value: 'USD', description: 'recorded provider cost per UTC month' },
    'max-concurrency': { type: 'string', value: 'N', description: 'generations running at once across all workers' },
  },
  globals: LOCAL_GLOBALS,
  async run({ args, values, io }) {
    const [org, project] = splitTarget(args[0]);
    const patch = {
      generationsPerDay: limitValue(values['generations-per-day'], 'generations-per-day', { integer: true, min: 0 }),
      monthlyCostUsd: limitValue(values['monthly-cost-usd'], 'monthly-cost-usd', { integer: false, min: 0 }),
      maxConcurrency: limitValue(values['max-concurrency'], 'max-concurrency', { integer: true, min: 1 }),
    };
    if (Object.values(patch).every((v) => v === undefined)) throw new UsageError('nothing to set: pass --generations-per-day, --monthly-cost-usd or --max-concurrency');
    const view = await withDatabase(io, (db) => limitsService.setLimits({ db, clock: systemClock }, org, project, patch));
    if (values.json) return printJson(io, view);
    render(io, `${org}/${project}`, view);
  },
});

export const limits: CommandGroup = { kind: 'group', name: 'limits', summary: "Show and set a project's limits", commands: [show, set] };
