// `live sign`: a signed public live URL, signed by the server (POST /api/v1/live/sign).
import { ASPECT_RATIOS, IMAGE_SIZES, PROMPT_TEMPLATES, type SignLiveInput } from '@banatie/sdk';
import { apiClient } from '../api.js';
import { integer, oneOf } from '../args.js';
import { API_GLOBALS, defineCommand, UsageError, type CommandGroup } from '../command.js';
import { print, printJson } from '../io.js';

const sign = defineCommand({
  name: 'live sign',
  summary: 'Print a signed live URL for a prompt (for scopes with requireSignature)',
  synopsis: '<prompt>',
  args: { min: 1, max: 1 },
  options: {
    scope: { type: 'string', value: 'S', description: 'the live scope (required)' },
    ratio: { type: 'string', value: 'R', description: `aspect ratio: ${ASPECT_RATIOS.join(' ')}` },
    template: { type: 'string', value: 'T', description: `prompt enhancement template: ${PROMPT_TEMPLATES.join(' ')}` },
    model: { type: 'string', value: 'MODEL', description: 'image model (part of the signed URL)' },
    size: { type: 'string', value: 'SIZE', description: `image size: ${IMAGE_SIZES.join(' ')} (part of the signed URL)` },
    'no-enhance': { type: 'boolean', description: 'generate from the prompt as written' },
    'expires-in': { type: 'string', value: 'SECONDS', description: 'the URL stops working after this long (default: never)' },
  },
  globals: API_GLOBALS,
  notes: [
    "The server signs the URL with the project's live signing secret and builds it on its",
    'public address (PUBLIC_BASE_URL), ready for <img src>. --json prints {"url","expiresAt"}.',
    '',
    'Example:',
    '  banatie live sign --scope hero "a red bicycle, studio light" --ratio 16:9 --expires-in 86400',
  ].join('\n'),
  async run({ args, values, io }) {
    if (values.scope === undefined) throw new UsageError('--scope is required');
    const body: SignLiveInput = { scope: values.scope, prompt: args[0]! };
    const aspectRatio = oneOf('ratio', values.ratio, ASPECT_RATIOS);
    if (aspectRatio) body.aspectRatio = aspectRatio;
    const template = oneOf('template', values.template, PROMPT_TEMPLATES);
    if (template) body.template = template;
    if (values.model !== undefined) body.model = values.model;
    const imageSize = oneOf('size', values.size, IMAGE_SIZES);
    if (imageSize) body.imageSize = imageSize;
    if (values['no-enhance']) body.autoEnhance = false;
    const expiresIn = integer('expires-in', values['expires-in'], 1);
    if (expiresIn !== undefined) body.expiresAt = Math.floor(Date.now() / 1000) + expiresIn;
    const url = await apiClient(io, values).live.signOnServer(body);
    if (values.json) return printJson(io, { url, expiresAt: body.expiresAt ?? null });
    print(io, url);
  },
});

export const live: CommandGroup = { kind: 'group', name: 'live', summary: 'Signed live URLs', commands: [sign] };
