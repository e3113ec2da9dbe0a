import { randomUUID } from 'node:crypto';
import { RateLimitError } from '@banatie/core';
import type { StreamSlots } from '@banatie/queue';
import type { FastifyReply } from 'fastify';

/** A comment line every so often keeps proxies and browsers from dropping a quiet stream (default of SSE_HEARTBEAT_MS). */
export const HEARTBEAT_MS = 15_000;

/** What a stream's loop does next: read and send changes, write a heartbeat, or stop. */
export type StreamSignal = 'change' | 'heartbeat' | 'closed';

/** What a stream tells whoever made it: each heartbeat tick, and its end (once). */
export interface StreamHooks {
  onHeartbeat?(stream: EventStream): void;
  onEnd?(stream: EventStream): void;
}

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
    private readonly hooks: StreamHooks = {},
  ) {}

  /** True once `open` wrote the headers: errors must no longer become error responses. */
  get isOpen(): boolean {
    return this.opened;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Takes the response over from Fastify and writes the headers; starts the
   * heartbeat timer. A stream ended before it opened (shutdown, revoked key)
   * answers an empty stream that ends at once.
   */
  open(): void {
    if (this.opened) return;
    this.opened = true;
    this.reply.hijack();
    const res = this.reply.raw;
    res.writeHead(200, {
      ...(this.reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (this.ended) {
      res.end();
      return;
    }
    res.once('close', this.onClientGone);
    this.timer = setInterval(() => {
      this.heartbeatDue = true;
      this.signal();
      this.hooks.onHeartbeat?.(this);
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
    this.signal();
    this.hooks.onEnd?.(this);
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** Who a stream belongs to: the key it was opened with, and how to tell that key still works. */
export interface StreamOwner {
  keyId: string;
  /** Asked at each heartbeat: false (revoked, expired) ends the stream. */
  stillAuthorized(): Promise<boolean>;
}

export interface OpenStreamsOptions {
  heartbeatMs?: number;
  /** Open streams per key across instances (SSE_MAX_PER_KEY); 0 or no `slots`: unbounded. */
  maxPerKey?: number;
  slots?: StreamSlots;
  onError?(err: unknown, what: string): void;
}

interface Tracked {
  owner: StreamOwner;
  slotId: string | null;
  checking: boolean;
}

/**
 * Every event stream of one API process, by key: takes a slot per stream
 * (`429` past the per-key limit), renews its lease and re-checks its key at
 * each heartbeat, ends a key's streams when it is revoked, and all of them on shutdown.
 */
export class OpenStreams {
  private readonly streams = new Map<EventStream, Tracked>();
  private readonly heartbeatMs: number;

  constructor(private readonly opts: OpenStreamsOptions = {}) {
    this.heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  }

  get size(): number {
    return this.streams.size;
  }

  /** A stream for `reply`, counted against its key; `RateLimitError` when the key has no slot left. */
  async create(reply: FastifyReply, owner: StreamOwner): Promise<EventStream> {
    const slotId = await this.takeSlot(owner.keyId);
    const stream = new EventStream(reply, this.heartbeatMs, {
      onHeartbeat: (s) => this.heartbeat(s),
      onEnd: (s) => this.released(s),
    });
    this.streams.set(stream, { owner, slotId, checking: false });
    return stream;
  }

  /** Ends every stream opened with `keyId` (a revocation). */
  endKey(keyId: string): void {
    for (const [stream, t] of [...this.streams]) if (t.owner.keyId === keyId) stream.end();
  }

  endAll(): void {
    for (const stream of [...this.streams.keys()]) stream.end();
  }

  private async takeSlot(keyId: string): Promise<string | null> {
    const { slots, maxPerKey } = this.opts;
    if (!slots || !maxPerKey) return null;
    const slotId = randomUUID();
    if (!(await slots.acquire(keyId, slotId))) throw new RateLimitError(Math.max(1, Math.ceil(this.heartbeatMs / 1000)));
    return slotId;
  }

  private heartbeat(stream: EventStream): void {
    const t = this.streams.get(stream);
    if (!t) return;
    if (t.slotId) this.opts.slots!.renew(t.owner.keyId, t.slotId).catch((err) => this.opts.onError?.(err, 'stream slot renewal failed'));
    if (t.checking) return;
    t.checking = true;
    t.owner
      .stillAuthorized()
      .then((ok) => {
        if (!ok) stream.end();
      })
      // PostgreSQL away: the key is not known to be bad; ask again at the next heartbeat.
      .catch((err) => this.opts.onError?.(err, 'stream key check failed'))
      .finally(() => (t.checking = false));
  }

  private released(stream: EventStream): void {
    const t = this.streams.get(stream);
    if (!t) return;
    this.streams.delete(stream);
    if (t.slotId) this.opts.slots!.release(t.owner.keyId, t.slotId).catch((err) => this.opts.onError?.(err, 'stream slot release failed'));
  }
}
