import { ServiceUnavailableError } from './errors.js';

/**
 * At most `concurrency` renders at a time in this process, then a short queue of
 * at most `maxQueued` waiters; past that a request is refused at once (503 with
 * Retry-After) instead of piling up CPU work and memory.
 */
export class RenderGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
  ) {}

  /** Resolves with the release function once a slot is free; rejects when the queue is full. */
  async enter(): Promise<() => void> {
    if (this.running < this.concurrency) {
      this.running++;
      return this.releaser();
    }
    if (this.waiting.length >= this.maxQueued) throw new ServiceUnavailableError('Too many images are being rendered; retry shortly', 1);
    // The slot is handed over by release(): running stays counted.
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.releaser();
  }

  get stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}
