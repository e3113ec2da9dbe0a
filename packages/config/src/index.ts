import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
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

const envSchema = z.object({
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
  STORAGE_DRIVER: z.enum(['fs', 's3'], { error: 'must be fs or s3' }).optional(),
  STORAGE_DIR: z.string().min(1).default('./data/storage'),
  S3_ENDPOINT: z.string().min(1).optional(),
  S3_PORT: int(1, 65535).default(9000),
  S3_USE_SSL: bool.default(false),
  S3_ACCESS_KEY: z.string().optional(),
  S3_SECRET_KEY: z.string().optional(),
  S3_BUCKET: z.string().min(3).default('banatie'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  IMAGE_PROVIDER: z.enum(['gemini', 'local'], { error: 'must be gemini or local' }).optional(),
  GEMINI_API_KEY: z.string().min(1).optional(),
  GEMINI_BASE_URL: url(['http:', 'https:']).optional(),
  GEMINI_IMAGE_MODEL: z.string().min(1).default('gemini-2.5-flash-image'),
  GEMINI_TEXT_MODEL: z.string().min(1).default('gemini-2.5-flash'),
  GEMINI_TIMEOUT_MS: int(1).default(120_000),
  DATABASE_POOL_MAX: int(1, 1000).optional(),
  WORKER_CONCURRENCY: int(1, 1000).default(4),
  GENERATION_ATTEMPTS: int(1, 100).default(3),
  WORKER_LOCK_MS: int(1000).default(30_000),
  SWEEP_INTERVAL_MS: int(100).default(30_000),
  WORKER_METRICS_PORT: int(0, 65535).default(9464),
  RATE_LIMIT_PER_HOUR: int(0).default(100),
  LIVE_MISS_PER_IP_PER_HOUR: int(0).default(10),
  LIVE_WAIT_TIMEOUT_MS: int(100).default(60_000),
  LIVE_HIT_FLUSH_MS: int(100).default(5_000),
  LIVE_CACHE_MAX_BYTES: int(0).default(64 * 1024 * 1024),
  LIVE_MAX_WAITERS: int(1, 1_000_000).default(1000),
  WEBHOOK_RETRY_BASE_MS: int(1).default(5000),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  TRUST_PROXY: trustProxySchema.default(false),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal error warn info debug trace silent',
    })
    .default('info'),
});

type Env = z.infer<typeof envSchema>;

export interface S3Config {
  endPoint: string;
  port: number;
  useSSL: boolean;
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
  redisUrl: string;
  queuePrefix: string;
  storage: { driver: 'fs'; dir: string } | { driver: 's3'; s3: S3Config };
  imageProvider: 'gemini' | 'local';
  gemini: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    imageModel: string;
    textModel: string;
    timeoutMs: number;
  };
  worker: {
    concurrency: number;
    attempts: number;
    lockMs: number;
    sweepIntervalMs: number;
    /** Port of the worker's Prometheus `/metrics` listener (on HOST); 0: none. */
    metricsPort: number;
  };
  rateLimitPerHour: number;
  liveMissPerIpPerHour: number;
  /** Live URLs: MISS wait before 504, hit-count flush period, in-process hot bytes budget, open MISSes per process before 503. */
  live: { waitTimeoutMs: number; hitFlushMs: number; cacheMaxBytes: number; maxWaiters: number };
  webhook: { retryBaseMs: number; allowPrivate: boolean };
  /** Fastify's `trustProxy`: false, a hop count, proxy addresses/CIDRs, or true (see startupWarnings). */
  trustProxy: TrustProxy;
  logLevel: Env['LOG_LEVEL'];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
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
  const provider = env.IMAGE_PROVIDER ?? (env.GEMINI_API_KEY ? 'gemini' : 'local');
  if (provider === 'gemini' && !env.GEMINI_API_KEY) problems.push('GEMINI_API_KEY is required when IMAGE_PROVIDER=gemini');
  return problems;
}

/**
 * Variables that hold secrets. Each may instead be given as `<NAME>_FILE`, the
 * path of a file holding the value (Kubernetes and Docker secrets mounted as
 * files), so the secret never sits in the process environment.
 */
export const SECRET_VARIABLES = ['DATABASE_URL', 'DATABASE_DIRECT_URL', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'GEMINI_API_KEY'] as const;
/** The client CLI's secret (its `_FILE` form works the same way). */
export const CLI_SECRET_VARIABLES = ['BANATIE_API_KEY'] as const;

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
    queuePrefix: e.QUEUE_PREFIX,
    storage:
      driver === 's3'
        ? {
            driver: 's3' as const,
            s3: {
              endPoint: e.S3_ENDPOINT!,
              port: e.S3_PORT,
              useSSL: e.S3_USE_SSL,
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
      textModel: e.GEMINI_TEXT_MODEL,
      timeoutMs: e.GEMINI_TIMEOUT_MS,
    },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      attempts: e.GENERATION_ATTEMPTS,
      lockMs: e.WORKER_LOCK_MS,
      sweepIntervalMs: e.SWEEP_INTERVAL_MS,
      metricsPort: e.WORKER_METRICS_PORT,
    },
    rateLimitPerHour: e.RATE_LIMIT_PER_HOUR,
    liveMissPerIpPerHour: e.LIVE_MISS_PER_IP_PER_HOUR,
    live: { waitTimeoutMs: e.LIVE_WAIT_TIMEOUT_MS, hitFlushMs: e.LIVE_HIT_FLUSH_MS, cacheMaxBytes: e.LIVE_CACHE_MAX_BYTES, maxWaiters: e.LIVE_MAX_WAITERS },
    webhook: { retryBaseMs: e.WEBHOOK_RETRY_BASE_MS, allowPrivate: e.WEBHOOK_ALLOW_PRIVATE },
    trustProxy: e.TRUST_PROXY,
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

/** Settings of the client CLI (`banatie generate …`), which talks to a running API, not to the database. */
export interface CliClientConfig {
  /** `BANATIE_API_KEY`; the CLI asks for it only on commands that call the API. */
  apiKey: string | undefined;
  /** `BANATIE_API_URL`, without a trailing slash. */
  apiUrl: string;
}

const cliClientEnvSchema = z.object({
  BANATIE_API_KEY: z.string().trim().min(1).optional(),
  BANATIE_API_URL: url(['http:', 'https:']).default('http://localhost:3000'),
});

/**
 * Parses the client CLI's variables (command-line flags are merged into `env`
 * by the caller, so a bad `--api-url` is reported like a bad variable).
 * Throws ConfigError naming every bad variable.
 */
export function loadCliClientConfig(env: Record<string, string | undefined> = process.env): CliClientConfig {
  const secrets = withSecretFiles(withoutEmpty(env), CLI_SECRET_VARIABLES);
  const parsed = cliClientEnvSchema.safeParse(withoutEmpty(secrets.env));
  if (secrets.problems.length || !parsed.success) throw new ConfigError([...secrets.problems, ...(parsed.success ? [] : problemsOf(parsed.error))]);
  return Object.freeze({ apiKey: parsed.data.BANATIE_API_KEY, apiUrl: parsed.data.BANATIE_API_URL.replace(/\/+$/, '') });
}
