// How images and generations look in human output (tables and detail blocks).
import type { Generation, Image, Page } from '@banatie/sdk';
import { formatAge, formatBytes, formatDuration, formatFields, formatTable, orDash, type Column } from './format.js';
import { note, print, type Io } from './io.js';

const aliasesOf = (image: Image): string => orDash([image.alias, ...image.flowAliases.map((a) => `${a} (flow)`)].filter(Boolean).join(', '));
const dimensions = (image: Image): string => `${image.width}×${image.height}`;

export const imageColumns = (now: number): Column<Image>[] => [
  { header: 'ID', value: (i) => i.id },
  { header: 'SOURCE', value: (i) => i.source },
  { header: 'ALIAS', value: aliasesOf, maxWidth: 30 },
  { header: 'SIZE', value: dimensions, align: 'right' },
  { header: 'BYTES', value: (i) => formatBytes(i.fileSize), align: 'right' },
  { header: 'CREATED', value: (i) => formatAge(i.createdAt, now) },
];

export const imageFields = (image: Image): Array<[string, string]> => [
  ['id', image.id],
  ['source', image.source],
  ['url', image.url],
  ['versioned url', image.versionedUrl],
  ['size', `${dimensions(image)} · ${formatBytes(image.fileSize)} · ${image.mimeType}`],
  ['aliases', aliasesOf(image)],
  ['flow', orDash(image.flowId)],
  ['generation', orDash(image.generationId)],
  ['version', String(image.version)],
  ['created', image.createdAt],
];

export const generationColumns = (now: number): Column<Generation>[] => [
  { header: 'ID', value: (g) => g.id },
  { header: 'STATUS', value: (g) => g.status },
  { header: 'RATIO', value: (g) => g.aspectRatio },
  { header: 'PROMPT', value: (g) => g.originalPrompt, maxWidth: 40 },
  { header: 'CREATED', value: (g) => formatAge(g.createdAt, now) },
];

export function generationFields(g: Generation): Array<[string, string]> {
  const fields: Array<[string, string]> = [
    ['id', g.id],
    ['status', g.status],
    ['prompt', g.originalPrompt],
  ];
  if (g.prompt !== g.originalPrompt) fields.push(['sent prompt', g.prompt]);
  fields.push(['ratio', g.aspectRatio]);
  if (g.model) fields.push(['model', [g.model, g.imageSize, g.groundWithSearch ? 'grounded with Google Search' : null].filter(Boolean).join(' · ')]);
  if (g.batchId) fields.push(['batch', g.batchId]);
  if (g.status === 'pending' && g.queuePosition !== null) fields.push(['queue', `position ${g.queuePosition + 1} (${g.queuePosition} ahead)`]);
  if (g.error) fields.push(['error', `${g.error.code}: ${g.error.message}`]);
  if (g.outputImage) {
    fields.push(['image', g.outputImage.url], ['size', `${dimensions(g.outputImage)} · ${formatBytes(g.outputImage.fileSize)} · ${g.outputImage.mimeType}`]);
  }
  if (g.referenceImages.length) fields.push(['references', g.referenceImages.map((r) => r.alias ?? r.imageId).join(', ')]);
  fields.push(['flow', orDash(g.flowId)]);
  if (g.alias || g.flowAlias) fields.push(['aliases', [g.alias, g.flowAlias && `${g.flowAlias} (flow)`].filter(Boolean).join(', ')]);
  if (g.processingTimeMs !== null) fields.push(['took', formatDuration(g.processingTimeMs)]);
  fields.push(['created', g.createdAt]);
  return fields;
}

/** Prints a detail block on stdout. */
export const printFields = (io: Io, fields: ReadonlyArray<readonly [string, string]>): void => {
  for (const line of formatFields(fields)) print(io, line);
};

/**
 * Prints a page as a table on stdout; "nothing found" and the way to the next
 * page go to stderr, so stdout stays the table.
 */
export function printPage<T>(io: Io, page: Page<T>, columns: Column<T>[], what: string): void {
  if (page.data.length === 0) {
    note(io, `No ${what} found.`);
    return;
  }
  for (const line of formatTable(page.data, columns)) print(io, line);
  const { total, offset, hasMore } = page.pagination;
  if (hasMore) note(io, `${offset + 1}–${offset + page.data.length} of ${total} ${what}; next: --offset ${offset + page.data.length}`);
}
