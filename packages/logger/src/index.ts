import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const REDACT = [
  'req.headers["x-api-key"]',
  'req.headers.authorization',
  'headers["x-api-key"]',
  'apiKey',
  'key',
  'secret',
  'webhookSecret',
  'liveSigningSecret',
  'previousWebhookSecret',
  'previousLiveSigningSecret',
  '*.apiKey',
  '*.secret',
  '*.webhookSecret',
  '*.liveSigningSecret',
  '*.previousWebhookSecret',
  '*.previousLiveSigningSecret',
];

export function createLogger(opts: { level: string; name?: string } & Pick<LoggerOptions, 'base'>): Logger {
  return pino({
    level: opts.level,
    name: opts.name,
    base: opts.base,
    redact: { paths: REDACT, censor: '[redacted]' },
  });
}
