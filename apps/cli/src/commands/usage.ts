// `usage [<org>/<project>]`: generations, provider calls, tokens and cost (SPEC §12), from the database.
import { usageQuery } from '@banatie/contracts';
import { NotFoundError, usageService, systemClock } from '@banatie/core';
import { projectRepository, type Db } from '@banatie/db';
import { defineCommand, LOCAL_GLOBALS, UsageError, formatTable, print, printJson } from '@banatie/cli';
import { splitTarget, withDatabase } from './database.js';

export const usage = defineCommand({
  name: 'usage',
  summary: 'Generations, provider calls, tokens and cost of a project (or of every project), grouped',
  synopsis: '[<org>/<project>]',
  args: { min: 0, max: 1 },
  options: {
    from: { type: 'string', value: 'DATE', description: 'start, an ISO date or date-time (default: the start of this UTC month)' },
    to: { type: 'string', value: 'DATE', description: 'end, an ISO date (included) or date-time (default: the end of this UTC month)' },
    'group-by': { type: 'string', value: 'G', description: 'day, model or source; without a project also project (the default then)' },
  },
  globals: LOCAL_GLOBALS,
  async run({ args, values, io }) {
    const target = args[0] ? splitTarget(args[0]) : null;
    const groups = target ? ['day', 'model', 'source'] : ['project', 'day', 'model', 'source'];
    const groupBy = values['group-by'];
    if (groupBy !== undefined && !groups.includes(groupBy)) throw new UsageError(`--group-by must be one of: ${groups.join(', ')}`);
    const parsed = usageQuery.safeParse({ from: values.from, to: values.to });
    if (!parsed.success) throw new UsageError(`--${String(parsed.error.issues[0]!.path[0])} must be an ISO date (YYYY-MM-DD) or date-time with its zone`);
    const report = await withDatabase(io, async (db) => {
      const deps = { db, clock: systemClock };
      const projectId = target ? await projectIdOf(db, target) : null;
      return usageService.usageReport(deps, projectId, { ...parsed.data, groupBy: groupBy as 'day' | undefined });
    });
    if (values.json) return printJson(io, report);
    const rows = [...report.groups, { key: 'total', ...report.totals }];
    const lines = formatTable(rows, [
      { header: 'key', value: (r) => r.key },
      { header: 'generations', value: (r) => String(r.generations) },
      { header: 'ok', value: (r) => String(r.succeeded) },
      { header: 'failed', value: (r) => String(r.failed) },
      { header: 'cancelled', value: (r) => String(r.cancelled) },
      { header: 'calls', value: (r) => String(r.providerCalls) },
      { header: 'input', value: (r) => String(r.inputTokens) },
      { header: 'output', value: (r) => String(r.outputTokens) },
      { header: 'thought', value: (r) => String(r.thoughtTokens) },
      { header: 'cost USD', value: (r) => r.costUsd.toFixed(4) },
    ]);
    print(io, [`Usage ${report.from} – ${report.to}`, ...lines].join('\n'));
  },
});

async function projectIdOf(db: Db, [org, slug]: [string, string]): Promise<string> {
  const project = await projectRepository.findProjectBySlugs(db, org, slug);
  if (!project) throw new NotFoundError('Project not found');
  return project.id;
}
