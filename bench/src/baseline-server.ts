// The bare baselines of the HTTP rows: plain Fastify routes doing only the
// irreducible work of each endpoint, on the same PostgreSQL and Redis.
//   env: PORT DATABASE_URL REDIS_URL QUEUE_PREFIX PROJECT_ID BYTES_FILE POOL_MAX
// Prints BASELINE_URL=http://127.0.0.1:PORT once listening.
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';

const env = process.env;
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.POOL_MAX ?? 20) });
pool.on('error', () => undefined);
const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, enableOfflineQueue: false });
const queue = new Queue('generations', { connection: redis, prefix: env.QUEUE_PREFIX ?? 'bench_baseline' });
const projectId = env.PROJECT_ID;
let bytes: Buffer = env.BYTES_FILE ? readFileSync(env.BYTES_FILE) : Buffer.alloc(0);

const app = Fastify({ logger: false });

app.post<{ Body: { prompt: string } }>('/submit', async (request, reply) => {
  const { rows } = await pool.query(
    `INSERT INTO generations (project_id, prompt, original_prompt, auto_enhance, template, aspect_ratio)
     VALUES ($1, $2, $2, false, 'general', '1:1') RETURNING *`,
    [projectId, request.body.prompt],
  );
  const row = rows[0] as { id: string };
  await queue.add('generate-image', { generationId: row.id, run: 0 }, { jobId: `${row.id}_r0`, removeOnComplete: true });
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
