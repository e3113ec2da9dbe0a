// packages/config against SPEC §2: every default, the derived settings, and
// "one message naming every bad variable" (ConfigError.problems).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_SECRET_VARIABLES, ConfigError, SECRET_VARIABLES, apiStartupWarnings, loadCliClientConfig, loadConfig } from '@banatie/config';

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
      live: { waitTimeoutMs: 60_000, hitFlushMs: 5000, cacheMaxBytes: 64 * 1024 * 1024, maxWaiters: 1000 },
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
    expect(c.trustProxy).toBe(1);
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
    expect([...CLI_SECRET_VARIABLES]).toEqual(['BANATIE_API_KEY']);
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

  it('BANATIE_API_KEY_FILE for the client CLI', () => {
    expect(loadCliClientConfig({ BANATIE_API_KEY_FILE: secretFile('cli', 'bnt_fromfile\n') }).apiKey).toBe('bnt_fromfile');
    expect(() => loadCliClientConfig({ BANATIE_API_KEY: 'bnt_a', BANATIE_API_KEY_FILE: secretFile('cli2', 'bnt_b') })).toThrow(/BANATIE_API_KEY and BANATIE_API_KEY_FILE/);
    expect(() => loadCliClientConfig({ BANATIE_API_KEY_FILE: join(dir, 'nope') })).toThrow(/^Invalid configuration: BANATIE_API_KEY_FILE names a file that cannot be read/);
  });
});
