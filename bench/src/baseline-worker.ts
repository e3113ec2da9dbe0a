// The bare baseline of the pipeline row: a BullMQ worker doing only UPDATE,
// a 200 KB storage write and UPDATE per job, with the same storage driver.
//   env: DATABASE_URL REDIS_URL QUEUE_PREFIX STORAGE_DIR BYTES_FILE WORKER_CONCURRENCY
// Logs `baseline worker ready` once it takes jobs.
import { readFileSync } from 'node:fs';
import { createObjectStorage } from '@banatie/storage';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

const env = process.env;
const concurrency = Number(env.WORKER_CONCURRENCY ?? 8);
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Math.min(concurrency + 2, 50) });
pool.on('error', () => undefined);
const storage = createObjectStorage({ driver: 'fs', dir: env.STORAGE_DIR ?? './data/bench-baseline' });
await storage.init();
const bytes = readFileSync(env.BYTES_FILE!);
const connection = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });

const worker = new Worker<{ generationId: string }>(
  'generations',
  async (job) => {
    const id = job.data.generationId;
    await pool.query(`UPDATE generations SET status = 'processing', started_at = now(), attempts = attempts + 1 WHERE id = $1`, [id]);
    await storage.put(`baseline/${id}`, bytes, 'image/png');
    await pool.query(`UPDATE generations SET status = 'success', completed_at = now(), updated_at = now() WHERE id = $1`, [id]);
  },
  { connection, prefix: env.QUEUE_PREFIX ?? 'bench_baseline', concurrency },
);
await worker.waitUntilReady();
process.stdout.write('baseline worker ready\n');

const shutdown = () => {
  void Promise.allSettled([worker.close(), pool.end()]).then(() => {
    connection.disconnect();
    process.exit(0);
  });
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
