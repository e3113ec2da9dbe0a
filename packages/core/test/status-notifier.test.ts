// The status notifier against test doubles of the queue ports: what it
// broadcasts and which webhook messages it queues, without Redis.
import { describe, expect, it } from 'vitest';
import { createStatusNotifier, webhookMessageId, type GenerationStatusEvent, type JobQueue, type WebhookMessage } from '../src/index.js';

const GENERATION_ID = '6f1c2d8e-4b7a-4c1e-9f3d-2a5b8c7d9e01';
const PROJECT_ID = '0b7e7a7c-1f6d-4d2a-9a55-1c1e3f0a9b10';

function doubles() {
  const published: GenerationStatusEvent[] = [];
  const webhooks: WebhookMessage[] = [];
  const unused = () => Promise.reject(new Error('not used by the notifier'));
  const jobs: JobQueue = {
    enqueueGeneration: unused,
    withdrawGeneration: unused,
    generationJobState: unused,
    requeueGeneration: unused,
    queuePositions: unused,
    enqueueWebhook: async (message) => void webhooks.push(message),
  };
  const notify = createStatusNotifier({ broadcast: { publish: async (e) => void published.push(e) }, jobs });
  return { notify, published, webhooks };
}

describe('status notifier', () => {
  it('broadcasts every change and queues no webhook for a non-terminal status', async () => {
    const { notify, published, webhooks } = doubles();
    await notify({ id: GENERATION_ID, project_id: PROJECT_ID, status: 'processing', run: 0 });
    expect(published).toEqual([{ generationId: GENERATION_ID, status: 'processing', projectId: PROJECT_ID }]);
    expect(webhooks).toEqual([]);
  });

  it('queues the terminal event under its deterministic webhook-id', async () => {
    const { notify, webhooks } = doubles();
    await notify({ id: GENERATION_ID, project_id: PROJECT_ID, status: 'failed', run: 2 });
    const delivery = { generationId: GENERATION_ID, run: 2, event: 'generation.failed' } as const;
    expect(webhooks).toEqual([{ ...delivery, webhookId: webhookMessageId(delivery) }]);
  });

  it('queues nothing when the caller knows there is no webhook target', async () => {
    const { notify, published, webhooks } = doubles();
    await notify({ id: GENERATION_ID, project_id: PROJECT_ID, status: 'success', run: 0, webhookTarget: false });
    expect(published).toHaveLength(1);
    expect(webhooks).toEqual([]);
  });

  it('rejects when the broadcast fails, after still queuing the webhook', async () => {
    const webhooks: WebhookMessage[] = [];
    const jobs = { enqueueWebhook: async (m: WebhookMessage) => void webhooks.push(m) } as unknown as JobQueue;
    const notify = createStatusNotifier({ broadcast: { publish: () => Promise.reject(new Error('redis down')) }, jobs });
    await expect(notify({ id: GENERATION_ID, project_id: PROJECT_ID, status: 'cancelled', run: 0 })).rejects.toThrow('redis down');
    expect(webhooks.map((w) => w.event)).toEqual(['generation.cancelled']);
  });
});
