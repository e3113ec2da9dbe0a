import type { AppDeps } from '../deps.js';

/** The dependencies core services take, built from the app's. */
export function serviceDeps(deps: AppDeps) {
  return {
    db: deps.db,
    queue: deps.queue,
    clock: deps.clock,
    storage: deps.storage,
    publicBaseUrl: deps.config.publicBaseUrl,
    logger: deps.logger,
    onStatusChange: deps.notifier,
  };
}
