import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { IMAGE_MODEL_IDS, isImageModelId } from '@banatie/contracts';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(min, { error: `must be ≥ ${min}` })
    .max(max, { error: `must be ≤ ${max}` });

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a ${protocols.join(' or ')} URL` },
  );

/**
 * Which proxies to believe for the client address (SPEC §2, §11): `false`, a hop
 * count, a comma list of proxy IPs/CIDRs (or proxy-addr's `loopback`,
 * `linklocal`, `uniquelocal`), or `true` (every hop). As Fastify's `trustProxy` takes them.
 */
export type TrustProxy = boolean | number | string[];

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function proxyAddressValid(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [ip, prefix, ...rest] = entry.split('/');
  const family = isIP(ip ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function parseTrustProxy(value: string): TrustProxy | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d{1,3}$/.test(v)) return Number(v) === 0 ? false : Number(v);
  const entries = v.split(',').map((e) => e.trim());
  return entries.every(proxyAddressValid) ? entries : undefined;
}

const trustProxySchema = z.string().transform((value, ctx): TrustProxy => {
  const parsed = parseTrustProxy(value);
  if (parsed !== undefined) return parsed;
  ctx.addIssue({ code: 'custom', message: 'must be false, true, a hop count (e.g. 1) or a comma list of proxy IPs/CIDRs' });
  return z.NEVER;
});

/** `model=requestsPerMinute,…`: a positive whole number per model name. */
const providerRateLimits = z
  .string()
  .transform((v, ctx) => {
    const limits: Record<string, number> = {};
    for (const entry of v.split(',').map((x) => x.trim()).filter(Boolean)) {
      const match = /^([^=\s]+)=(\d+)$/.exec(entry);
      if (!match || Number(match[2]) < 1) {
        ctx.addIssue({ code: 'custom', message: `must be model=requestsPerMinute,… (bad entry "${entry}")` });
        return z.NEVER;
      }
      limits[match[1]!] = Number(match[2]);
    }
    return limits;
  });

/** USD (per 1M tokens, or per image); null: unknown (priced at 0). */
const rate = z.number().min(0).nullable();
const modelRates = z.strictObject({ input: rate, textOutput: rate, imageOutput: z.partialRecord(z.enum(['512', '1K', '2K', '4K']), rate) });
/**
 * PRICING_FILE: `{"<model>": {"standard": {"input", "textOutput", "imageOutput": {"1K": …}}, "batch"?: {…}}}`
 * (token rates per 1M tokens, image prices per image; batch absent: half of standard).
 */
const pricingFileSchema = z.record(z.string().min(1), z.strictObject({ standard: modelRates, batch: modelRates.optional() }));
export type PricingOverrides = z.infer<typeof pricingFileSchema>;

/** Reads and checks PRICING_FILE; a problem names the variable and says what is wrong, never a stack. */
function readPricingFile(path: string | undefined): { value: PricingOverrides; problems: string[] } {
  if (!path) return { value: {}, problems: [] };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { value: {}, problems: [`PRICING_FILE names a file that cannot be read (${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'})`] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { value: {}, problems: [`PRICING_FILE is not valid JSON (${path})`] };
  }
  const parsed = pricingFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { value: {}, problems: [`PRICING_FILE ${issue.path.join('.') || '(root)'}: ${issue.message}`] };
  }
  return { value: parsed.data, problems: [] };
}

/** `*`, or a comma list of origins (`scheme://host[:port]`, no path); empty entries are ignored. */
const corsOrigins = z.string().transform((value, ctx): '*' | string[] => {
  if (value.trim() === '*') return '*';
  const origins: string[] = [];
  for (const entry of value.split(',').map((v) => v.trim()).filter(Boolean)) {
    let origin: string | undefined;
    try {
      const parsed = new URL(entry);
      if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === entry.replace(/\/$/, '')) origin = parsed.origin;
    } catch {
      origin = undefined;
    }
    if (!origin) {
      ctx.addIssue({ code: 'custom', message: `must be * or a comma list of origins such as https://app.example.com (got ${JSON.stringify(entry)})` });
      return z.NEVER;
    }
    origins.push(origin);
  }
  return origins;
});

export interface RedisNode {
  host: string;
  port: number;
}

/** `host:port,…` (IPv6 hosts in brackets), at least one node. */
const redisNodesSchema = z.string().transform((value, ctx): RedisNode[] => {
  const nodes: RedisNode[] = [];
  for (const entry of value.split(',').map((e) => e.trim())) {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `must be a comma list of host:port such as redis-1:6379,redis-2:6379 (got ${JSON.stringify(entry)})` });
      return z.NEVER;
    }
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return nodes;
});

/**
 * The prefix of every Redis key and channel. On Redis Cluster it is the hash tag
 * `{QUEUE_PREFIX}`: all of a deployment's keys share one slot, so BullMQ's and our
 * own multi-key scripts are slot-safe whatever keys they combine.
 */
export function redisKeyPrefix(queuePrefix: string, cluster: boolean): string {
  return cluster ? `{${queuePrefix}}` : queuePrefix;
}

export const envSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_BASE_URL: url(['http:', 'https:']).optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/banatie'),
  DATABASE_DIRECT_URL: url(['postgres:', 'postgresql:']).optional(),
  DATABASE_STATEMENT_TIMEOUT_MS: int(0).default(10_000),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: 'must be 1-64 characters of A-Z a-z 0-9 _ . : -' })
    .default('banatie'),
  REDIS_CLUSTER_NODES: redisNodesSchema.optional(),
  STORAGE_DRIVER: z.enum(['fs', 's3'], { error: 'must be fs or s3' }).optional(),
  STORAGE_DIR: z.string().min(1).default('./data/storage'),
  S3_ENDPOINT: z
    .string()
    .refine((v) => parseS3Endpoint(v) !== null, {
      error: 'must be a host name (minio, 127.0.0.1, optionally with :port) or an http(s) URL with no path, such as https://s3.eu-central-1.amazonaws.com',
    })
    .optional(),
  S3_PORT: int(1, 65535).optional(),
  S3_USE_SSL: bool.optional(),
  S3_FORCE_PATH_STYLE: bool.optional(),
  S3_TIMEOUT_MS: int(1).default(30_000),
  S3_ACCESS_KEY: z.string().optional(),
  S3_SECRET_KEY: z.string().optional(),
  S3_BUCKET: z.string().min(3).default('banatie'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  IMAGE_PROVIDER: z.enum(['gemini', 'local'], { error: 'must be gemini or local' }).optional(),
  GEMINI_API_KEY: z.string().min(1).optional(),
  GEMINI_BASE_URL: url(['http:', 'https:']).optional(),
  GEMINI_IMAGE_MODELS: z
    .string()
    .transform((v) => [...new Set(v.split(',').map((m) => m.trim()).filter(Boolean))])
    .refine((models) => models.length > 0 && models.every(isImageModelId), { error: `must be a comma list of ${IMAGE_MODEL_IDS.join(', ')}` })
    .default([...IMAGE_MODEL_IDS]),
  GEMINI_IMAGE_MODEL: z.string().min(1).default('gemini-2.5-flash-image'),
  GEMINI_BATCH_INTERVAL_MS: int(100).default(60_000),
  GEMINI_BATCH_MAX_ITEMS: int(1, 10_000).default(100),
  GEMINI_BATCH_POLL_MS: int(100).default(30_000),
  GEMINI_TEXT_MODEL: z.string().min(1).default('gemini-2.5-flash'),
  GEMINI_TIMEOUT_MS: int(1).default(120_000),
  PRICING_FILE: z.string().min(1).optional(),
  DATABASE_POOL_MAX: int(1, 1000).optional(),
  WORKER_CONCURRENCY: int(1, 1000).default(4),
  GENERATION_ATTEMPTS: int(1, 100).default(3),
  WORKER_LOCK_MS: int(1000).default(30_000),
  SWEEP_INTERVAL_MS: int(100).default(30_000),
  PROVIDER_RATE_LIMITS: providerRateLimits.default({}),
  GENERATION_DEADLINE_MS: int(1000).default(600_000),
  WORKER_METRICS_PORT: int(0, 65535).default(9464),
  METRICS_PORT: int(1, 65535).optional(),
  RATE_LIMIT_PER_HOUR: int(0).default(100),
  READ_RATE_LIMIT_PER_MINUTE: int(0).default(600),
  AUTH_FAILURES_PER_IP_PER_MINUTE: int(0).default(30),
  LIVE_MISS_PER_IP_PER_HOUR: int(0).default(10),
  CDN_VARIANTS_PER_IMAGE: int(1, 10_000).default(16),
  CDN_RENDER_CONCURRENCY: int(1, 256).default(2),
  CDN_VARIANT_MISS_PER_IP_PER_HOUR: int(0).default(200),
  LIVE_WAIT_TIMEOUT_MS: int(100).default(60_000),
  LIVE_HIT_FLUSH_MS: int(100).default(5_000),
  LIVE_CACHE_MAX_BYTES: int(0).default(64 * 1024 * 1024),
  SSE_MAX_PER_KEY: int(0).default(20),
  SSE_HEARTBEAT_MS: int(100, 15_000).default(15_000),
  LIVE_MAX_WAITERS: int(1, 1_000_000).default(1000),
  WEBHOOK_RETRY_BASE_MS: int(1).default(5000),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  TRUST_PROXY: trustProxySchema.default(false),
  CORS_ORIGINS: corsOrigins.optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal error warn info debug trace silent',
    })
    .default('info'),
});

type Env = z.infer<typeof envSchema>;

export interface S3Config {
  /** Host name or IP address only: S3_ENDPOINT given as a URL is split into host, port and TLS. */
  endPoint: string;
  port: number;
  useSSL: boolean;
  /** `bucket` in the path (MinIO, Garage, SeaweedFS…) rather than in the host name (AWS). */
  pathStyle: boolean;
  /** Every storage operation gives up after this long. */
  timeoutMs: number;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

export interface Config {
  port: number;
  host: string;
  publicBaseUrl: string;
  databaseUrl: string;
  /**
   * A session connection to PostgreSQL itself, never through a transaction-mode
   * pooler (PgBouncer): `LISTEN`, migrations. Default: DATABASE_URL.
   */
  databaseDirectUrl: string;
  /** Every statement on the pooled connections is cancelled after this long (503 in the API); 0: never. */
  databaseStatementTimeoutMs: number;
  /** PostgreSQL connections per process; unset: 20 for the API, concurrency + 2 for a worker. */
  databasePoolMax: number | undefined;
  /** Single Redis; with `redisClusterNodes`, only its credentials and TLS (`rediss:`) apply, to every node. */
  redisUrl: string;
  /** Seed nodes of a Redis Cluster (`REDIS_CLUSTER_NODES`); undefined: the single Redis at `redisUrl`. */
  redisClusterNodes: RedisNode[] | undefined;
  /**
   * The prefix of every Redis key and channel: `QUEUE_PREFIX`, or on Redis Cluster
   * the hash tag `{QUEUE_PREFIX}` (see redisKeyPrefix). Always build keys from this.
   */
  queuePrefix: string;
  storage: { driver: 'fs'; dir: string } | { driver: 's3'; s3: S3Config };
  imageProvider: 'gemini' | 'local';
  gemini: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    /** The default image model (`GEMINI_IMAGE_MODEL`), always one of `imageModels`. */
    imageModel: string;
    /** The allow-list (`GEMINI_IMAGE_MODELS`), every one a model of the capability table. */
    imageModels: string[];
    /** The prompt enhancer's model. */
    textModel: string;
    timeoutMs: number;
    /** Batch tier (SPEC §13): gather every `intervalMs` or at `maxItems`, poll every `pollMs`. */
    batch: { intervalMs: number; maxItems: number; pollMs: number };
  };
  /** Models priced by PRICING_FILE, replacing the built-in prices of the same model. */
  pricing: PricingOverrides;
  worker: {
    concurrency: number;
    attempts: number;
    lockMs: number;
    sweepIntervalMs: number;
    /** Port of the worker's Prometheus `/metrics` listener (on HOST); 0: none. */
    metricsPort: number;
  };
  /** The API's `/metrics` on HOST:METRICS_PORT instead of the public port; unset: on the public port. */
  metricsPort: number | undefined;
  /** Per API key (SPEC §17) and per client address (§11); 0 turns each off. */
  rateLimits: { writePerHour: number; readPerMinute: number; authFailuresPerIpPerMinute: number };
  /** Requests per minute per model, shared by every worker (PROVIDER_RATE_LIMITS); a model not named is unlimited. */
  providerRateLimits: Readonly<Record<string, number>>;
  /** How long after submit an unfinished generation fails (GENERATION_DEADLINE_MS; `Cancel-After` may shorten it). */
  generationDeadlineMs: number;
  liveMissPerIpPerHour: number;
  /** Live URLs: MISS wait before 504, hit-count flush period, in-process hot bytes budget, open MISSes per process before 503. */
  live: { waitTimeoutMs: number; hitFlushMs: number; cacheMaxBytes: number; maxWaiters: number };
  webhook: { retryBaseMs: number; allowPrivate: boolean };
  /** Public CDN renditions (SPEC §11): stored variants per image, renders at a time per process, misses per client IP and hour (0: no limit). */
  cdn: { variantsPerImage: number; renderConcurrency: number; variantMissPerIpPerHour: number };
  /** Fastify's `trustProxy`: false, a hop count, proxy addresses/CIDRs, or true (see startupWarnings). */
  trustProxy: TrustProxy;
  /**
   * Event streams: open streams per API key across instances (0: no limit), and
   * the heartbeat period, which also bounds how long a stream outlives its key
   * (at most 15 s, so a revoked or expired key's streams end within 30 s).
   */
  sse: { maxPerKey: number; heartbeatMs: number };
  /** Browser origins allowed to call `/api/v1` (CORS): `*`, a list, or none (empty). */
  corsOrigins: '*' | readonly string[];
  logLevel: Env['LOG_LEVEL'];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

interface S3Endpoint {
  host: string;
  /** Given by the endpoint itself (URL, or host:port). */
  port?: number;
  /** Given by the endpoint's scheme. */
  useSSL?: boolean;
}

// Labels of letters and digits, with `-` and `_` inside (Docker service names may hold `_`).
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * `S3_ENDPOINT` as an operator writes it: a bare host (`minio`, `127.0.0.1`,
 * `[::1]`, optionally `:port`) or an http(s) URL with nothing after the host
 * but an optional `/`. Null when it is neither (a path, credentials, another scheme…).
 */
export function parseS3Endpoint(value: string): S3Endpoint | null {
  if (/\s/.test(value)) return null;
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  let url: URL;
  try {
    url = new URL(isUrl ? value : `http://${value}`);
  } catch {
    return null;
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.hash) return null;
  if (url.pathname !== '/' || (!isUrl && value.includes('/'))) return null;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!HOST_NAME.test(host) && !host.includes(':')) return null;
  const port = url.port ? Number(url.port) : undefined;
  if (!isUrl) return { host, port };
  return { host, port: port ?? (url.protocol === 'https:' ? 443 : 80), useSSL: url.protocol === 'https:' };
}

/** AWS's own endpoints, where buckets are addressed by host name (virtual-host style). */
const isAwsEndpoint = (host: string) => /(^|\.)amazonaws\.com(\.cn)?$/i.test(host);

function resolveS3Endpoint(
  value: string,
  port: number | undefined,
  useSSL: boolean | undefined,
  forcePathStyle: boolean | undefined,
): Pick<S3Config, 'endPoint' | 'port' | 'useSSL' | 'pathStyle'> {
  const endpoint = parseS3Endpoint(value)!;
  return {
    endPoint: endpoint.host,
    port: endpoint.port ?? port ?? 9000,
    useSSL: endpoint.useSSL ?? useSSL ?? false,
    pathStyle: forcePathStyle ?? !isAwsEndpoint(endpoint.host),
  };
}

/** S3_PORT / S3_USE_SSL set beside an S3_ENDPOINT that already says otherwise. */
function s3EndpointConflicts(env: Record<string, string | undefined>): string[] {
  const endpoint = env.S3_ENDPOINT ? parseS3Endpoint(env.S3_ENDPOINT) : null;
  if (!endpoint) return [];
  const problems: string[] = [];
  const port = env.S3_PORT === undefined ? undefined : Number(env.S3_PORT);
  if (endpoint.port !== undefined && port !== undefined && port !== endpoint.port) {
    problems.push(`S3_PORT is ${port} but S3_ENDPOINT says port ${endpoint.port}; set one of them`);
  }
  const ssl = env.S3_USE_SSL === undefined ? undefined : ['true', '1', 'yes'].includes(env.S3_USE_SSL);
  if (endpoint.useSSL !== undefined && ssl !== undefined && ssl !== endpoint.useSSL) {
    problems.push(`S3_USE_SSL is ${ssl} but S3_ENDPOINT is an ${endpoint.useSSL ? 'https' : 'http'} URL; set one of them`);
  }
  return problems;
}

/** Checks between variables, run on the raw values so they are reported together with malformed ones. */
function dependentProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const driver = env.STORAGE_DRIVER ?? (env.S3_ENDPOINT ? 's3' : 'fs');
  if (driver === 's3') {
    for (const name of ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY']) {
      if (!env[name]) problems.push(`${name} is required when STORAGE_DRIVER=s3`);
    }
  }
  problems.push(...s3EndpointConflicts(env));
  const provider = env.IMAGE_PROVIDER ?? (env.GEMINI_API_KEY ? 'gemini' : 'local');
  if (provider === 'gemini' && !env.GEMINI_API_KEY) problems.push('GEMINI_API_KEY is required when IMAGE_PROVIDER=gemini');
  const allowed = (env.GEMINI_IMAGE_MODELS ?? IMAGE_MODEL_IDS.join(',')).split(',').map((m) => m.trim());
  const defaultModel = env.GEMINI_IMAGE_MODEL ?? 'gemini-2.5-flash-image';
  if (!allowed.includes(defaultModel)) problems.push(`GEMINI_IMAGE_MODEL must be one of GEMINI_IMAGE_MODELS (${allowed.join(', ')})`);
  return problems;
}

/**
 * Variables that hold secrets. Each may instead be given as `<NAME>_FILE`, the
 * path of a file holding the value (Kubernetes and Docker secrets mounted as
 * files), so the secret never sits in the process environment.
 */
export const SECRET_VARIABLES = ['DATABASE_URL', 'DATABASE_DIRECT_URL', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'GEMINI_API_KEY'] as const;

/**
 * Replaces every `<NAME>_FILE` of `names` by `<NAME>` read from that file
 * (trailing line breaks removed). Both forms set, or a file that cannot be read,
 * is a problem naming the variable; the message never contains the value.
 */
function withSecretFiles(env: Record<string, string | undefined>, names: readonly string[]): { env: Record<string, string | undefined>; problems: string[] } {
  const resolved = { ...env };
  const problems: string[] = [];
  for (const name of names) {
    const fileVar = `${name}_FILE`;
    const path = env[fileVar];
    delete resolved[fileVar];
    if (!path) continue;
    if (env[name]) {
      problems.push(`${name} and ${fileVar} are both set; set only one`);
      continue;
    }
    try {
      resolved[name] = readFileSync(path, 'utf8').replace(/[\r\n]+$/, '');
    } catch (err) {
      problems.push(`${fileVar} names a file that cannot be read (${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { env: resolved, problems };
}

/** An empty variable means "not set", as in most .env tooling. */
const withoutEmpty = (env: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));

/** One problem per issue, each starting with the variable's name. */
const problemsOf = (error: z.ZodError): string[] => error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}`);

/** Parses the environment once. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const secrets = withSecretFiles(withoutEmpty(env), SECRET_VARIABLES);
  const cleaned = withoutEmpty(secrets.env);
  const parsed = envSchema.safeParse(cleaned);
  const problems = [...secrets.problems, ...(parsed.success ? [] : problemsOf(parsed.error))];
  problems.push(...dependentProblems(cleaned));
  const pricing = readPricingFile(cleaned.PRICING_FILE);
  problems.push(...pricing.problems);
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  const driver = e.STORAGE_DRIVER ?? (e.S3_ENDPOINT ? 's3' : 'fs');
  const imageProvider = e.IMAGE_PROVIDER ?? (e.GEMINI_API_KEY ? 'gemini' : 'local');

  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    databaseDirectUrl: e.DATABASE_DIRECT_URL ?? e.DATABASE_URL,
    databaseStatementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    databasePoolMax: e.DATABASE_POOL_MAX,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    queuePrefix: redisKeyPrefix(e.QUEUE_PREFIX, e.REDIS_CLUSTER_NODES !== undefined),
    storage:
      driver === 's3'
        ? {
            driver: 's3' as const,
            s3: {
              ...resolveS3Endpoint(e.S3_ENDPOINT!, e.S3_PORT, e.S3_USE_SSL, e.S3_FORCE_PATH_STYLE),
              timeoutMs: e.S3_TIMEOUT_MS,
              accessKey: e.S3_ACCESS_KEY!,
              secretKey: e.S3_SECRET_KEY!,
              bucket: e.S3_BUCKET,
              region: e.S3_REGION,
            },
          }
        : { driver: 'fs' as const, dir: e.STORAGE_DIR },
    imageProvider,
    gemini: {
      apiKey: e.GEMINI_API_KEY,
      baseUrl: e.GEMINI_BASE_URL,
      imageModel: e.GEMINI_IMAGE_MODEL,
      imageModels: e.GEMINI_IMAGE_MODELS,
      textModel: e.GEMINI_TEXT_MODEL,
      timeoutMs: e.GEMINI_TIMEOUT_MS,
      batch: { intervalMs: e.GEMINI_BATCH_INTERVAL_MS, maxItems: e.GEMINI_BATCH_MAX_ITEMS, pollMs: e.GEMINI_BATCH_POLL_MS },
    },
    pricing: pricing.value,
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      attempts: e.GENERATION_ATTEMPTS,
      lockMs: e.WORKER_LOCK_MS,
      sweepIntervalMs: e.SWEEP_INTERVAL_MS,
      metricsPort: e.WORKER_METRICS_PORT,
    },
    metricsPort: e.METRICS_PORT,
    rateLimits: {
      writePerHour: e.RATE_LIMIT_PER_HOUR,
      readPerMinute: e.READ_RATE_LIMIT_PER_MINUTE,
      authFailuresPerIpPerMinute: e.AUTH_FAILURES_PER_IP_PER_MINUTE,
    },
    providerRateLimits: Object.freeze(e.PROVIDER_RATE_LIMITS),
    generationDeadlineMs: e.GENERATION_DEADLINE_MS,
    liveMissPerIpPerHour: e.LIVE_MISS_PER_IP_PER_HOUR,
    live: { waitTimeoutMs: e.LIVE_WAIT_TIMEOUT_MS, hitFlushMs: e.LIVE_HIT_FLUSH_MS, cacheMaxBytes: e.LIVE_CACHE_MAX_BYTES, maxWaiters: e.LIVE_MAX_WAITERS },
    webhook: { retryBaseMs: e.WEBHOOK_RETRY_BASE_MS, allowPrivate: e.WEBHOOK_ALLOW_PRIVATE },
    cdn: {
      variantsPerImage: e.CDN_VARIANTS_PER_IMAGE,
      renderConcurrency: e.CDN_RENDER_CONCURRENCY,
      variantMissPerIpPerHour: e.CDN_VARIANT_MISS_PER_IP_PER_HOUR,
    },
    sse: { maxPerKey: e.SSE_MAX_PER_KEY, heartbeatMs: e.SSE_HEARTBEAT_MS },
    trustProxy: e.TRUST_PROXY,
    corsOrigins: e.CORS_ORIGINS ?? [],
    logLevel: e.LOG_LEVEL,
  });
}

/** For entry points: parse or print one message and exit(1). */
/** What an operator must hear at start: settings that are valid but unsafe on the public internet. */
export function apiStartupWarnings(config: Pick<Config, 'trustProxy'>): string[] {
  const warnings: string[] = [];
  if (config.trustProxy === true) {
    warnings.push(
      'TRUST_PROXY=true believes every X-Forwarded-For hop: any client can claim any address and escape the per-IP limits. ' +
        'Set the number of proxies in front (e.g. TRUST_PROXY=1) or their addresses/CIDRs instead.',
    );
  }
  return warnings;
}

export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
