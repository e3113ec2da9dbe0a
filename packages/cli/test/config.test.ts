// The client CLI's own settings: BANATIE_API_KEY (or _FILE) and BANATIE_API_URL.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClientConfigError, loadCliClientConfig } from '../src/config.js';

describe('loadCliClientConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'banatie-cli-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

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
    expect(() => loadCliClientConfig({ BANATIE_API_URL: 'localhost:3000' })).toThrow(ClientConfigError);
    expect(() => loadCliClientConfig({ BANATIE_API_URL: 'ftp://x' })).toThrow(/^Invalid configuration: BANATIE_API_URL must be a http: or https: URL$/);
  });

  it('reads BANATIE_API_KEY_FILE', () => {
    expect(loadCliClientConfig({ BANATIE_API_KEY_FILE: secretFile('cli', 'bnt_fromfile\n') }).apiKey).toBe('bnt_fromfile');
    expect(() => loadCliClientConfig({ BANATIE_API_KEY: 'bnt_a', BANATIE_API_KEY_FILE: secretFile('cli2', 'bnt_b') })).toThrow(/BANATIE_API_KEY and BANATIE_API_KEY_FILE/);
    expect(() => loadCliClientConfig({ BANATIE_API_KEY_FILE: join(dir, 'nope') })).toThrow(/^Invalid configuration: BANATIE_API_KEY_FILE names a file that cannot be read/);
  });
});
