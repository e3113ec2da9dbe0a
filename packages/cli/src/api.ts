// The SDK client for API commands: key and URL from the flags, else from
// BANATIE_API_KEY / BANATIE_API_URL.
import { Banatie } from '@banatie/sdk';
import { UsageError, type GlobalValues } from './command.js';
import { loadCliClientConfig } from './config.js';
import type { Io } from './io.js';

export function apiClient(io: Io, values: GlobalValues): Banatie {
  const flags = { BANATIE_API_KEY: values['api-key'], BANATIE_API_URL: values['api-url'] };
  const config = loadCliClientConfig({ ...io.env, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) });
  if (!config.apiKey) throw new UsageError('no API key: pass --api-key KEY or set BANATIE_API_KEY');
  return new Banatie({ apiKey: config.apiKey, baseUrl: config.apiUrl });
}
