// `generations ls|show`.
import { GENERATION_STATUSES, type ListGenerationsQuery } from '@banatie/sdk';
import { apiClient } from '../api.js';
import { oneOf, pageOptions, pageQuery } from '../args.js';
import { API_GLOBALS, defineCommand, type CommandGroup } from '../command.js';
import { printJson } from '../io.js';
import { generationColumns, generationFields, printFields, printPage } from '../views.js';

const ls = defineCommand({
  name: 'generations ls',
  aliases: ['list'],
  summary: 'List generations, newest first',
  synopsis: '',
  args: { min: 0, max: 0 },
  options: {
    status: { type: 'string', value: 'S', description: GENERATION_STATUSES.join(' ') },
    flow: { type: 'string', value: 'ID', description: 'only generations of this flow' },
    ...pageOptions,
  },
  globals: API_GLOBALS,
  notes: '--json prints the array of generations.',
  async run({ values, io }) {
    const query: ListGenerationsQuery = { ...pageQuery(values) };
    const status = oneOf('status', values.status, GENERATION_STATUSES);
    if (status) query.status = status;
    if (values.flow !== undefined) query.flowId = values.flow;
    const page = await apiClient(io, values).generations.list(query);
    if (values.json) return printJson(io, page.data);
    printPage(io, page, generationColumns(Date.now()), 'generations');
  },
});

const show = defineCommand({
  name: 'generations show',
  aliases: ['get'],
  summary: "Show a generation: status, prompts, image, error",
  synopsis: '<id>',
  args: { min: 1, max: 1 },
  options: {},
  globals: API_GLOBALS,
  async run({ args, values, io }) {
    const generation = await apiClient(io, values).generations.get(args[0]!);
    if (values.json) return printJson(io, generation);
    printFields(io, generationFields(generation));
  },
});

export const generations: CommandGroup = { kind: 'group', name: 'generations', summary: 'List and show generations', commands: [ls, show] };
