import {
  MAX_WAIT_SECONDS,
  isTerminal,
  type CreateGenerationInput,
  type Deleted,
  type Generation,
  type ListGenerationsQuery,
  type PageQuery,
  type SubmittedGeneration,
  type UpdateGenerationInput,
  type WebhookAttempt,
} from '@banatie/contracts';
import { BanatieError } from '../errors.js';
import { parseServerSentEvents } from '../sse.js';
import { newIdempotencyKey } from '../idempotency.js';
import type { PageList } from '../pagination.js';
import { abortableDelay } from '../retry.js';
import { enc, type CallOptions, type Transport } from '../transport.js';

/**
 * A deadline for the generation, sent as `Cancel-After` (SPEC §12): a number of
 * seconds, or a duration as the header takes it (`'30s'`, `'5m'`, `'1h30m'`,
 * `'500ms'`). Past it an unfinished generation fails with `DEADLINE_EXCEEDED`;
 * it can only bring the server's deadline sooner. A value the API cannot read is
 * its `400 VALIDATION_ERROR` (`parseCancelAfter` checks one beforehand).
 */
export type CancelAfter = number | string;

const cancelAfterHeader = (value: CancelAfter | undefined) => (value === undefined ? undefined : String(value));

export interface CreateOptions extends CallOptions {
  /**
   * Sent as `Idempotency-Key`: a request with the same key returns the first
   * generation. Default: a new random key per call, so the client's own
   * retries never make a second generation; pass your own to make retries of
   * your code (a restarted job) safe too.
   */
  idempotencyKey?: string;
  /** `Prefer: wait=N` (seconds, at most 60): the answer comes once the generation is done or N seconds passed. */
  wait?: number;
  /** `Cancel-After`: seconds, or a duration such as `'30s'` or `'5m'` (see `CancelAfter`). */
  cancelAfter?: CancelAfter;
}

/** Options of calls that may long-poll (`Prefer: wait`). */
export interface WaitCallOptions extends CallOptions {
  /** Seconds (at most 60) the server may hold the answer until the generation is terminal. */
  wait?: number;
}

export interface CreateResult {
  generation: Generation;
  /** Prompt aliases that did not resolve (left as text). */
  warnings: string[];
  /** True when the Idempotency-Key was seen before and the first generation was returned. */
  replayed: boolean;
}

export interface WaitOptions {
  /** Give up after this many milliseconds (BanatieError code `WAIT_TIMEOUT`). Default 5 minutes. */
  timeoutMs?: number;
  /**
   * Called with every state the client sees: the first answer, then each change
   * of status or of `queuePosition` (how many jobs are ahead while it is pending).
   */
  onUpdate?: (generation: Generation) => void;
  /** Called once with the submit's answer (its `warnings` and `replayed` are not on the final generation). */
  onSubmit?: (result: CreateResult) => void;
  signal?: AbortSignal;
  idempotencyKey?: string;
  /** Seconds the submit request may wait for the result before switching to the event stream (default 10). */
  wait?: number;
  /** `Cancel-After`: seconds, or a duration such as `'30s'` or `'5m'` (see `CancelAfter`). */
  cancelAfter?: CancelAfter;
  /**
   * While the generation is pending, it is re-read this often (milliseconds, default
   * 5000) so `onUpdate` sees its `queuePosition` move: the event stream only
   * tells status changes. 0: never.
   */
  queueRefreshMs?: number;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_QUEUE_REFRESH_MS = 5_000;
const DEFAULT_SUBMIT_WAIT_SECONDS = 10;

/** No header for 0 or less: the server answers at once either way. */
const preferWait = (seconds: number | undefined) =>
  seconds === undefined || seconds < 1 ? undefined : `wait=${Math.min(MAX_WAIT_SECONDS, Math.floor(seconds))}`;

function splitWarnings(submitted: SubmittedGeneration | Generation): { generation: Generation; warnings: string[] } {
  const { warnings = [], ...generation } = submitted as SubmittedGeneration;
  return { generation, warnings };
}

/** Generations (SPEC §4). */
export class Generations {
  constructor(private readonly http: Transport) {}

  async create(body: CreateGenerationInput, opts: CreateOptions = {}): Promise<CreateResult> {
    const { idempotencyKey = newIdempotencyKey(), wait, cancelAfter, ...call } = opts;
    const { data, response } = await this.http.request<SubmittedGeneration>('POST', '/generations', {
      ...call,
      json: body,
      headers: { 'idempotency-key': idempotencyKey, prefer: preferWait(wait), 'cancel-after': cancelAfterHeader(cancelAfter) },
      // Keyed: a retry returns the generation the first attempt made.
      retry: 'all',
    });
    return { ...splitWarnings(data), replayed: response.headers.get('idempotent-replayed') === 'true' };
  }

  /** `wait` (seconds) long-polls until the generation is terminal or the time is up. */
  get(id: string, opts: WaitCallOptions = {}): Promise<Generation> {
    const { wait, ...call } = opts;
    return this.http.data('GET', `/generations/${enc(id)}`, { ...call, headers: { prefer: preferWait(wait) } });
  }

  /** A page (`await`), or every generation page after page (`for await`). */
  list(query: ListGenerationsQuery = {}, opts: CallOptions = {}): PageList<Generation> {
    return this.http.list('/generations', query, opts);
  }

  /** Regenerates in place (same image id and URL, new version). */
  regenerate(id: string, opts: WaitCallOptions = {}): Promise<Generation> {
    const { wait, ...call } = opts;
    return this.http.data('POST', `/generations/${enc(id)}/regenerate`, { ...call, headers: { prefer: preferWait(wait) } });
  }

  /** A new prompt or aspect ratio regenerates in place. */
  update(id: string, body: UpdateGenerationInput, opts: CallOptions = {}): Promise<Generation> {
    return this.http.data('PUT', `/generations/${enc(id)}`, { ...opts, json: body });
  }

  /** Cancelling twice is harmless: retried like a read. */
  cancel(id: string, opts: CallOptions = {}): Promise<Generation> {
    return this.http.data('POST', `/generations/${enc(id)}/cancel`, { ...opts, retry: 'all' });
  }

  delete(id: string, opts: CallOptions = {}): Promise<Deleted> {
    return this.http.data('DELETE', `/generations/${enc(id)}`, opts);
  }

  /** Webhook delivery attempts, oldest first. */
  webhooks(id: string, query: PageQuery = {}, opts: CallOptions = {}): PageList<WebhookAttempt> {
    return this.http.list(`/generations/${enc(id)}/webhooks`, query, opts);
  }

  /**
   * The generation's status stream (SSE): the current state, then each change,
   * ending after a terminal status. Stop early with `break` or the signal.
   */
  async *events(id: string, opts: CallOptions = {}): AsyncGenerator<Generation> {
    for await (const generation of this.statusStream(`/generations/${enc(id)}/events`, opts)) {
      yield generation;
      if (isTerminal(generation.status)) return;
    }
  }

  /**
   * Every status change of the project's generations (`GET /generations/events`,
   * SSE), as the full generation, until the signal aborts or the connection drops
   * (then the iteration ends or throws: reconnect and re-read what you show).
   * One connection for a whole dashboard instead of one per generation.
   * `onOpen`: the server has subscribed, changes from now on arrive.
   */
  projectEvents(opts: CallOptions & { onOpen?: () => void } = {}): AsyncGenerator<Generation> {
    return this.statusStream('/generations/events', opts);
  }

  /** The `status` events of an SSE route, each a full generation. */
  private async *statusStream(path: string, opts: CallOptions & { onOpen?: () => void }): AsyncGenerator<Generation> {
    const { onOpen: _onOpen, ...call } = opts;
    const res = await this.http.send('GET', path, { ...call, headers: { accept: 'text/event-stream' } });
    if (!res.body) return;
    opts.onOpen?.();
    for await (const message of parseServerSentEvents(res.body)) {
      if (message.event === 'status') yield JSON.parse(message.data) as Generation;
    }
  }

  /**
   * Submits and resolves with the terminal generation (success, failed or
   * cancelled; a failed one is returned, not thrown). The submit request waits
   * (`Prefer: wait`); if the work takes longer the event stream is followed,
   * and if the stream drops the generation is long-polled.
   */
  async createAndWait(body: CreateGenerationInput, opts: WaitOptions = {}): Promise<Generation> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const guard = new WaitGuard(timeoutMs, opts.signal);
    let last: Generation | undefined;
    const seen = (g: Generation) => {
      if (!last || last.status !== g.status || last.updatedAt !== g.updatedAt || last.queuePosition !== g.queuePosition) opts.onUpdate?.(g);
      last = g;
      return g;
    };
    const refresh = new AbortController();
    const secondsLeft = () => Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    try {
      const submitted = await this.create(body, {
        idempotencyKey: opts.idempotencyKey,
        wait: Math.min(opts.wait ?? DEFAULT_SUBMIT_WAIT_SECONDS, secondsLeft()),
        cancelAfter: opts.cancelAfter,
        signal: guard.signal,
      });
      opts.onSubmit?.(submitted);
      const { generation } = submitted;
      if (isTerminal(seen(generation).status)) return generation;
      const refreshMs = opts.queueRefreshMs ?? DEFAULT_QUEUE_REFRESH_MS;
      // Ended (aborted) in `finally`, whichever way the wait ends.
      if (refreshMs > 0) void this.refreshWhilePending(generation.id, refreshMs, () => last, seen, refresh.signal);
      try {
        for await (const g of this.events(generation.id, { signal: guard.signal })) {
          if (isTerminal(seen(g).status)) return g;
        }
      } catch (err) {
        if (guard.signal.aborted) throw err;
        // The stream failed (proxy, Redis outage): fall back to long-polling below.
      }
      for (;;) {
        // At least 1 s: a 0 s long-poll in the last second would spin until the timer fires.
        const g = seen(await this.get(generation.id, { wait: Math.max(1, Math.min(30, secondsLeft())), signal: guard.signal }));
        if (isTerminal(g.status)) return g;
      }
    } catch (err) {
      if (guard.timedOut) {
        throw new BanatieError({
          code: 'WAIT_TIMEOUT',
          message: `Generation did not finish within ${timeoutMs} ms`,
          status: 0,
          details: last ? { generation: last } : undefined,
          cause: err,
        });
      }
      throw err;
    } finally {
      refresh.abort();
      guard.dispose();
    }
  }

  /**
   * Re-reads a pending generation every `everyMs` for its queue position, until it
   * is no longer pending or the signal aborts. A hint beside the event stream: a
   * failed read is skipped, and an answer that comes after the stream moved the
   * generation on is dropped.
   */
  private async refreshWhilePending(id: string, everyMs: number, last: () => Generation | undefined, seen: (g: Generation) => void, signal: AbortSignal): Promise<void> {
    const pending = () => last()?.status === 'pending' && !signal.aborted;
    try {
      while (pending()) {
        await abortableDelay(everyMs, signal);
        if (!pending()) return;
        const g = await this.get(id, { signal, maxRetries: 0 }).catch(() => undefined);
        if (g && pending()) seen(g);
      }
    } catch {
      // Aborted: the wait is over.
    }
  }
}

/** One signal for "the caller aborted or the time is up". */
class WaitGuard {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onAbort = () => this.controller.abort(this.caller?.reason);
  timedOut = false;

  constructor(timeoutMs: number, private readonly caller?: AbortSignal) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new BanatieError({ code: 'WAIT_TIMEOUT', message: 'Timed out', status: 0 }));
    }, timeoutMs);
    if (caller?.aborted) this.onAbort();
    else caller?.addEventListener('abort', this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onAbort);
  }
}
