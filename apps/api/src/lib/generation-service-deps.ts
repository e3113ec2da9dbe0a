import { webhookService, type GenerationDeps } from '@banatie/core';
import type { AppDeps } from '../deps.js';

/** What the generation services need from the app's dependencies (one place for every generation route). */
export function generationServiceDeps(deps: AppDeps): GenerationDeps {
  return {
    db: deps.db,
    queue: deps.queue,
    clock: deps.clock,
    publicBaseUrl: deps.config.publicBaseUrl,
    logger: deps.logger,
    onStatusChange: deps.notifier,
    checkWebhookUrl: (url: string) => webhookService.assertWebhookUrlAllowed(url, { allowPrivate: deps.config.webhook.allowPrivate }),
  };
}
