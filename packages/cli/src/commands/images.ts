// `images ls|show|rm`.
import type { ListImagesQuery } from '@banatie/sdk';
import { apiClient } from '../api.js';
import { oneOf, pageOptions, pageQuery } from '../args.js';
import { API_GLOBALS, defineCommand, type CommandGroup } from '../command.js';
import { print, printJson } from '../io.js';
import { imageColumns, imageFields, printFields, printPage } from '../views.js';

const ls = defineCommand({
  name: 'images ls',
  aliases: ['list'],
  summary: 'List images, newest first',
  synopsis: '',
  args: { min: 0, max: 0 },
  options: {
    flow: { type: 'string', value: 'ID', description: 'only images of this flow' },
    source: { type: 'string', value: 'S', description: 'generated or uploaded' },
    alias: { type: 'string', value: '@NAME', description: 'only the image holding this project alias' },
    ...pageOptions,
  },
  globals: API_GLOBALS,
  notes: '--json prints the array of images.',
  async run({ values, io }) {
    const query: ListImagesQuery = { ...pageQuery(values) };
    const source = oneOf('source', values.source, ['generated', 'uploaded'] as const);
    if (source) query.source = source;
    if (values.flow !== undefined) query.flowId = values.flow;
    if (values.alias !== undefined) query.alias = values.alias;
    const page = await apiClient(io, values).images.list(query);
    if (values.json) return printJson(io, page.data);
    printPage(io, page, imageColumns(Date.now()), 'images');
  },
});

const show = defineCommand({
  name: 'images show',
  aliases: ['get'],
  summary: "Show an image's URL, size, aliases and origin",
  synopsis: '<id>',
  args: { min: 1, max: 1 },
  options: {},
  globals: API_GLOBALS,
  async run({ args, values, io }) {
    const image = await apiClient(io, values).images.get(args[0]!);
    if (values.json) return printJson(io, image);
    printFields(io, imageFields(image));
  },
});

const rm = defineCommand({
  name: 'images rm',
  aliases: ['delete'],
  summary: 'Delete an image for good: its file, variants and aliases',
  synopsis: '<id>',
  args: { min: 1, max: 1 },
  options: {},
  globals: API_GLOBALS,
  async run({ args, values, io }) {
    const deleted = await apiClient(io, values).images.delete(args[0]!);
    if (values.json) return printJson(io, deleted);
    print(io, `Deleted image ${deleted.id}`);
  },
});

export const images: CommandGroup = { kind: 'group', name: 'images', summary: 'List, show and delete images', commands: [ls, show, rm] };
