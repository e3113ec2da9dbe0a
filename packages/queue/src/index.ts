export * from './redis.js';
export * from './generation.queue.js';
export * from './generation-events.js';
export * from './generation-notifier.js';
export * from './api-key-events.js';
export * from './webhook.queue.js';
