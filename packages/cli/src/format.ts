// Human-readable output: aligned tables, label/value blocks, sizes, durations, ages.

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  align?: 'left' | 'right';
  /** Longer values are cut with `…`. */
  maxWidth?: number;
}

const GAP = '  ';

/** Width on a terminal, counting code points (good enough for the text we print). */
export const displayWidth = (text: string): number => [...text].length;

export function truncate(text: string, maxWidth: number): string {
  const chars = [...text.replace(/\s+/g, ' ')];
  return chars.length <= maxWidth ? chars.join('') : `${chars.slice(0, Math.max(0, maxWidth - 1)).join('')}…`;
}

const pad = (text: string, width: number, align: 'left' | 'right'): string => {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? fill + text : text + fill;
};

/**
 * Rows as aligned columns separated by two spaces, the header first (unless
 * `header: false`); no trailing spaces. Returns the lines.
 */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[], opts: { header?: boolean } = {}): string[] {
  const cells = rows.map((row) =>
    columns.map((c) => {
      const text = c.value(row).replace(/[\r\n\t]+/g, ' ');
      return c.maxWidth === undefined ? text : truncate(text, c.maxWidth);
    }),
  );
  const grid = opts.header === false ? cells : [columns.map((c) => c.header), ...cells];
  const widths = columns.map((_, i) => Math.max(0, ...grid.map((line) => displayWidth(line[i]!))));
  return grid.map((line) =>
    line
      .map((cell, i) => pad(cell, widths[i]!, columns[i]!.align ?? 'left'))
      .join(GAP)
      .trimEnd(),
  );
}

/** `label  value` pairs with the values aligned, for one object (`images show`). */
export function formatFields(fields: ReadonlyArray<readonly [label: string, value: string]>): string[] {
  return formatTable(
    fields,
    [
      { header: '', value: ([label]) => `${label}:` },
      { header: '', value: ([, value]) => value },
    ],
    { header: false },
  );
}

/** 1536 → `1.5 KB`; binary units, one decimal below 10. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** 3210 → `3.2s`; 75_000 → `1m 15s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}

/** How long ago `iso` was: `just now`, `5m ago`, `3h ago`, `2d ago`, then the date. */
export function formatAge(iso: string, now: number = Date.now()): string {
  const ms = now - Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ago`;
  const days = Math.floor(hours / 24);
  if (days < 30) return `${days}d ago`;
  return iso.slice(0, 10);
}

/** `-` for absent values in tables. */
export const orDash = (value: string | number | null | undefined): string => (value === null || value === undefined || value === '' ? '-' : String(value));
