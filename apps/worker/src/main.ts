import { loadConfigOrExit } from '@banatie/config';
import { createLogger } from '@banatie/logger';

// Configuration first: a bad variable stops the process before the heavy modules load.
const config = loadConfigOrExit();
const { startWorkerRuntime } = await import('./runtime.js');
const logger = createLogger({ level: config.logLevel, name: 'worker' });
const runtime = await startWorkerRuntime(config, logger);

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
