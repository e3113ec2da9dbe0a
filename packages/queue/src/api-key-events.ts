import type { RedisClient } from './redis.js';

/** Revoked key ids, broadcast so every API instance drops them from its key cache at once. */
export function apiKeyRevokedChannel(prefix: string): string {
  return `${prefix}:events:api-key-revoked`;
}

export async function publishApiKeyRevoked(redis: RedisClient, prefix: string, keyId: string): Promise<void> {
  await redis.publish(apiKeyRevokedChannel(prefix), keyId);
}

/**
 * Calls `onRevoked` for each broadcast revocation, and `onResubscribed` when the
 * subscriber loses its connection and again when it is back (revocations sent
 * meanwhile were missed).
 */
export function watchApiKeyRevocations(
  subscriber: RedisClient,
  prefix: string,
  handlers: { onRevoked(keyId: string): void; onResubscribed(): void; onError(err: Error): void },
): void {
  const channel = apiKeyRevokedChannel(prefix);
  subscriber.on('message', (from: string, message: string) => {
    if (from === channel) handlers.onRevoked(message);
  });
  let connectedBefore = subscriber.status === 'ready';
  subscriber.on('ready', () => {
    if (connectedBefore) handlers.onResubscribed();
    connectedBefore = true;
  });
  subscriber.on('close', () => handlers.onResubscribed());
  // ioredis resubscribes by itself after a reconnect; a subscribe sent while offline is queued.
  subscriber.subscribe(channel).catch((err: Error) => handlers.onError(err));
}
