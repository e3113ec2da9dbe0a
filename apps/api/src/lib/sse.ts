import type { FastifyInstance, FastifyReply } from 'fastify';

/** A comment line every so often keeps proxies and browsers from dropping a quiet stream. */
export const HEARTBEAT_MS = 15_000;

/** What a stream's loop does next: read and send changes, write a heartbeat, or stop. */
export type StreamSignal = 'change' | 'heartbeat' | 'closed';

/**
 * One `text/event-stream` response. Create it before subscribing (a change may
 * arrive before the stream opens: `notify` remembers it), `open` it once the
 * first read succeeded (errors before that are ordinary error responses), then
 * loop on `next()`. A stream holds one heartbeat timer and one `close` listener
 * for its whole life, whatever the number of changes and heartbeats, and
 * releases both on `end()`.
 */
export class EventStream {
  private opened = false;
  private ended = false;
  private seq = 0;
  private changed = false;
  private heartbeatDue = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly onClientGone = () => this.finish();

  constructor(
    private readonly reply: FastifyReply,
    private readonly heartbeatMs: number,
    private readonly live: Set<EventStream>,
  ) {}

  /** True once `open` wrote the headers: errors must no longer become error responses. */
  get isOpen(): boolean {
    return this.opened;
  }

  /** Takes the response over from Fastify and writes the headers; starts the heartbeat timer. */
  open(): void {
    if (this.opened || this.ended) return;
    this.opened = true;
    this.live.add(this);
    this.reply.hijack();
    const res = this.reply.raw;
    res.once('close', this.onClientGone);
    res.writeHead(200, {
      ...(this.reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.timer = setInterval(() => {
      this.heartbeatDue = true;
      this.signal();
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** A change arrived (called by a subscription listener, before or after `open`). */
  notify(): void {
    this.changed = true;
    this.signal();
  }

  /**
   * Resolves with what to do next: a change (which also stands for a heartbeat
   * due at the same time), else a heartbeat, else waits; `closed` once the stream ended.
   */
  async next(): Promise<StreamSignal> {
    for (;;) {
      if (this.ended) return 'closed';
      if (this.changed) {
        this.changed = false;
        this.heartbeatDue = false;
        return 'change';
      }
      if (this.heartbeatDue) {
        this.heartbeatDue = false;
        return 'heartbeat';
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** One event: `id`, `event` and a JSON `data` line. */
  send(event: string, data: unknown): void {
    if (this.opened && !this.ended) this.reply.raw.write(`id: ${++this.seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  heartbeat(): void {
    if (this.opened && !this.ended) this.reply.raw.write(': keep-alive\n\n');
  }

  /** Ends the response (if it was opened) and releases the timer and the listener. */
  end(): void {
    const wasOpen = this.opened && !this.ended;
    this.finish();
    if (wasOpen) this.reply.raw.end();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    this.reply.raw.off('close', this.onClientGone);
    this.live.delete(this);
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/**
 * The event streams of one route plugin: `create(reply)` makes a stream, and the
 * server's shutdown ends every stream still open (a client would otherwise hold it up).
 */
export function eventStreams(app: FastifyInstance, opts: { heartbeatMs?: number } = {}): (reply: FastifyReply) => EventStream {
  const live = new Set<EventStream>();
  app.addHook('preClose', (done) => {
    for (const stream of [...live]) stream.end();
    done();
  });
  return (reply) => new EventStream(reply, opts.heartbeatMs ?? HEARTBEAT_MS, live);
}
