export * from './redis.js';
export * from './generation.queue.js';
export * from './generation-events.js';
export * from './api-key-events.js';
export * from './webhook.queue.js';
export * from './job-queue.js';
export * from './shared-state.js';
export * from './provider-quota.js';
