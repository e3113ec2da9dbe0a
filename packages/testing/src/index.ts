export * from './database.js';
export * from './fake-gemini.js';
export * from './s3.js';
export * from './webhook-receiver.js';
export * from './pgbouncer.js';
export * from './fake-dns.js';
export * from './bmp.js';
export * from './ports.js';
