// Runs `npm run bench -- --quick` end to end (its own stack, every row) and checks
// the report is complete. No timing assertions: the numbers are not judged here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/processes.js';

const EXPECTED_ROWS = [
  'submit.rps',
  'submit.p50',
  'submit.p99',
  'submit.limits',
  'pickup.p50',
  'pickup.p99',
  'pickup.insert.p50',
  'poll.rps',
  'live.rps',
  'pipeline.gps',
  'pipeline.fair-dispatch',
  'scaling.1x8',
  'scaling.1x32',
  'scaling.2x8',
  'scaling.2x32',
  'fairness',
  'rss.api.uploads',
  'variants.rss',
  'variants.health',
  'variants.stored',
  'rss.api.submit',
  'rss.api.poll',
  'rss.api.live',
  'rss.api.pipeline',
  'rss.worker.pipeline',
  'rss.worker.scaling',
  'rss.worker.4k',
  'fleet.throughput',
];

/** Quick mode runs the scaling rows on the suite's Redis Cluster too when one is running (scripts/test.sh starts it). */
const CLUSTER_ROWS = ['scaling.cluster.1x8', 'scaling.cluster.1x32', 'scaling.cluster.2x8', 'scaling.cluster.2x32'];

interface Row {
  id: string;
  value: number | null;
  pass: boolean | null;
  note?: string;
}

describe('npm run bench -- --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'banatie-bench-quick-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('measures every row and writes results.json and BENCHMARKS.md', () => {
    // The bench builds first (tsc -b) and runs the compiled entry.
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', '--quick', '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { mode: string; rows: Row[] };
    expect(results.mode).toBe('quick');
    const ids = results.rows.map((r) => r.id);
    const expected = ids.some((id) => id.startsWith('scaling.cluster.')) ? [...EXPECTED_ROWS, ...CLUSTER_ROWS] : EXPECTED_ROWS;
    expect(ids.sort()).toEqual([...expected].sort());
    for (const row of results.rows) {
      // A row is either measured (a positive number) or explains why it is not.
      if (row.value === null) expect(row.note, row.id).toMatch(/not available/);
      else expect(row.value, row.id).toBeGreaterThanOrEqual(0);
    }
    const throughput = results.rows.filter((r) => /\.(rps|gps)$|^scaling\.|^fleet\./.test(r.id) && r.value !== null);
    for (const row of throughput) expect(row.value, row.id).toBeGreaterThan(0);
    // Several APIs and workers on one stack: every generation exactly once (the bench also exits non-zero otherwise).
    const fleet = results.rows.find((r) => r.id === 'fleet.throughput')!;
    expect(fleet.pass, fleet.note).toBe(true);
    const table = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8');
    expect(table).toContain('| submit POST /generations (50 conns) |');
    expect(run.stdout).toContain('submit POST /generations');
  }, 180_000);
});
