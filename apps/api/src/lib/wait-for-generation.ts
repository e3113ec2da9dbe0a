import { isTerminal, type StatusSubscriptions } from '@banatie/core';

/**
 * Holds until the generation reaches a terminal status or the time runs out.
 * Subscribes before the first read, so a change between the two is not missed.
 */
export async function waitForGeneration<T extends { status: string }>(
  events: StatusSubscriptions,
  generationId: string,
  timeoutMs: number,
  read: () => Promise<T>,
): Promise<T> {
  let wake: () => void = () => undefined;
  const changed = new Promise<void>((resolve) => (wake = resolve));
  const unsubscribe = await events.subscribe(generationId, (e) => {
    if (isTerminal(e.status)) wake();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await read();
    if (isTerminal(first.status) || timeoutMs <= 0) return first;
    await Promise.race([changed, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    return await read();
  } finally {
    clearTimeout(timer);
    await unsubscribe();
  }
}
