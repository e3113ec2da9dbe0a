// packages/config against SPEC §2: every default, the derived settings, and
// "one message naming every bad variable" (ConfigError.problems).
import { describe, expect, it } from 'vitest';
import { ConfigError, loadCliClientConfig, loadConfig } from '@banatie/config';

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
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'banatie',
      storage: { driver: 'fs', dir: './data/storage' },
      imageProvider: 'local',
      gemini: {
        apiKey: undefined,
        baseUrl: undefined,
        imageModel: 'gemini-2.5-flash-image',
        textModel: 'gemini-2.5-flash',
        timeoutMs: 120_000,
      },
      worker: { concurrency: 4, attempts: 3, lockMs: 30_000, sweepIntervalMs: 30_000, metricsPort: 9464 },
      rateLimitPerHour: 100,
      liveMissPerIpPerHour: 10,
      live: { waitTimeoutMs: 60_000, hitFlushMs: 5000, cacheMaxBytes: 64 * 1024 * 1024 },
      webhook: { retryBaseMs: 5000, allowPrivate: false },
      trustProxy: false,
      logLevel: 'info',
    });
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
      s3: { endPoint: 'minio', port: 9000, useSSL: false, accessKey: 'access', secretKey: 'secret', bucket: 'banatie', region: 'us-east-1' },
    });
    expect(
      loadConfig({ S3_ENDPOINT: '127.0.0.1', S3_PORT: '9100', S3_USE_SSL: 'true', S3_BUCKET: 'pics', S3_REGION: 'eu-west-1', ...S3_KEYS }).storage,
    ).toEqual({
      driver: 's3',
      s3: { endPoint: '127.0.0.1', port: 9100, useSSL: true, accessKey: 'access', secretKey: 'secret', bucket: 'pics', region: 'eu-west-1' },
    });
    // An explicit STORAGE_DRIVER wins.
    expect(loadConfig({ STORAGE_DRIVER: 'fs', STORAGE_DIR: '/srv/img', S3_ENDPOINT: 'minio' }).storage).toEqual({ driver: 'fs', dir: '/srv/img' });
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
      WORKER_CONCURRENCY: '16',
      GENERATION_ATTEMPTS: '5',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      TRUST_PROXY: '1',
      LOG_LEVEL: 'debug',
    });
    expect(c.rateLimitPerHour).toBe(0); // 0 disables rate limiting
    expect(c.worker).toMatchObject({ concurrency: 16, attempts: 5 });
    expect(c.webhook.allowPrivate).toBe(true);
    expect(c.trustProxy).toBe(true);
    expect(c.logLevel).toBe('debug');
    expect(loadConfig({ TRUST_PROXY: 'false', WEBHOOK_ALLOW_PRIVATE: '0' })).toMatchObject({ trustProxy: false, webhook: { allowPrivate: false } });
  });
});

describe('invalid configuration names every bad variable', () => {
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
      LIVE_MISS_PER_IP_PER_HOUR: 'x',
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

describe('loadCliClientConfig (client CLI)', () => {
  it('defaults to a local API and no key', () => {
    expect(loadCliClientConfig({})).toEqual({ apiKey: undefined, apiUrl: 'http://localhost:3000' });
    expect(loadCliClientConfig({ BANATIE_API_KEY: '', BANATIE_API_URL: '' })).toEqual({ apiKey: undefined, apiUrl: 'http://localhost:3000' });
  });

  it('takes the key and the URL without its trailing slash', () => {
    expect(loadCliClientConfig({ BANATIE_API_KEY: 'bnt_abc', BANATIE_API_URL: 'https://img.example.com/' })).toEqual({
      apiKey: 'bnt_abc',
      apiUrl: 'https://img.example.com',
    });
  });

  it('names a URL that is not http(s)', () => {
    expect(() => loadCliClientConfig({ BANATIE_API_URL: 'localhost:3000' })).toThrow(ConfigError);
    expect(() => loadCliClientConfig({ BANATIE_API_URL: 'ftp://x' })).toThrow(/^Invalid configuration: BANATIE_API_URL must be a http: or https: URL$/);
  });
});
