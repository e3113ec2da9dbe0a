import { describe, expect, it } from 'vitest';
import { formatAge, formatBytes, formatDuration, formatFields, formatTable, truncate } from '../src/format.js';

describe('formatTable', () => {
  const rows = [
    { id: 'a1', name: 'short', size: 5 },
    { id: 'b22', name: 'a much longer name', size: 12345 },
  ];
  const columns = [
    { header: 'ID', value: (r: (typeof rows)[number]) => r.id },
    { header: 'NAME', value: (r: (typeof rows)[number]) => r.name },
    { header: 'SIZE', value: (r: (typeof rows)[number]) => String(r.size), align: 'right' as const },
  ];

  it('aligns columns two spaces apart, header first, right-aligning where asked', () => {
    expect(formatTable(rows, columns)).toEqual([
      'ID   NAME                 SIZE',
      'a1   short                   5',
      'b22  a much longer name  12345',
    ]);
  });

  it('leaves no trailing spaces after a short last cell', () => {
    const lines = formatTable([{ a: 'xxxxxx', b: '' }, { a: 'y', b: 'z' }], [
      { header: 'A', value: (r) => r.a },
      { header: 'B', value: (r) => r.b },
    ]);
    expect(lines).toEqual(['A       B', 'xxxxxx', 'y       z']);
  });

  it('cuts long values with … at maxWidth and flattens newlines and tabs', () => {
    const lines = formatTable([{ p: 'a lighthouse\tat dusk\nwith fog' }], [{ header: 'PROMPT', value: (r) => r.p, maxWidth: 12 }]);
    expect(lines).toEqual(['PROMPT', 'a lighthous…']);
  });

  it('counts characters, not UTF-16 units, when aligning', () => {
    const lines = formatTable([{ s: '1024×576', t: 'x' }, { s: '😀', t: 'y' }], [
      { header: 'S', value: (r) => r.s },
      { header: 'T', value: (r) => r.t },
    ]);
    expect(lines.map((l) => [...l].indexOf(l.at(-1)!))).toEqual([10, 10, 10]);
  });

  it('prints only the header for no rows, and no header when asked', () => {
    expect(formatTable([], [{ header: 'ID', value: () => '' }])).toEqual(['ID']);
    expect(formatTable([{ a: 'x' }], [{ header: 'A', value: (r) => r.a }], { header: false })).toEqual(['x']);
  });
});

describe('formatFields', () => {
  it('aligns values after the labels', () => {
    expect(formatFields([['id', '42'], ['status', 'success']])).toEqual(['id:      42', 'status:  success']);
  });
});

describe('small formatters', () => {
  it('truncate keeps short text and marks cut text', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('ab…');
  });

  it('formatBytes uses binary units with one decimal below 10', () => {
    expect([0, 1023, 1024, 1536, 10 * 1024, 5 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KB', '1.5 KB', '10 KB', '5.0 MB', '3.0 GB']);
  });

  it('formatDuration: seconds with a decimal, then minutes', () => {
    expect([0, 3210, 59_949, 75_000].map(formatDuration)).toEqual(['0.0s', '3.2s', '59.9s', '1m 15s']);
  });

  it('formatAge: relative up to 30 days, then the date', () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    const ago = (ms: number) => formatAge(new Date(now - ms).toISOString(), now);
    expect([ago(10_000), ago(5 * 60_000), ago(3 * 3_600_000), ago(2 * 86_400_000), ago(40 * 86_400_000)]).toEqual([
      'just now',
      '5m ago',
      '3h ago',
      '2d ago',
      '2026-10-16',
    ]);
    expect(formatAge('not a date', now)).toBe('not a date');
  });
});
