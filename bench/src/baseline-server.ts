// The bare baselines of the HTTP rows: plain Fastify routes doing only the
// irreducible work of each endpoint, on the same PostgreSQL and Redis.
// `/submit-fair` is `/submit` with the service's own enqueue (fair priority, Lua)
// instead of a plain `queue.add`: the pipeline.fair-dispatch row.
//   env: PORT DATABASE_URL REDIS_URL QUEUE_PREFIX PROJECT_ID BYTES_FILE POOL_MAX
// Prints BASELINE_URL=http://127.0.0.1:PORT once listening.
import { readFileSync } from 'node:fs';
import { enqueueGeneration, type GenerationQueue } from '@banatie/queue';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';

const env = process.env;
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.POOL_MAX ?? 20) });
pool.on('error', () => undefined);
const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, enableOfflineQueue: false });
// Job options as defaults, so the plain add and the service's enqueue (which sets only id and priority) add the same job.
const queue = new Queue('generations', { connection: redis, prefix: env.QUEUE_PREFIX ?? 'bench_baseline', defaultJobOptions: { removeOnComplete: true } });
const projectId = env.PROJECT_ID!;
let bytes: Buffer = env.BYTES_FILE ? readFileSync(env.BYTES_FILE) : Buffer.alloc(0);

const app = Fastify({ logger: false });

async function insertRow(prompt: string): Promise<{ id: string }> {
  const { rows } = await pool.query(
    `INSERT INTO generations (project_id, prompt, original_prompt, auto_enhance, template, aspect_ratio)
     VALUES ($1, $2, $2, false, 'general', '1:1') RETURNING *`,
    [projectId, prompt],
  );
  return rows[0] as { id: string };
}

app.post<{ Body: { prompt: string } }>('/submit', async (request, reply) => {
  const row = await insertRow(request.body.prompt);
  await queue.add('generate-image', { generationId: row.id, run: 0 }, { jobId: `${row.id}_r0` });
  return reply.code(202).send({ success: true, data: row });
});

app.post<{ Body: { prompt: string } }>('/submit-fair', async (request, reply) => {
  const row = await insertRow(request.body.prompt);
  await enqueueGeneration(queue as GenerationQueue, { generationId: row.id, run: 0, projectId });
  return reply.code(202).send({ success: true, data: row });
});

app.get<{ Params: { id: string } }>('/poll/:id', async (request) => {
  const { rows } = await pool.query('SELECT * FROM generations WHERE id = $1', [request.params.id]);
  return { success: true, data: rows[0] };
});

// The live baseline's bytes, handed over by the benchmark once it knows them.
app.put('/bytes', async (request) => {
  bytes = request.body as Buffer;
  return { size: bytes.length };
});
app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: 50 * 1024 * 1024 }, (_req, body, done) => done(null, body));

app.get('/bytes', async (_request, reply) => reply.header('content-type', 'image/png').send(bytes));

await app.listen({ port: Number(env.PORT ?? 0), host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`BASELINE_URL=http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);

const shutdown = () => {
  void Promise.allSettled([app.close(), queue.close(), pool.end()]).then(() => {
    redis.disconnect();
    process.exit(0);
  });
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
