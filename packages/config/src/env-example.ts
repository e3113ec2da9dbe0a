import { SECRET_VARIABLES, envSchema } from './index.js';

interface VariableDoc {
  /** One line: what the variable does. */
  meaning: string;
  /** What applies when it is unset, when the schema has no literal default (derived or "none"). */
  defaultText?: string;
}

type ServerVariable = keyof typeof envSchema.shape;

/** Every server variable must be documented here: a new one without a line fails the type check. */
const SERVER_DOCS: Record<ServerVariable, VariableDoc> = {
  PORT: { meaning: 'API listen port' },
  HOST: { meaning: 'API listen address' },
  PUBLIC_BASE_URL: { meaning: 'base of every URL the API hands out', defaultText: 'http://localhost:$PORT' },
  DATABASE_URL: { meaning: 'PostgreSQL (may point at PgBouncer in transaction mode)' },
  DATABASE_DIRECT_URL: { meaning: 'a session connection straight to PostgreSQL (LISTEN, migrate); set it when DATABASE_URL is a pooler', defaultText: '$DATABASE_URL' },
  DATABASE_STATEMENT_TIMEOUT_MS: { meaning: 'every pooled statement is cancelled after this long (the request answers 503); 0 turns it off' },
  DATABASE_POOL_MAX: { meaning: 'PostgreSQL connections per process', defaultText: '20 for the API, WORKER_CONCURRENCY + 2 for a worker' },
  REDIS_URL: { meaning: 'Redis (queues, rate limits, caches, events); needs maxmemory-policy noeviction' },
  REDIS_CLUSTER_NODES: {
    meaning: 'seed nodes of a Redis Cluster (host:port,…): every Redis use goes through a cluster client; keys become {QUEUE_PREFIX}:… (one slot per deployment)',
    defaultText: 'none (single Redis at REDIS_URL)',
  },
  QUEUE_PREFIX: { meaning: 'prefix of every Redis key the service writes, so deployments can share one Redis' },
  STORAGE_DRIVER: { meaning: 'object storage: fs or s3', defaultText: 'fs, or s3 when S3_ENDPOINT is set' },
  STORAGE_DIR: { meaning: 'root directory of the fs storage driver' },
  S3_ENDPOINT: { meaning: 'S3 endpoint: a URL (https://s3.eu-central-1.amazonaws.com, http://minio:9000; port and TLS come from it) or a bare host name (setting it switches storage to s3)', defaultText: 'none' },
  S3_PORT: { meaning: 'S3/MinIO port' },
  S3_USE_SSL: { meaning: 'talk to S3/MinIO over TLS' },
  S3_ACCESS_KEY: { meaning: 'S3/MinIO access key (required with s3)', defaultText: 'none' },
  S3_SECRET_KEY: { meaning: 'S3/MinIO secret key (required with s3)', defaultText: 'none' },
  S3_BUCKET: { meaning: 'bucket for images; created at start if missing' },
  S3_REGION: { meaning: 'S3 region' },
  S3_FORCE_PATH_STYLE: { meaning: 'path-style bucket addressing (endpoint/bucket/key) instead of virtual-host style', defaultText: 'true for a custom endpoint, false for AWS' },
  S3_TIMEOUT_MS: { meaning: 'every storage operation fails after this long' },
  IMAGE_PROVIDER: { meaning: 'image model provider: gemini or local (built-in, no cloud account)', defaultText: 'gemini when GEMINI_API_KEY is set, else local' },
  GEMINI_API_KEY: { meaning: 'Google Gemini API key', defaultText: 'none' },
  GEMINI_BASE_URL: { meaning: 'Gemini API base URL (tests point it at a fake server)', defaultText: "the SDK's" },
  GEMINI_IMAGE_MODELS: { meaning: 'allowed image models, comma separated (GET /api/v1/models lists them)' },
  GEMINI_IMAGE_MODEL: { meaning: 'default image model' },
  GEMINI_BATCH_INTERVAL_MS: { meaning: 'batch tier: how often workers gather waiting items into one Gemini batch' },
  GEMINI_BATCH_MAX_ITEMS: { meaning: 'batch tier: a Gemini batch is sent at once when this many items wait' },
  GEMINI_BATCH_POLL_MS: { meaning: 'batch tier: how often a running Gemini batch is polled' },
  GEMINI_TEXT_MODEL: { meaning: 'model for prompt enhancement' },
  GEMINI_TIMEOUT_MS: { meaning: 'timeout of one Gemini call' },
  PRICING_FILE: { meaning: 'JSON file overriding the built-in price table (per model and tier)', defaultText: 'none (built-in prices)' },
  WORKER_CONCURRENCY: { meaning: 'jobs in flight per worker process' },
  GENERATION_ATTEMPTS: { meaning: 'tries for retryable failures, with exponential backoff' },
  WORKER_LOCK_MS: { meaning: "job lock; a crashed worker's job is taken over within this plus 3 s" },
  SWEEP_INTERVAL_MS: { meaning: 'how often the sweeper settles orphaned or stalled generations' },
  PROVIDER_RATE_LIMITS: { meaning: 'model=requestsPerMinute,… shared by every worker', defaultText: 'none' },
  GENERATION_DEADLINE_MS: { meaning: 'an unfinished generation fails with DEADLINE_EXCEEDED this long after submit (Cancel-After may shorten it)' },
  WORKER_METRICS_PORT: { meaning: "a worker's Prometheus /metrics and /health port on HOST; 0 disables it" },
  METRICS_PORT: { meaning: 'serve the API /metrics on this port only (404 on the public port)', defaultText: 'none (on the public port)' },
  RATE_LIMIT_PER_HOUR: { meaning: 'per API key, requests that create work; 0 disables' },
  READ_RATE_LIMIT_PER_MINUTE: { meaning: 'per API key, every other authenticated request; 0 disables' },
  AUTH_FAILURES_PER_IP_PER_MINUTE: { meaning: 'failed authentications per client address (IPv6 per /64) before every request from it is 429 until the minute ends; 0 disables' },
  LIVE_MISS_PER_IP_PER_HOUR: { meaning: 'live-URL cache misses per client IP; 0 disables' },
  CDN_VARIANTS_PER_IMAGE: { meaning: 'stored CDN variants per image; a new one past it is 400 VARIANT_LIMIT' },
  CDN_RENDER_CONCURRENCY: { meaning: 'CDN variant renders at a time per API process (then a short queue, then 503)' },
  CDN_VARIANT_MISS_PER_IP_PER_HOUR: { meaning: 'CDN variant misses per client IP and hour; 0 disables' },
  LIVE_WAIT_TIMEOUT_MS: { meaning: 'how long a live-URL MISS waits for its image before 504' },
  LIVE_HIT_FLUSH_MS: { meaning: 'how often in-memory live-URL hit counts are written to PostgreSQL' },
  LIVE_CACHE_MAX_BYTES: { meaning: 'in-process cache of hot live-URL image bytes, per API process' },
  LIVE_MAX_WAITERS: { meaning: 'live-URL MISSes one API process holds open waiting for their image; past it 503 with Retry-After' },
  SSE_MAX_PER_KEY: { meaning: 'open event streams per API key across instances (429 past it); 0 disables' },
  SSE_HEARTBEAT_MS: { meaning: 'event stream heartbeat (at most 15000; bounds how long a revoked key streams)' },
  WEBHOOK_RETRY_BASE_MS: { meaning: 'first webhook retry delay; later ones grow exponentially' },
  WEBHOOK_ALLOW_PRIVATE: { meaning: 'allow webhook URLs that resolve to private/loopback addresses (tests only)' },
  TRUST_PROXY: { meaning: 'which proxies to believe for the client address (X-Forwarded-For)' },
  CORS_ORIGINS: { meaning: 'browser origins allowed to call /api/v1: * or a comma list such as https://app.example.com', defaultText: 'none: no cross-origin access' },
  LOG_LEVEL: { meaning: 'pino log level: fatal error warn info debug trace silent' },
};


/** The schema's own defaults (what an empty environment parses to), as text. */
function schemaDefaults(schema: { shape: Record<string, { safeParse(v: undefined): { success: boolean; data?: unknown } }> }): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const parsed = field.safeParse(undefined);
    out[name] = parsed.success && parsed.data !== undefined ? String(parsed.data) : undefined;
  }
  return out;
}

function section(title: string, docs: Record<string, VariableDoc>, defaults: Record<string, string | undefined>): string[] {
  const lines = ['', `# ---- ${title} ----`];
  for (const [name, doc] of Object.entries(docs)) {
    const literal = defaults[name];
    lines.push(`# ${doc.meaning}${literal === undefined ? ` (default: ${doc.defaultText ?? 'none'})` : ''}`);
    lines.push(`#${name}=${literal ?? ''}`);
  }
  return lines;
}

/** The text of `.env.example`, from the config schemas (`npm run env:example` writes it). */
export function renderEnvExample(): string {
  const fileForms = SECRET_VARIABLES.map((n) => `${n}_FILE`).join(', ');
  return [
    '# Banatie configuration: every variable the processes read, with its default.',
    '# Generated from packages/config by `npm run env:example`; do not edit by hand.',
    '# Every line is commented out: the value shown is what applies when it is unset.',
    '# Copy to .env, uncomment what you change, and give it to the API and worker processes',
    '# (`docker run --env-file .env`, a systemd EnvironmentFile, or `set -a; . ./.env; set +a`).',
    `# Secrets may instead be read from a file: ${fileForms}.`,
    '# The banatie CLI (@banatie/cli) reads BANATIE_API_KEY (or BANATIE_API_KEY_FILE) and BANATIE_API_URL.',
    ...section('API and worker', SERVER_DOCS, schemaDefaults(envSchema)),
    '',
  ].join('\n');
}
