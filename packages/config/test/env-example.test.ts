// `.env.example` (SPEC §15) is generated from the config schema and must stay in sync with it,
// and CORS_ORIGINS is validated like every other variable.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, loadConfig } from '@banatie/config';
import { renderEnvExample } from '@banatie/config/env-example';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('.env.example', () => {
  it('is exactly what `npm run env:example` generates from the schema', () => {
    expect(readFileSync(`${ROOT}.env.example`, 'utf8'), 'run `npm run env:example` and commit .env.example').toBe(renderEnvExample());
  });

  it('lists every variable of the schema once, with its default and a meaning', () => {
    const text = renderEnvExample();
    for (const name of Object.keys(envSchema.shape)) {
      const lines = text.split('\n');
      const at = lines.findIndex((line) => line.startsWith(`#${name}=`));
      expect(at, name).toBeGreaterThan(0);
      expect(lines.filter((line) => line.startsWith(`#${name}=`)), name).toHaveLength(1);
      expect(lines[at - 1], name).toMatch(/^# \S/);
    }
    expect(text).toContain('#PORT=3000\n');
    expect(text).toContain('#QUEUE_PREFIX=banatie\n');
    expect(text).toMatch(/# browser origins allowed.*\n#CORS_ORIGINS=\n/);
  });
});

describe('CORS_ORIGINS', () => {
  it('is none by default, * or a list of origins', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173/' }).corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
  });

  it.each(['app.example.com', 'https://app.example.com/path', 'ftp://x.example.com', 'https://a.example.com,*'])('refuses %j naming the variable', (value) => {
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(ConfigError);
    try {
      loadConfig({ CORS_ORIGINS: value });
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^CORS_ORIGINS must be \* or a comma list of origins/)]);
    }
  });
});
