export * from './constants.js';
export * from './live-canonical.js';
export * from './requests.js';
export * from './responses.js';
export * from './cancel-after.js';
export * from './models.js';
