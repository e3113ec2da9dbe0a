// `batch submit|show|cancel`: many generations in one request (SPEC §13).
import { readFile } from 'node:fs/promises';
import { ASPECT_RATIOS, IMAGE_SIZES, type Batch, type CreateBatchInput, type CreateGenerationInput } from '@banatie/sdk';
import { apiClient } from '../api.js';
import { oneOf } from '../args.js';
import { API_GLOBALS, CliError, defineCommand, UsageError, type CommandGroup } from '../command.js';
import { note, printJson, type Io } from '../io.js';
import { printFields } from '../views.js';

const TIERS = ['standard', 'batch'] as const;

/** One prompt per line; blank lines and lines starting with `#` are skipped. */
export function promptsOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function batchFields(b: Batch): Array<[string, string]> {
  const c = b.counts;
  return [
    ['id', b.id],
    ['status', b.status],
    ['tier', b.tier],
    ['items', `${c.total}: ${c.success} succeeded, ${c.failed} failed, ${c.cancelled} cancelled, ${c.pending} pending, ${c.processing} processing`],
    ['created', b.createdAt],
    ['completed', b.completedAt ?? '—'],
  ];
}

function printBatch(io: Io, json: boolean | undefined, batch: Batch): void {
  if (json) return printJson(io, batch);
  printFields(io, batchFields(batch));
}

const submit = defineCommand({
  name: 'batch submit',
  summary: 'Submit every prompt of a file (one per line) as one batch',
  synopsis: '<file>',
  args: { min: 1, max: 1 },
  options: {
    tier: { type: 'string', value: 'T', description: 'standard (the normal queue) or batch (the Gemini Batch API: half price, within 24 h)' },
    model: { type: 'string', value: 'MODEL', description: "image model for every item (default: the project's, else the server's)" },
    size: { type: 'string', value: 'SIZE', description: `image size: ${IMAGE_SIZES.join(' ')}` },
    ratio: { type: 'string', value: 'R', description: `aspect ratio: ${ASPECT_RATIOS.join(' ')}` },
    'no-enhance': { type: 'boolean', description: 'send the prompts as written' },
    'idempotency-key': { type: 'string', value: 'KEY', description: 'submitting again with the same key and file returns the first batch' },
  },
  globals: API_GLOBALS,
  notes: 'Blank lines and lines starting with # are skipped. --json prints the batch object.',
  async run({ args, values, io }) {
    const text = await readFile(args[0]!, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new CliError('FILE_NOT_READABLE', `Cannot read ${args[0]}: ${err.code ?? err.message}`);
    });
    const prompts = promptsOf(text);
    if (prompts.length === 0) throw new UsageError(`${args[0]} holds no prompt`);
    const item: Omit<CreateGenerationInput, 'prompt'> = {};
    if (values.model !== undefined) item.model = values.model;
    const imageSize = oneOf('size', values.size, IMAGE_SIZES);
    if (imageSize) item.imageSize = imageSize;
    const aspectRatio = oneOf('ratio', values.ratio, ASPECT_RATIOS);
    if (aspectRatio) item.aspectRatio = aspectRatio;
    if (values['no-enhance']) item.autoEnhance = false;
    const input: CreateBatchInput = { items: prompts.map((prompt) => ({ prompt, ...item })) };
    const tier = oneOf('tier', values.tier, TIERS);
    if (tier) input.tier = tier;
    const batch = await apiClient(io, values).batches.create(input, { idempotencyKey: values['idempotency-key'] });
    printBatch(io, values.json, batch);
    if (!values.json) note(io, `Follow it: banatie batch show ${batch.id}`);
  },
});

const show = defineCommand({
  name: 'batch show',
  aliases: ['get'],
  summary: 'Show a batch: status and item counts',
  synopsis: '<id>',
  args: { min: 1, max: 1 },
  options: {},
  globals: API_GLOBALS,
  async run({ args, values, io }) {
    printBatch(io, values.json, await apiClient(io, values).batches.get(args[0]!));
  },
});

const cancel = defineCommand({
  name: 'batch cancel',
  summary: 'Cancel every item of a batch that has not finished',
  synopsis: '<id>',
  args: { min: 1, max: 1 },
  options: {},
  globals: API_GLOBALS,
  async run({ args, values, io }) {
    printBatch(io, values.json, await apiClient(io, values).batches.cancel(args[0]!));
  },
});

export const batch: CommandGroup = { kind: 'group', name: 'batch', summary: 'Submit, show and cancel batches', commands: [submit, show, cancel] };
