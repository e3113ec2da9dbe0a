import type { Generation } from '@banatie/contracts';
import { parseServerSentEvents } from './sse.js';
import { Transport, type BanatieOptions } from './transport.js';

/**
 * Every status change of the project's generations (`GET /generations/events`,
 * SSE), as the full generation, until the signal aborts or the connection drops
 * (then the iteration ends or throws: reconnect and re-read what you show).
 * One connection for a whole dashboard instead of one per generation.
 */
export async function* projectGenerationEvents(options: BanatieOptions, opts: { signal?: AbortSignal; onOpen?: () => void } = {}): AsyncGenerator<Generation> {
  const res = await new Transport(options).send('GET', '/generations/events', { headers: { accept: 'text/event-stream' }, signal: opts.signal });
  if (!res.body) return;
  // Subscribed on the server: changes from now on arrive.
  opts.onOpen?.();
  for await (const message of parseServerSentEvents(res.body)) {
    if (message.event === 'status') yield JSON.parse(message.data) as Generation;
  }
}
