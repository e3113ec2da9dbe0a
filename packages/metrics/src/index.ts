export * from './registry.js';
export * from './series.js';
export * from './queue-collector.js';
export * from './server.js';
