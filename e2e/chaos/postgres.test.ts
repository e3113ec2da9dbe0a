// PostgreSQL connections dropped (pg_terminate_backend on the test database)
// while the API and worker are busy: nothing exits, every accepted generation ends.
import pg from 'pg';
import { TEST_PG_URL } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, stopAll, submitGeneration, waitForTerminal, type ApiProcess, type GenerationData, type ManagedProcess } from '../helpers/processes.js';
import { startChaosWorld, type ChaosWorld } from './setup.js';

const ROUNDS = 4;
const PER_ROUND = 6;
let world: ChaosWorld;
let api: ApiProcess;
let worker: ManagedProcess;

beforeAll(async () => {
  world = await startChaosWorld({ env: { GENERATION_ATTEMPTS: '5', WORKER_CONCURRENCY: '4' } });
  [api, worker] = await Promise.all([startApi(world.env), startWorker(world.env)]);
});

afterAll(async () => {
  await stopAll();
  await world?.close();
});

/** Terminates every backend connected to the test database but this one; returns how many. */
async function dropConnections(): Promise<number> {
  const admin = new pg.Client({ connectionString: `${TEST_PG_URL}/postgres` });
  await admin.connect();
  try {
    const r = await admin.query(
      'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [world.database.name],
    );
    return Number(r.rows[0].n);
  } finally {
    await admin.end();
  }
}

/**
 * waitForTerminal for a client that honours 503 + Retry-After: a request that
 * lands on a connection being dropped may get a clean 503; a few retries must do.
 */
async function settled(id: string): Promise<GenerationData> {
  for (let retries = 0; ; retries++) {
    try {
      return await waitForTerminal(api.url, world.key, id, { timeoutMs: 90_000 });
    } catch (err) {
      if (retries >= 10 || !/: 503 /.test(String(err))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe('PostgreSQL connections dropped under load', () => {
  it('no process exits; every accepted generation completes; requests recover', async () => {
    await world.fake.setDefault({ kind: 'image', delayMs: 150 });
    const accepted: string[] = [];
    let refused = 0;
    let dropped = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(
        Array.from({ length: PER_ROUND }, (_, i) =>
          submitGeneration(api.url, world.key, { prompt: `under pg chaos ${round}.${i}`, autoEnhance: false }).catch(() => null),
        ),
      );
      for (const r of results) {
        if (r?.status === 202) accepted.push(r.body.data.id);
        else {
          // Only a clean 503 is acceptable while a connection is being replaced.
          expect(r?.status).toBe(503);
          refused++;
        }
      }
      dropped += await dropConnections();
    }
    expect(dropped).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);

    const finals = await Promise.all(accepted.map(settled));
    expect(finals.filter((g) => g.status !== 'success').map((g) => ({ id: g.id, status: g.status, error: g.error }))).toEqual([]);
    expect(api.proc.exitCode).toBeNull();
    expect(worker.proc.exitCode).toBeNull();

    // Requests recover within seconds: a fresh submit is accepted and completes.
    const after = await submitGeneration(api.url, world.key, { prompt: 'after the drops', autoEnhance: false });
    expect(after.status).toBe(202);
    expect((await waitForTerminal(api.url, world.key, after.body.data.id)).status).toBe('success');
    // A submit refused after its row was committed may still run; every row there is must end, once.
    const rows = await world.database.db.selectFrom('generations').select('id').execute();
    const all = await Promise.all(rows.map((r) => settled(r.id)));
    expect(all.filter((g) => g.status !== 'success')).toEqual([]);
    const images = await world.database.db.selectFrom('images').select('generation_id').execute();
    expect(new Set(images.map((i) => i.generation_id)).size).toBe(images.length);
    expect(images).toHaveLength(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(accepted.length + 1);
    expect(refused).toBeLessThan(ROUNDS * PER_ROUND);
  });
});
