import { BanatieError } from './errors.js';

/**
 * Which failures a request may be retried after:
 * - `all`: 429, 502, 503, 504, network errors and timeouts (reads, updates,
 *   deletes, and creates that carry an Idempotency-Key);
 * - `refused`: only a 429, which the server answers before doing anything;
 * - `none`: never.
 */
export type RetryPolicy = 'all' | 'refused' | 'none';

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
const BASE_DELAY_MS = 500;
const MAX_BACKOFF_MS = 8_000;
/** A longer Retry-After (a rate limit's hour) is the caller's decision: the error is thrown with `retryAfter`. */
const MAX_RETRY_AFTER_MS = 60_000;

/** Milliseconds to wait before the next attempt, or undefined when this failure must not be retried. */
export function retryDelayMs(failure: BanatieError, attempt: number, policy: RetryPolicy, random: () => number = Math.random): number | undefined {
  if (policy === 'none') return undefined;
  const noAnswer = failure.status === 0 && (failure.code === 'NETWORK_ERROR' || failure.code === 'TIMEOUT');
  if (noAnswer) return policy === 'all' ? backoffMs(attempt, random) : undefined;
  if (!RETRYABLE_STATUSES.has(failure.status)) return undefined;
  if (failure.status !== 429 && policy !== 'all') return undefined;
  if (failure.retryAfter === undefined) return backoffMs(attempt, random);
  const wait = failure.retryAfter * 1000;
  // A little jitter on top, so clients told the same Retry-After do not all come back at once.
  return wait > MAX_RETRY_AFTER_MS ? undefined : wait + Math.floor(random() * 250);
}

/** Exponential backoff with jitter: between half and all of 500 ms × 2^attempt, at most 8 s. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, BASE_DELAY_MS * 2 ** attempt);
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The signal of one attempt: the caller's signal, or the attempt's timeout, whichever comes first. */
export class AttemptSignal {
  readonly signal: AbortSignal;
  private readonly timeout = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  timedOut = false;

  constructor(timeoutMs: number, caller?: AbortSignal) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.timeout.abort(new BanatieError({ code: 'TIMEOUT', message: `No answer within ${timeoutMs} ms`, status: 0 }));
    }, timeoutMs);
    this.signal = caller ? anySignal([caller, this.timeout.signal]) : this.timeout.signal;
  }

  /** Stops the timer; the caller's signal keeps governing (a stream's body). */
  dispose(): void {
    clearTimeout(this.timer);
  }
}

function anySignal(signals: AbortSignal[]): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any(signals);
  const controller = new AbortController();
  for (const s of signals) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}
