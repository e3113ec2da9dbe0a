import { apiStartupWarnings, loadConfigOrExit } from '@banatie/config';
import { createLogger } from '@banatie/logger';

// Configuration first: a bad variable stops the process before the heavy modules load.
const config = loadConfigOrExit();
const { buildApp } = await import('./app.js');
const { createAppDeps } = await import('./main-deps.js');
const logger = createLogger({ level: config.logLevel, name: 'api' });
for (const warning of apiStartupWarnings(config)) logger.warn({ unsafeConfiguration: true }, warning);
const deps = await createAppDeps(config, logger);
const app = await buildApp(deps);

/**
 * SIGTERM must end the process (exit 0) within 5 s: event streams end at once
 * (preClose); requests still running after this grace (a `Prefer: wait`, a live
 * MISS waiting for its image) have their connections closed.
 */
const REQUEST_GRACE_MS = 3_000;

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => process.exit(1), 10_000).unref();
  const cut = setTimeout(() => app.server.closeAllConnections(), REQUEST_GRACE_MS).unref();
  await app.close();
  clearTimeout(cut);
  await deps.close();
  clearTimeout(force);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ port: config.port, host: config.host });
