// The CLI's own settings: it is a client of a running API and ships without the
// server's configuration package, so it reads its two variables itself.
import { readFileSync } from 'node:fs';

export interface CliClientConfig {
  /** `BANATIE_API_KEY` (or the file named by `BANATIE_API_KEY_FILE`); asked for only by commands that call the API. */
  apiKey: string | undefined;
  /** `BANATIE_API_URL`, without a trailing slash. */
  apiUrl: string;
}

export const DEFAULT_API_URL = 'http://localhost:3000';

/** Bad client settings; the message names every bad variable. */
export class ClientConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ClientConfigError';
  }
}

const isHttpUrl = (value: string): boolean => {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

/** The key from `BANATIE_API_KEY` or `BANATIE_API_KEY_FILE` (not both); an empty value counts as unset. */
function apiKeyOf(env: Record<string, string | undefined>, problems: string[]): string | undefined {
  const direct = env.BANATIE_API_KEY?.trim() || undefined;
  const file = env.BANATIE_API_KEY_FILE || undefined;
  if (!file) return direct;
  if (direct) {
    problems.push('BANATIE_API_KEY and BANATIE_API_KEY_FILE are both set; set only one');
    return undefined;
  }
  try {
    return readFileSync(file, 'utf8').replace(/[\r\n]+$/, '').trim() || undefined;
  } catch (err) {
    problems.push(`BANATIE_API_KEY_FILE names a file that cannot be read (${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

/**
 * Parses the client CLI's variables (command-line flags are merged into `env`
 * by the caller, so a bad `--api-url` is reported like a bad variable).
 */
export function loadCliClientConfig(env: Record<string, string | undefined>): CliClientConfig {
  const problems: string[] = [];
  const apiKey = apiKeyOf(env, problems);
  const apiUrl = env.BANATIE_API_URL || DEFAULT_API_URL;
  if (!isHttpUrl(apiUrl)) problems.push('BANATIE_API_URL must be a http: or https: URL');
  if (problems.length) throw new ClientConfigError(problems);
  return Object.freeze({ apiKey, apiUrl: apiUrl.replace(/\/+$/, '') });
}
