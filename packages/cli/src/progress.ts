// Status and elapsed time of long work, on stderr. On a terminal: one line
// redrawn in place (`⠋ processing · 3.2s`); otherwise (a pipe, a CI log): one
// line per change of status or detail (`pending · queued, position 2 · 0.4s`),
// so logs stay readable.
import { formatDuration } from './format.js';
import type { OutStream } from './io.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';
const DONE_MARK: Record<string, string> = { success: '✓', failed: '✗', cancelled: '✗' };

export interface ProgressOptions {
  /** Defaults to `stream.isTTY`. */
  tty?: boolean;
  /** Milliseconds, monotonic. */
  now?: () => number;
  /** Redraw period on a terminal. */
  intervalMs?: number;
}

export class Progress {
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly intervalMs: number;
  private status: string | undefined;
  private detail: string | undefined;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly stream: OutStream,
    opts: ProgressOptions = {},
  ) {
    this.tty = opts.tty ?? stream.isTTY === true;
    this.now = opts.now ?? (() => performance.now());
    this.intervalMs = opts.intervalMs ?? 80;
    this.startedAt = this.now();
  }

  private line(status: string, detail?: string): string {
    return `${status}${detail === undefined ? '' : ` · ${detail}`} · ${formatDuration(this.now() - this.startedAt)}`;
  }

  /** Reports the current status and its detail (a queue position); a repeat only moves the clock. */
  update(status: string, detail?: string): void {
    if (this.stopped) return;
    const changed = status !== this.status || detail !== this.detail;
    this.status = status;
    this.detail = detail;
    if (!this.tty) {
      if (changed) this.stream.write(`${this.line(status, detail)}\n`);
      return;
    }
    this.draw();
    this.timer ??= setInterval(() => this.draw(), this.intervalMs).unref();
  }

  /** Redraws the terminal line (the spinner's next frame and the elapsed time). */
  draw(): void {
    if (this.stopped || !this.tty || this.status === undefined) return;
    this.stream.write(`${CLEAR_LINE}${FRAMES[this.frame++ % FRAMES.length]} ${this.line(this.status, this.detail)}`);
  }

  /**
   * Ends the display. On a terminal the spinning line becomes a final one
   * (`✓ success · 4.1s`), or disappears when `final` is undefined; elsewhere a
   * final status not reported yet gets its line.
   */
  stop(final?: string): void {
    if (this.stopped) return;
    clearInterval(this.timer);
    if (this.tty) {
      if (final !== undefined) this.stream.write(`${CLEAR_LINE}${DONE_MARK[final] ?? '·'} ${this.line(final)}\n`);
      else if (this.status !== undefined) this.stream.write(CLEAR_LINE);
    } else if (final !== undefined && final !== this.status) {
      this.stream.write(`${this.line(final)}\n`);
    }
    this.stopped = true;
  }
}
