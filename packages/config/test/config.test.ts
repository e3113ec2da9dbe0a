// packages/config against SPEC §2: every default, the derived settings, and
// "one message naming every bad variable" (ConfigError.problems).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, SECRET_VARIABLES, apiStartupWarnings, loadConfig } from '@banatie/config';

/** The ConfigError loadConfig throws for `env` (fails the test when it does not throw one). */
function problemsOf(env: Record<string, string | undefined>): { problems: string[]; message: string } {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    return { problems: e.problems, message: e.message };
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** Variables named at the start of each problem. */
const named = (problems: string[]): string[] => problems.map((p) => /^[A-Z0-9_]+/.exec(p)?.[0] ?? p).sort();

const S3_KEYS = { S3_ACCESS_KEY: 'access', S3_SECRET_KEY: 'secret' };

describe('loadConfig defaults (SPEC §2)', () => {
  it('with an empty environment', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      publicBaseUrl: 'http://localhost:3000',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/banatie',
      databaseDirectUrl: 'postgres://postgres@127.0.0.1:5432/banatie',
      databaseStatementTimeoutMs: 10_000,
      redisUrl: 'redis://127.0.0.1:6379',
      redisClusterNodes: undefined,
      queuePrefix: 'banatie',
      storage: { driver: 'fs', dir: './data/storage' },
      imageProvider: 'local',
      gemini: {
        apiKey: undefined,
        baseUrl: undefined,
        imageModel: 'gemini-2.5-flash-image',
        imageModels: ['gemini-2.5-flash-image', 'gemini-3-pro-image-preview', 'gemini-3.1-flash-image-preview'],
        textModel: 'gemini-2.5-flash',
        timeoutMs: 120_000,
        batch: { intervalMs: 60_000, maxItems: 100, pollMs: 30_000 },
      },
      pricing: {},
      worker: { concurrency: 4, attempts: 3, lockMs: 30_000, sweepIntervalMs: 30_000, metricsPort: 9464 },
      metricsPort: undefined,
      rateLimits: { writePerHour: 100, readPerMinute: 600, authFailuresPerIpPerMinute: 30 },
      providerRateLimits: {},
      generationDeadlineMs: 600_000,
      liveMissPerIpPerHour: 10,
      live: { waitTimeoutMs: 60_000, hitFlushMs: 5000, cacheMaxBytes: 64 * 1024 * 1024, maxWaiters: 1000 },
      webhook: { retryBaseMs: 5000, allowPrivate: false },
      cdn: { variantsPerImage: 16, renderConcurrency: 2, variantMissPerIpPerHour: 200 },
      sse: { maxPerKey: 20, heartbeatMs: 15_000 },
      trustProxy: false,
      corsOrigins: [],
      logLevel: 'info',
    });
  });

  it('CDN limits (SPEC §11): set, 0 disables the per-IP allowance, a bad value names its variable', () => {
    expect(loadConfig({ CDN_VARIANTS_PER_IMAGE: '4', CDN_RENDER_CONCURRENCY: '1', CDN_VARIANT_MISS_PER_IP_PER_HOUR: '0' }).cdn).toEqual({
      variantsPerImage: 4,
      renderConcurrency: 1,
      variantMissPerIpPerHour: 0,
    });
    let problems: string[] = [];
    try {
      loadConfig({ CDN_VARIANTS_PER_IMAGE: '0', CDN_RENDER_CONCURRENCY: 'many', CDN_VARIANT_MISS_PER_IP_PER_HOUR: '-1' });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(named(problems)).toEqual(['CDN_RENDER_CONCURRENCY', 'CDN_VARIANTS_PER_IMAGE', 'CDN_VARIANT_MISS_PER_IP_PER_HOUR']);
  });

  it('reads only the environment it is given', () => {
    const saved = process.env.PORT;
    process.env.PORT = '4321';
    try {
      expect(loadConfig({}).port).toBe(3000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('PUBLIC_BASE_URL defaults to http://localhost:$PORT and loses trailing slashes', () => {
    expect(loadConfig({ PORT: '8080' }).publicBaseUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://img.example.com/' }).publicBaseUrl).toBe('https://img.example.com');
  });

  it('an empty variable counts as unset', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '', S3_ENDPOINT: '', GEMINI_API_KEY: '' })).toEqual(loadConfig({}));
  });

  it('storage is s3 when S3_ENDPOINT is set, with the S3 defaults', () => {
    expect(loadConfig({ S3_ENDPOINT: 'minio', ...S3_KEYS }).storage).toEqual({
      driver: 's3',
      s3: { endPoint: 'minio', port: 9000, useSSL: false, pathStyle: true, timeoutMs: 30_000, accessKey: 'access', secretKey: 'secret', bucket: 'banatie', region: 'us-east-1' },
    });
    expect(
      loadConfig({ S3_ENDPOINT: '127.0.0.1', S3_PORT: '9100', S3_USE_SSL: 'true', S3_BUCKET: 'pics', S3_REGION: 'eu-west-1', ...S3_KEYS }).storage,
    ).toEqual({
      driver: 's3',
      s3: { endPoint: '127.0.0.1', port: 9100, useSSL: true, pathStyle: true, timeoutMs: 30_000, accessKey: 'access', secretKey: 'secret', bucket: 'pics', region: 'eu-west-1' },
    });
    // An explicit STORAGE_DRIVER wins.
    expect(loadConfig({ STORAGE_DRIVER: 'fs', STORAGE_DIR: '/srv/img', S3_ENDPOINT: 'minio' }).storage).toEqual({ driver: 'fs', dir: '/srv/img' });
  });

  it('S3_ENDPOINT as a URL gives host, port and TLS; AWS endpoints are addressed by host name', () => {
    const s3 = (env: Record<string, string>) => {
      const storage = loadConfig({ ...env, ...S3_KEYS }).storage;
      return storage.driver === 's3' ? storage.s3 : null;
    };
    expect(s3({ S3_ENDPOINT: 'https://s3.eu-central-1.amazonaws.com', S3_REGION: 'eu-central-1' })).toMatchObject({
      endPoint: 's3.eu-central-1.amazonaws.com', port: 443, useSSL: true, pathStyle: false, region: 'eu-central-1',
    });
    expect(s3({ S3_ENDPOINT: 'http://minio:9000' })).toMatchObject({ endPoint: 'minio', port: 9000, useSSL: false, pathStyle: true });
    expect(s3({ S3_ENDPOINT: 'https://abc123.r2.cloudflarestorage.com/' })).toMatchObject({ endPoint: 'abc123.r2.cloudflarestorage.com', port: 443, useSSL: true, pathStyle: true });
    expect(s3({ S3_ENDPOINT: 'http://[::1]:3900' })).toMatchObject({ endPoint: '::1', port: 3900 });
    expect(s3({ S3_ENDPOINT: 'my_garage:3900' })).toMatchObject({ endPoint: 'my_garage', port: 3900, useSSL: false });
    expect(s3({ S3_ENDPOINT: 'https://s3.amazonaws.com', S3_FORCE_PATH_STYLE: 'true' })).toMatchObject({ pathStyle: true });
    expect(s3({ S3_ENDPOINT: 'minio', S3_FORCE_PATH_STYLE: 'false', S3_TIMEOUT_MS: '5000' })).toMatchObject({ pathStyle: false, timeoutMs: 5000 });
  });

  it('the provider is gemini when GEMINI_API_KEY is set, unless IMAGE_PROVIDER says otherwise', () => {
    const gemini = loadConfig({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: 'http://127.0.0.1:9999' });
    expect(gemini.imageProvider).toBe('gemini');
    expect(gemini.gemini).toMatchObject({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9999' });
    expect(loadConfig({ GEMINI_API_KEY: 'k', IMAGE_PROVIDER: 'local' }).imageProvider).toBe('local');
  });

  it('parses numbers and booleans', () => {
    const c = loadConfig({
      RATE_LIMIT_PER_HOUR: '0',
      READ_RATE_LIMIT_PER_MINUTE: '0',
      AUTH_FAILURES_PER_IP_PER_MINUTE: '7',
      WORKER_CONCURRENCY: '16',
      GENERATION_ATTEMPTS: '5',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      TRUST_PROXY: '1',
      LOG_LEVEL: 'debug',
    });
    expect(c.rateLimits).toEqual({ writePerHour: 0, readPerMinute: 0, authFailuresPerIpPerMinute: 7 }); // 0 disables a limit
    expect(c.worker).toMatchObject({ concurrency: 16, attempts: 5 });
    expect(c.webhook.allowPrivate).toBe(true);
    expect(c.trustProxy).toBe(1);
    expect(c.logLevel).toBe('debug');
    expect(loadConfig({ TRUST_PROXY: 'false', WEBHOOK_ALLOW_PRIVATE: '0' })).toMatchObject({ trustProxy: false, webhook: { allowPrivate: false } });
  });
});

describe('invalid configuration names every bad variable', () => {
  it('a rate limit that is not a non-negative integer (SPEC §17, §11)', () => {
    for (const name of ['RATE_LIMIT_PER_HOUR', 'READ_RATE_LIMIT_PER_MINUTE', 'AUTH_FAILURES_PER_IP_PER_MINUTE']) {
      for (const value of ['-1', '2.5', 'lots', '1e400']) {
        const { problems } = problemsOf({ [name]: value });
        expect(named(problems)).toEqual([name]);
      }
    }
  });

  it('in one ConfigError, one problem per variable', () => {
    const { problems, message } = problemsOf({
      PORT: 'abc',
      WORKER_CONCURRENCY: '0',
      LOG_LEVEL: 'loud',
    });
    expect(named(problems)).toEqual(['LOG_LEVEL', 'PORT', 'WORKER_CONCURRENCY']);
    expect(message).toBe(`Invalid configuration: ${problems.join('; ')}`);
    expect(message).not.toContain('\n');
  });

  it('across every kind of variable', () => {
    const bad = {
      PORT: '70000',
      PUBLIC_BASE_URL: 'not a url',
      DATABASE_URL: 'mysql://db/banatie',
      REDIS_URL: 'http://127.0.0.1:6379',
      QUEUE_PREFIX: 'has spaces',
      REDIS_CLUSTER_NODES: 'redis-1:6379,redis-2',
      STORAGE_DRIVER: 'ftp',
      S3_USE_SSL: 'maybe',
      IMAGE_PROVIDER: 'dall-e',
      GEMINI_BASE_URL: 'ftp://x',
      GEMINI_TIMEOUT_MS: '-1',
      WORKER_CONCURRENCY: '1.5',
      GENERATION_ATTEMPTS: '0',
      WORKER_LOCK_MS: 'soon',
      SWEEP_INTERVAL_MS: '0',
      WORKER_METRICS_PORT: '65536',
      RATE_LIMIT_PER_HOUR: '-1',
      READ_RATE_LIMIT_PER_MINUTE: '1.5',
      AUTH_FAILURES_PER_IP_PER_MINUTE: 'many',
      LIVE_MISS_PER_IP_PER_HOUR: 'x',
      DATABASE_DIRECT_URL: 'redis://127.0.0.1/0',
      DATABASE_STATEMENT_TIMEOUT_MS: '-5',
      LIVE_WAIT_TIMEOUT_MS: '10',
      LIVE_HIT_FLUSH_MS: 'often',
      LIVE_CACHE_MAX_BYTES: '-1',
      WEBHOOK_RETRY_BASE_MS: '0',
      WEBHOOK_ALLOW_PRIVATE: 'perhaps',
      TRUST_PROXY: 'sure',
      LOG_LEVEL: 'loud',
    };
    const { problems } = problemsOf(bad);
    expect(named(problems)).toEqual(Object.keys(bad).sort());
  });

  it('S3_ENDPOINT that is neither a host nor an http(s) URL without a path names it; the secret never appears', () => {
    for (const value of ['ftp://minio', 'https://s3.amazonaws.com/my-bucket', 'http://user:pw@minio:9000', 'minio/bucket', 'http://', 'mi nio', '_minio', 'https://host?x=1', 'http://minio:99999']) {
      const { problems, message } = problemsOf({ S3_ENDPOINT: value, S3_ACCESS_KEY: 'access', S3_SECRET_KEY: 'super-secret' });
      expect(named(problems), value).toEqual(['S3_ENDPOINT']);
      expect(message).not.toContain('super-secret');
    }
  });

  it('S3_PORT or S3_USE_SSL that contradict an S3_ENDPOINT URL are named', () => {
    expect(named(problemsOf({ S3_ENDPOINT: 'https://s3.example.com', S3_PORT: '9000', ...S3_KEYS }).problems)).toEqual(['S3_PORT']);
    expect(named(problemsOf({ S3_ENDPOINT: 'http://minio:9000', S3_USE_SSL: 'true', ...S3_KEYS }).problems)).toEqual(['S3_USE_SSL']);
    expect(loadConfig({ S3_ENDPOINT: 'https://s3.example.com', S3_PORT: '443', S3_USE_SSL: 'true', ...S3_KEYS }).storage).toMatchObject({ s3: { port: 443, useSSL: true } });
  });

  it('STORAGE_DRIVER=s3 without S3_ENDPOINT (or keys) names them', () => {
    expect(named(problemsOf({ STORAGE_DRIVER: 's3' }).problems)).toEqual(['S3_ACCESS_KEY', 'S3_ENDPOINT', 'S3_SECRET_KEY']);
    expect(named(problemsOf({ STORAGE_DRIVER: 's3', ...S3_KEYS }).problems)).toEqual(['S3_ENDPOINT']);
  });

  it('IMAGE_PROVIDER=gemini without GEMINI_API_KEY names GEMINI_API_KEY', () => {
    expect(named(problemsOf({ IMAGE_PROVIDER: 'gemini' }).problems)).toEqual(['GEMINI_API_KEY']);
  });

  it('names dependent variables together with malformed ones', () => {
    const { problems } = problemsOf({ PORT: 'abc', STORAGE_DRIVER: 's3', IMAGE_PROVIDER: 'gemini', ...S3_KEYS });
    expect(named(problems)).toEqual(['GEMINI_API_KEY', 'PORT', 'S3_ENDPOINT']);
  });
});

describe('REDIS_CLUSTER_NODES (SPEC §14)', () => {
  it('is unset by default: the single Redis, keys under QUEUE_PREFIX as they always were', () => {
    const config = loadConfig({ QUEUE_PREFIX: 'shop' });
    expect(config.redisClusterNodes).toBeUndefined();
    expect(config.queuePrefix).toBe('shop');
  });

  it('takes host:port seed nodes and hash-tags the key prefix, so a deployment keeps to one slot', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000, 10.0.0.2:7001,[::1]:7002', QUEUE_PREFIX: 'shop' });
    expect(config.redisClusterNodes).toEqual([
      { host: 'redis-1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(config.queuePrefix).toBe('{shop}');
  });

  it.each(['redis-1', 'redis-1:0', 'redis-1:70000', 'redis-1:7000,', 'redis://redis-1:7000', 'a b:1'])('refuses %j naming the variable', (value) => {
    expect(named(problemsOf({ REDIS_CLUSTER_NODES: value }).problems)).toEqual(['REDIS_CLUSTER_NODES']);
  });
});

describe('TRUST_PROXY (SPEC §2, §11)', () => {
  it('takes false, a hop count, or proxy IPs/CIDRs; true only with a warning', () => {
    const trust = (v: string) => loadConfig({ TRUST_PROXY: v }).trustProxy;
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 192.168.1.7,fd00::/8 , loopback')).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'loopback']);
    expect(apiStartupWarnings(loadConfig({ TRUST_PROXY: '1' }))).toEqual([]);
    expect(apiStartupWarnings(loadConfig({ TRUST_PROXY: '10.0.0.0/8' }))).toEqual([]);
    expect(trust('true')).toBe(true);
    const warnings = apiStartupWarnings(loadConfig({ TRUST_PROXY: 'true' }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('TRUST_PROXY=true');
  });

  it('a bad value names TRUST_PROXY', () => {
    for (const bad of ['yes', 'maybe', '10.0.0.0/33', '10.0.0.1/8/1', '300.1.1.1', '10.0.0.1,', '-1', '1.5', 'fe80::/129']) {
      const { problems } = problemsOf({ TRUST_PROXY: bad });
      expect(problems, bad).toHaveLength(1);
      expect(problems[0], bad).toMatch(/^TRUST_PROXY /);
    }
  });
});

describe('PostgreSQL settings (SPEC §14)', () => {
  it('DATABASE_DIRECT_URL defaults to DATABASE_URL and can point elsewhere', () => {
    const pooled = 'postgres://app@pgbouncer:6432/banatie';
    expect(loadConfig({ DATABASE_URL: pooled })).toMatchObject({ databaseUrl: pooled, databaseDirectUrl: pooled });
    expect(loadConfig({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: 'postgres://app@db:5432/banatie' })).toMatchObject({
      databaseUrl: pooled,
      databaseDirectUrl: 'postgres://app@db:5432/banatie',
    });
  });

  it('DATABASE_STATEMENT_TIMEOUT_MS: 10000 by default, 0 turns it off', () => {
    expect(loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '2500' }).databaseStatementTimeoutMs).toBe(2500);
    expect(loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '0' }).databaseStatementTimeoutMs).toBe(0);
    expect(named(problemsOf({ DATABASE_STATEMENT_TIMEOUT_MS: 'soon' }).problems)).toEqual(['DATABASE_STATEMENT_TIMEOUT_MS']);
  });
});

describe('capacity settings (SPEC §12)', () => {
  it('PROVIDER_RATE_LIMITS: model=requestsPerMinute pairs, none by default', () => {
    expect(loadConfig({ PROVIDER_RATE_LIMITS: 'gemini-2.5-flash-image=10, gemini-2.5-flash=60' }).providerRateLimits).toEqual({
      'gemini-2.5-flash-image': 10,
      'gemini-2.5-flash': 60,
    });
    for (const bad of ['gemini=fast', 'gemini', 'gemini=0', '=5', 'a=1,b=-2']) {
      expect(named(problemsOf({ PROVIDER_RATE_LIMITS: bad }).problems), bad).toEqual(['PROVIDER_RATE_LIMITS']);
    }
  });

  it('GENERATION_DEADLINE_MS: 600000 by default, at least a second', () => {
    expect(loadConfig({ GENERATION_DEADLINE_MS: '30000' }).generationDeadlineMs).toBe(30_000);
    expect(named(problemsOf({ GENERATION_DEADLINE_MS: '10' }).problems)).toEqual(['GENERATION_DEADLINE_MS']);
  });
});

describe('secrets from files (<NAME>_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'banatie-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('covers every secret variable', () => {
    expect([...SECRET_VARIABLES].sort()).toEqual(['DATABASE_DIRECT_URL', 'DATABASE_URL', 'GEMINI_API_KEY', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY']);
  });

  it('reads each value from its file, without the trailing newline', () => {
    const c = loadConfig({
      DATABASE_URL_FILE: secretFile('db', 'postgres://app:s3cret@pgbouncer:6432/banatie\n'),
      DATABASE_DIRECT_URL_FILE: secretFile('direct', 'postgres://app:s3cret@db:5432/banatie\r\n'),
      REDIS_URL_FILE: secretFile('redis', 'redis://:pw@redis:6379\n'),
      S3_ENDPOINT: 's3.example.com',
      S3_ACCESS_KEY_FILE: secretFile('access', 'AKIA123'),
      S3_SECRET_KEY_FILE: secretFile('secret', 'abc/def+ghi\n'),
      GEMINI_API_KEY_FILE: secretFile('gemini', 'AIza-key \n'),
    });
    expect(c.databaseUrl).toBe('postgres://app:s3cret@pgbouncer:6432/banatie');
    expect(c.databaseDirectUrl).toBe('postgres://app:s3cret@db:5432/banatie');
    expect(c.redisUrl).toBe('redis://:pw@redis:6379');
    expect(c.storage).toMatchObject({ driver: 's3', s3: { accessKey: 'AKIA123', secretKey: 'abc/def+ghi' } });
    // Only line breaks are trimmed: a space can be part of a secret.
    expect(c.gemini.apiKey).toBe('AIza-key ');
    expect(c.imageProvider).toBe('gemini');
  });

  it('a file read this way satisfies the checks between variables', () => {
    const c = loadConfig({ IMAGE_PROVIDER: 'gemini', GEMINI_API_KEY_FILE: secretFile('gemini2', 'k\n') });
    expect(c.gemini.apiKey).toBe('k');
  });

  it('refuses both forms at once, naming the variable but not the value', () => {
    const { problems, message } = problemsOf({ GEMINI_API_KEY: 'from-env-value', GEMINI_API_KEY_FILE: secretFile('gemini3', 'from-file-value') });
    expect(named(problems)).toEqual(['GEMINI_API_KEY']);
    expect(message).toContain('GEMINI_API_KEY_FILE');
    expect(message).not.toMatch(/from-env-value|from-file-value/);
  });

  it('names a file that cannot be read, together with every other bad variable', () => {
    const { problems, message } = problemsOf({
      DATABASE_URL_FILE: join(dir, 'missing'),
      S3_SECRET_KEY_FILE: dir, // a directory
      PORT: 'abc',
    });
    expect(named(problems)).toEqual(['DATABASE_URL_FILE', 'PORT', 'S3_SECRET_KEY_FILE']);
    expect(message).toContain(`${join(dir, 'missing')}: ENOENT`);
    expect(message).toContain('EISDIR');
  });

  it('a value read from a file is validated like one from the environment, without echoing it', () => {
    const { problems, message } = problemsOf({ REDIS_URL_FILE: secretFile('bad-redis', 'http://user:hunter2@redis:6379\n') });
    expect(named(problems)).toEqual(['REDIS_URL']);
    expect(message).not.toContain('hunter2');
  });

  it('an empty file or an empty _FILE variable counts as unset', () => {
    expect(loadConfig({ GEMINI_API_KEY_FILE: secretFile('empty', '\n') }).gemini.apiKey).toBeUndefined();
    expect(loadConfig({ DATABASE_URL_FILE: '' })).toEqual(loadConfig({}));
  });
});

describe('event streams (SPEC §11)', () => {
  it('SSE_MAX_PER_KEY and SSE_HEARTBEAT_MS; a heartbeat over 15 s is refused (it bounds how long a revoked key streams)', () => {
    expect(loadConfig({ SSE_MAX_PER_KEY: '0', SSE_HEARTBEAT_MS: '250' }).sse).toEqual({ maxPerKey: 0, heartbeatMs: 250 });
    expect(() => loadConfig({ SSE_HEARTBEAT_MS: '20000' })).toThrow(/SSE_HEARTBEAT_MS must be ≤ 15000/);
    expect(() => loadConfig({ SSE_MAX_PER_KEY: '-1' })).toThrow(/SSE_MAX_PER_KEY/);
  });
});

describe('METRICS_PORT (SPEC §11)', () => {
  it('unset by default; a port when set; 0 or a non-port is refused naming it', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9100' }).metricsPort).toBe(9100);
    expect(() => loadConfig({ METRICS_PORT: '0' })).toThrow(/METRICS_PORT must be ≥ 1/);
    expect(() => loadConfig({ METRICS_PORT: 'x' })).toThrow(/METRICS_PORT/);
  });
});

describe('PRICING_FILE (SPEC §12)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'banatie-pricing-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads the models it prices', () => {
    const prices = { 'gemini-9-image': { standard: { input: 1, textOutput: 2, imageOutput: { '1K': 0.5, '4K': null } } } };
    expect(loadConfig({ PRICING_FILE: file('ok.json', JSON.stringify(prices)) }).pricing).toEqual(prices);
  });

  it.each([
    ['missing.json', null, /^PRICING_FILE names a file that cannot be read/],
    ['bad.json', '{not json', /^PRICING_FILE is not valid JSON/],
    ['negative.json', JSON.stringify({ m: { standard: { input: -1, textOutput: 0, imageOutput: {} } } }), /^PRICING_FILE m\.standard\.input: /],
    ['size.json', JSON.stringify({ m: { standard: { input: 0, textOutput: 0, imageOutput: { '8K': 1 } } } }), /^PRICING_FILE m\.standard\.imageOutput/],
    ['unknown-field.json', JSON.stringify({ m: { standard: { input: 0, textOutput: 0, imageOutput: {}, output: 1 } } }), /^PRICING_FILE m\.standard/],
  ])('%s stops start-up naming the variable', (name, text, pattern) => {
    const path = text === null ? join(dir, name) : file(name, text);
    const { problems } = problemsOf({ PRICING_FILE: path, PORT: 'x' });
    expect(named(problems)).toEqual(['PORT', 'PRICING_FILE']);
    expect(problems.find((p) => p.startsWith('PRICING_FILE'))).toMatch(pattern);
  });
});

describe('image models (SPEC §13)', () => {
  it('takes an allow-list and a default from it', () => {
    const config = loadConfig({ GEMINI_IMAGE_MODELS: ' gemini-3-pro-image-preview , gemini-3.1-flash-image-preview', GEMINI_IMAGE_MODEL: 'gemini-3.1-flash-image-preview' });
    expect(config.gemini.imageModels).toEqual(['gemini-3-pro-image-preview', 'gemini-3.1-flash-image-preview']);
    expect(config.gemini.imageModel).toBe('gemini-3.1-flash-image-preview');
  });

  it('refuses an unknown model and a default outside the allow-list, naming the variables', () => {
    expect(named(problemsOf({ GEMINI_IMAGE_MODELS: 'gemini-2.5-flash-image,imagen-4' }).problems)).toEqual(['GEMINI_IMAGE_MODELS']);
    const { problems } = problemsOf({ GEMINI_IMAGE_MODELS: 'gemini-3-pro-image-preview' });
    expect(named(problems)).toEqual(['GEMINI_IMAGE_MODEL']);
    expect(problems[0]).toContain('gemini-3-pro-image-preview');
  });

  it('validates the batch settings', () => {
    expect(named(problemsOf({ GEMINI_BATCH_INTERVAL_MS: '0', GEMINI_BATCH_MAX_ITEMS: 'x', GEMINI_BATCH_POLL_MS: '-1' }).problems)).toEqual([
      'GEMINI_BATCH_INTERVAL_MS',
      'GEMINI_BATCH_MAX_ITEMS',
      'GEMINI_BATCH_POLL_MS',
    ]);
  });
});
