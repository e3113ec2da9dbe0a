import { webhookService } from '@banatie/core';
import type { AppDeps } from '../deps.js';

/** The dependencies core services take, built from the app's (one place for every route group). */
export function serviceDeps(deps: AppDeps) {
  return {
    db: deps.db,
    queue: deps.jobs,
    clock: deps.clock,
    storage: deps.storage,
    publicBaseUrl: deps.config.publicBaseUrl,
    logger: deps.logger,
    onStatusChange: deps.notifier,
    generationDeadlineMs: deps.config.generationDeadlineMs,
    models: { allowed: deps.config.gemini.imageModels, defaultModel: deps.config.gemini.imageModel },
    checkWebhookUrl: (url: string) => webhookService.assertWebhookUrlAllowed(url, { allowPrivate: deps.config.webhook.allowPrivate }),
  };
}
