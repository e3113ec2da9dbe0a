import { generationRepository, type Db, type GenerationRow } from '@banatie/db';
import { ServiceUnavailableError } from './errors.js';
import type { SharedState, StatusSubscriptions } from './queue-port.js';

/** How a generation a live MISS waits for ended, as this process saw it. */
export type GenerationOutcome =
  /** `early`: already terminal when first read, i.e. before most of its waiters arrived. */
  | { kind: 'terminal'; row: GenerationRow; early: boolean }
  /** No row, and the lock no longer names it: its holder died before submitting. */
  | { kind: 'abandoned' }
  | { kind: 'error'; error: unknown };

export interface GenerationWatchDeps {
  db: Db;
  shared: SharedState;
  events: StatusSubscriptions;
}

/** While the holder has not yet inserted the row (milliseconds, unless it died). */
const RECHECK_MISSING_ROW_MS = 250;
/** A safety net for a status event lost with a Redis reconnect; one read per generation, not per waiter. */
const RECHECK_RUNNING_MS = 10_000;

interface Watch {
  generationId: string;
  lockKey: string;
  waiters: number;
  ready: Promise<void>;
  outcome: Promise<GenerationOutcome>;
  resolve(outcome: GenerationOutcome): void;
  settled: boolean;
  checking: boolean;
  checkAgain: boolean;
  checked: boolean;
  timer?: NodeJS.Timeout;
  unsubscribe?: () => Promise<void>;
}

/**
 * The generations this process's live MISSes wait for. However many requests
 * wait for one generation, it has one status subscription and one row read per
 * status event (plus a slow safety re-check), never a poll per waiter.
 */
export class GenerationWatches {
  private readonly watches = new Map<string, Watch>();

  constructor(private readonly deps: GenerationWatchDeps) {}

  /** Joins the watch of the generation (subscribed before its first read); `leave` when done with it. */
  async join(generationId: string, lockKey: string): Promise<{ outcome: Promise<GenerationOutcome>; settledAtJoin: boolean; leave(): Promise<void> }> {
    let w = this.watches.get(generationId);
    const settledAtJoin = w?.settled ?? false;
    if (!w) {
      w = this.open(generationId, lockKey);
      this.watches.set(generationId, w);
    }
    const watch = w;
    watch.waiters++;
    try {
      await watch.ready;
    } catch (err) {
      await this.leave(watch);
      throw err;
    }
    return { outcome: watch.outcome, settledAtJoin, leave: () => this.leave(watch) };
  }

  private open(generationId: string, lockKey: string): Watch {
    let resolve: (o: GenerationOutcome) => void = () => undefined;
    const outcome = new Promise<GenerationOutcome>((r) => (resolve = r));
    const w: Watch = { generationId, lockKey, waiters: 0, ready: Promise.resolve(), outcome, resolve, settled: false, checking: false, checkAgain: false, checked: false };
    w.ready = this.deps.events.subscribe(generationId, () => void this.check(w)).then(
      (unsubscribe) => {
        w.unsubscribe = unsubscribe;
        void this.check(w);
      },
      (err: unknown) => {
        if (this.watches.get(generationId) === w) this.watches.delete(generationId);
        throw err;
      },
    );
    return w;
  }

  /** Reads the row (one read at a time per generation; an event during a read reads again after it). */
  private async check(w: Watch): Promise<void> {
    if (w.settled) return;
    if (w.checking) {
      w.checkAgain = true;
      return;
    }
    w.checking = true;
    clearTimeout(w.timer);
    try {
      let rowMissing = false;
      do {
        w.checkAgain = false;
        const row = await generationRepository.findGenerationById(this.deps.db, w.generationId);
        if (row && ['success', 'failed', 'cancelled'].includes(row.status)) return this.settle(w, { kind: 'terminal', row, early: !w.checked });
        if (!row && (await this.deps.shared.lockHolder(w.lockKey)) !== w.generationId) return this.settle(w, { kind: 'abandoned' });
        rowMissing = !row;
        w.checked = true;
      } while (w.checkAgain);
      if (w.waiters > 0) {
        w.timer = setTimeout(() => void this.check(w), rowMissing ? RECHECK_MISSING_ROW_MS : RECHECK_RUNNING_MS);
        w.timer.unref();
      }
    } catch (error) {
      this.settle(w, { kind: 'error', error });
    } finally {
      w.checking = false;
    }
  }

  private settle(w: Watch, outcome: GenerationOutcome): void {
    w.settled = true;
    clearTimeout(w.timer);
    w.resolve(outcome);
  }

  private async leave(w: Watch): Promise<void> {
    if (--w.waiters > 0) return;
    clearTimeout(w.timer);
    w.settled = true;
    if (this.watches.get(w.generationId) === w) this.watches.delete(w.generationId);
    await w.unsubscribe?.();
  }
}

/** The live MISSes one process holds open at a time; past `max`, 503 with Retry-After (SPEC §11). */
export class LiveWaiterSlots {
  private active = 0;

  constructor(
    private readonly max: number,
    private readonly onChange?: (waiting: number) => void,
  ) {}

  get waiting(): number {
    return this.active;
  }

  take(): void {
    if (this.active >= this.max) throw new ServiceUnavailableError('Too many live images are being waited for; retry shortly', 2);
    this.active++;
    this.onChange?.(this.active);
  }

  give(): void {
    this.active--;
    this.onChange?.(this.active);
  }
}
