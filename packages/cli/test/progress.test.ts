import { describe, expect, it } from 'vitest';
import { Progress } from '../src/progress.js';

function recorder(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (s: string) => chunks.push(s) }, chunks };
}

/** A clock the test moves by hand. */
function clock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('Progress, not a terminal', () => {
  it('prints one line per status change with the elapsed time', () => {
    const { stream, chunks } = recorder(false);
    const c = clock();
    const progress = new Progress(stream, { now: c.now });
    progress.update('pending');
    c.advance(400);
    progress.update('processing');
    c.advance(1000);
    progress.update('processing');
    c.advance(1800);
    progress.update('success');
    progress.stop('success');
    expect(chunks.join('')).toBe('pending · 0.0s\nprocessing · 0.4s\nsuccess · 3.2s\n');
  });

  it('prints a line when the detail (the queue position) changes, not when it repeats', () => {
    const { stream, chunks } = recorder(false);
    const c = clock();
    const progress = new Progress(stream, { now: c.now });
    progress.update('pending', 'queued, position 3');
    c.advance(2000);
    progress.update('pending', 'queued, position 3');
    progress.update('pending', 'queued, position 1');
    c.advance(500);
    progress.update('processing');
    progress.stop('success');
    expect(chunks.join('')).toBe('pending · queued, position 3 · 0.0s\npending · queued, position 1 · 2.0s\nprocessing · 2.5s\nsuccess · 2.5s\n');
  });

  it('prints the final status if no update reported it, and nothing after stop', () => {
    const { stream, chunks } = recorder(false);
    const c = clock();
    const progress = new Progress(stream, { now: c.now });
    progress.update('processing');
    c.advance(2000);
    progress.stop('failed');
    progress.update('success');
    expect(chunks.join('')).toBe('processing · 0.0s\nfailed · 2.0s\n');
  });
});

describe('Progress on a terminal', () => {
  it('redraws one line in place with a spinner, and leaves a final line', () => {
    const { stream, chunks } = recorder(true);
    const c = clock();
    const progress = new Progress(stream, { now: c.now, intervalMs: 60_000 });
    progress.update('pending');
    c.advance(1200);
    progress.update('processing');
    c.advance(2000);
    progress.draw();
    progress.stop('success');
    expect(chunks).toEqual([
      '\r\x1b[2K⠋ pending · 0.0s',
      '\r\x1b[2K⠙ processing · 1.2s',
      '\r\x1b[2K⠹ processing · 3.2s',
      '\r\x1b[2K✓ success · 3.2s\n',
    ]);
    // No newline until the end: the terminal shows a single line.
    expect(chunks.slice(0, -1).join('')).not.toContain('\n');
  });

  it('redraws on its own while nothing changes, and clears the line when stopped without a result', async () => {
    const { stream, chunks } = recorder(true);
    const progress = new Progress(stream, { intervalMs: 5 });
    progress.update('processing');
    const deadline = Date.now() + 5000;
    while (chunks.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    progress.stop();
    const count = chunks.length;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(chunks.at(-1)).toBe('\r\x1b[2K');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(chunks).toHaveLength(count);
  });

  it('shows the detail on the spinning line, and drops it when the status moves on', () => {
    const { stream, chunks } = recorder(true);
    const c = clock();
    const progress = new Progress(stream, { now: c.now, intervalMs: 60_000 });
    progress.update('pending', 'queued, position 2');
    c.advance(700);
    progress.update('processing');
    progress.stop('success');
    expect(chunks).toEqual(['\r\x1b[2K⠋ pending · queued, position 2 · 0.0s', '\r\x1b[2K⠙ processing · 0.7s', '\r\x1b[2K✓ success · 0.7s\n']);
  });

  it('marks a failure with ✗', () => {
    const { stream, chunks } = recorder(true);
    const progress = new Progress(stream, { now: () => 0, intervalMs: 60_000 });
    progress.update('processing');
    progress.stop('failed');
    expect(chunks.at(-1)).toBe('\r\x1b[2K✗ failed · 0.0s\n');
  });
});
