// `generate "prompt"`: submit, optionally wait with a progress display, save the image.
import { ASPECT_RATIOS, IMAGE_SIZES, PROMPT_TEMPLATES, parseCancelAfter, type CreateGenerationInput, type Generation, type Image } from '@banatie/sdk';
import { apiClient } from '../api.js';
import { integer, oneOf } from '../args.js';
import { API_GLOBALS, CliError, UsageError, defineCommand, type GlobalValues, type Values } from '../command.js';
import { downloadImage, extensionMismatch } from '../download.js';
import { note, printJson, type Io } from '../io.js';
import { Progress } from '../progress.js';
import { generationFields, printFields } from '../views.js';

const DEFAULT_TIMEOUT_SECONDS = 300;
/** How often a pending generation is re-read while waiting, for its queue position. */
const QUEUE_REFRESH_MS = 2000;

/** `error CODE: message` for a generation that ended without an image. */
function failure(g: Generation): CliError {
  if (g.status === 'cancelled') return new CliError('CANCELLED', `Generation ${g.id} was cancelled`);
  return new CliError(g.error?.code ?? 'FAILED', g.error?.message ?? `Generation ${g.id} failed`);
}

const options = {
  ratio: { type: 'string', value: 'R', description: `aspect ratio: ${ASPECT_RATIOS.join(' ')} (default: the project's, else 1:1)` },
  model: { type: 'string', value: 'MODEL', description: "image model (default: the project's, else the server's; see GET /api/v1/models)" },
  size: { type: 'string', value: 'SIZE', description: `image size: ${IMAGE_SIZES.join(' ')} as the model allows (default: the project's, else the model's smallest)` },
  ground: { type: 'boolean', description: 'ground the image with Google Search (Gemini 3 image models)' },
  ref: { type: 'string', value: 'IMAGE', multiple: true, description: "reference image, an id or @alias (repeat; up to the model's limit: 3 or 14)" },
  flow: { type: 'string', value: 'ID', description: 'add to this flow (default: a new flow)' },
  alias: { type: 'string', value: '@NAME', description: 'project alias for the image (taken over from any image holding it)' },
  'flow-alias': { type: 'string', value: '@NAME', description: 'alias for the image inside its flow' },
  template: { type: 'string', value: 'T', description: `prompt enhancement template: ${PROMPT_TEMPLATES.join(' ')}` },
  'no-enhance': { type: 'boolean', description: 'send the prompt as written (no enhancement by the text model)' },
  wait: { type: 'boolean', short: 'w', description: 'wait for the result, showing progress on stderr' },
  out: { type: 'string', value: 'FILE', short: 'o', description: 'save the image to FILE (or into a directory); implies --wait' },
  timeout: { type: 'string', value: 'SECONDS', description: `stop waiting after this long (default ${DEFAULT_TIMEOUT_SECONDS})` },
  'cancel-after': { type: 'string', value: 'DURATION', description: "the server gives up on the generation after this long (30s, 5m, 1h30m or seconds; default the server's)" },
} as const;

type GenerateValues = Values<typeof options>;

function requestBody(prompt: string, values: GenerateValues): CreateGenerationInput {
  const body: CreateGenerationInput = { prompt };
  const aspectRatio = oneOf('ratio', values.ratio, ASPECT_RATIOS);
  if (aspectRatio) body.aspectRatio = aspectRatio;
  if (values.model !== undefined) body.model = values.model;
  const imageSize = oneOf('size', values.size, IMAGE_SIZES);
  if (imageSize) body.imageSize = imageSize;
  if (values.ground) body.groundWithSearch = true;
  if (values.ref.length) body.referenceImages = values.ref;
  if (values.flow !== undefined) body.flowId = values.flow;
  if (values.alias !== undefined) body.alias = values.alias;
  if (values['flow-alias'] !== undefined) body.flowAlias = values['flow-alias'];
  const template = oneOf('template', values.template, PROMPT_TEMPLATES);
  if (template) body.enhancementOptions = { template };
  if (values['no-enhance']) body.autoEnhance = false;
  return body;
}

const printWarnings = (io: Io, warnings: string[]): void => warnings.forEach((w) => note(io, `warning: ${w}`));

/** `--cancel-after`, checked here as the API would (a usage error, before anything is sent). */
function cancelAfter(value: string | undefined): string | undefined {
  if (value === undefined || parseCancelAfter(value) !== undefined) return value;
  throw new UsageError('--cancel-after must be a duration such as 30s, 5m or 1h30m, or a number of seconds');
}

/** Shown after `pending`: the place in line, counted from 1 (the API counts the jobs ahead). */
const queueDetail = (g: Generation): string | undefined =>
  g.status === 'pending' && g.queuePosition !== null ? `queued, position ${g.queuePosition + 1}` : undefined;

interface SubmitOptions {
  cancelAfter: string | undefined;
  timeoutSeconds: number;
}

/** Without --wait: submit and say how to follow it. */
async function submit(io: Io, values: GlobalValues, body: CreateGenerationInput, opts: SubmitOptions): Promise<void> {
  const { generation, warnings } = await apiClient(io, values).generations.create(body, { cancelAfter: opts.cancelAfter });
  printWarnings(io, warnings);
  if (values.json) return printJson(io, generation);
  printFields(io, [
    ['id', generation.id],
    ['status', generation.status],
  ]);
  note(io, `Follow it: banatie generations show ${generation.id}`);
}

/** Submits and follows the generation to its end with a progress display on stderr. */
async function submitAndWait(io: Io, values: GlobalValues, body: CreateGenerationInput, { cancelAfter, timeoutSeconds }: SubmitOptions): Promise<Generation> {
  const client = apiClient(io, values);
  let warnings: string[] = [];
  const progress = new Progress(io.stderr);
  let last: Generation | undefined;
  try {
    const generation = await client.generations.createAndWait(body, {
      timeoutMs: timeoutSeconds * 1000,
      // Answer the submit at once and follow the event stream, so every status change is shown.
      wait: 0,
      cancelAfter,
      queueRefreshMs: QUEUE_REFRESH_MS,
      signal: io.signal,
      onSubmit: (submitted) => {
        warnings = submitted.warnings;
      },
      onUpdate: (g) => {
        last = g;
        progress.update(g.status, queueDetail(g));
      },
    });
    progress.stop(generation.status);
    printWarnings(io, warnings);
    return generation;
  } catch (err) {
    progress.stop();
    const follow = last && `(banatie generations show ${last.id})`;
    if (io.signal.aborted && last) throw new CliError('INTERRUPTED', `stopped waiting; generation ${last.id} goes on ${follow}`);
    if ((err as { code?: string }).code === 'WAIT_TIMEOUT' && last) {
      throw new CliError('WAIT_TIMEOUT', `generation ${last.id} still ${last.status} after ${timeoutSeconds}s ${follow}`);
    }
    throw err;
  }
}

/** --out: the image's bytes into the file; returns the path written. */
async function save(io: Io, image: Image, out: string): Promise<string> {
  const path = await downloadImage(image, out, io.signal);
  if (extensionMismatch(path, image.mimeType)) note(io, `warning: the image is ${image.mimeType}; ${path} holds it unchanged`);
  return path;
}

export const generate = defineCommand({
  name: 'generate',
  summary: 'Generate an image from a prompt',
  synopsis: '<prompt>',
  args: { min: 1, max: 1 },
  options,
  globals: API_GLOBALS,
  notes: [
    'Without --wait the generation is submitted and its id printed; follow it with',
    "'banatie generations show ID'. While waiting, a pending generation shows its place",
    'in the queue (queued, position 1: next to start). --cancel-after sets its deadline',
    '(the Cancel-After header): past it, an unfinished generation fails with',
    'DEADLINE_EXCEEDED. The image is saved as the server stored it (its own format).',
    '--json prints the generation object (with "savedTo" when --out is given); a failed',
    'generation is printed too, and the exit code is 1.',
    '',
    'Example:',
    '  banatie generate "a lighthouse at dusk, watercolor" --ratio 16:9 --out hero.png',
  ].join('\n'),
  async run({ args, values, io }) {
    const body = requestBody(args[0]!, values);
    const opts = { timeoutSeconds: integer('timeout', values.timeout, 1) ?? DEFAULT_TIMEOUT_SECONDS, cancelAfter: cancelAfter(values['cancel-after']) };
    if (!values.wait && values.out === undefined) return submit(io, values, body, opts);

    const generation = await submitAndWait(io, values, body, opts);
    if (generation.status !== 'success' || !generation.outputImage) {
      if (values.json) printJson(io, generation);
      throw failure(generation);
    }
    const savedTo = values.out === undefined ? undefined : await save(io, generation.outputImage, values.out);
    if (values.json) return printJson(io, savedTo === undefined ? generation : { ...generation, savedTo });
    printFields(io, [...generationFields(generation), ...(savedTo === undefined ? [] : [['saved', savedTo] as const])]);
  },
});
