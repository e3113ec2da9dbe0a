import { loadConfigOrExit } from '@banatie/config';
import { createLogger } from '@banatie/logger';

// Configuration first: a bad variable stops the process before the heavy modules load.
const config = loadConfigOrExit();
const { startWorkerRuntime } = await import('./runtime.js');
const { StorageCheckError } = await import('@banatie/core');
const logger = createLogger({ level: config.logLevel, name: 'worker' });
const runtime = await startWorkerRuntime(config, logger).catch((err: unknown) => {
  // Storage unusable as configured (wrong bucket or credentials, no answer): one clear line, never a secret.
  if (!(err instanceof StorageCheckError)) throw err;
  logger.fatal({ storage: err.report }, `cannot start: ${err.message}`);
  process.exit(1);
});

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'finishing jobs in flight, taking no new ones');
  const finished = await runtime.close();
  if (!finished) logger.error('shutdown deadline passed; jobs in flight will be taken over by another worker');
  logger.info('worker stopped');
  process.exit(finished ? 0 : 1);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
