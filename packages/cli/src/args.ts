// Argument parsing on node:util parseArgs: finding the command's name among the
// arguments, strict parsing of its options, and its help text.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GLOBAL_OPTIONS, UsageError, type CommandGroup, type LeafCommand, type OptionDef, type Options } from './command.js';
import { formatTable } from './format.js';

export const PROGRAM = 'banatie';

export interface Positional {
  /** Index in the argument list. */
  index: number;
  value: string;
}

/**
 * The positional arguments, knowing which options take a value (so that in
 * `images --limit 5 ls` the `5` is not taken for a command name). Unknown
 * options are skipped here; the strict parse reports them.
 */
export function positionals(argv: readonly string[], valueOptions: readonly string[]): Positional[] {
  const options: ParseArgsConfig['options'] = {};
  for (const name of valueOptions) options[name] = { type: 'string' };
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  return tokens.flatMap((t) => (t.kind === 'positional' ? [{ index: t.index, value: t.value }] : []));
}

/** Names of the options that take a value, among `options` and the global ones. */
export const valueOptionNames = (...optionSets: Options[]): string[] =>
  [GLOBAL_OPTIONS, ...optionSets].flatMap((set) => Object.entries(set).filter(([, d]) => d.type === 'string').map(([name]) => name));

const globalsOf = (command: LeafCommand): Record<string, OptionDef> =>
  Object.fromEntries(command.globals.map((name) => [name, GLOBAL_OPTIONS[name] as OptionDef]));

const optionsOf = (command: LeafCommand): Record<string, OptionDef> => ({ ...command.options, ...globalsOf(command) });

/** Node's parseArgs messages, made short: `unknown option --foo`. */
function usageErrorFrom(err: unknown): UsageError {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = /'([^']+)'/.exec(message)?.[1];
    return new UsageError(`unknown option ${name ?? message}`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /'(--?[^' ]+)/.exec(message)?.[1];
    if (name && /argument missing/.test(message)) return new UsageError(`option ${name} needs a value`);
    if (name && /does not take an argument/.test(message)) return new UsageError(`option ${name} does not take a value`);
    if (name && /ambiguous/.test(message)) return new UsageError(`option ${name} needs a value (a value starting with "-" goes as ${name}=VALUE)`);
  }
  return new UsageError(message.split('\n')[0]!);
}

export interface ParsedArgs {
  args: string[];
  values: Record<string, string | string[] | boolean | undefined>;
}

/**
 * Parses `argv` (the command's name already removed) against the command's
 * options strictly: unknown options, missing values and a wrong number of
 * positional arguments are UsageErrors. Booleans default to false, repeated
 * options to [].
 */
export function parseCommandArgs(command: LeafCommand, argv: readonly string[]): ParsedArgs {
  const defs = optionsOf(command);
  const options: ParseArgsConfig['options'] = {};
  for (const [name, def] of Object.entries(defs)) {
    options[name] = { type: def.type, ...(def.short ? { short: def.short } : {}), ...(def.type === 'string' && def.multiple ? { multiple: true } : {}) };
  }
  let parsed: { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] };
  try {
    // Our option definitions never mix types within one option, so values are strings, string lists or booleans.
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    throw usageErrorFrom(err);
  }
  const values: ParsedArgs['values'] = { ...parsed.values };
  for (const [name, def] of Object.entries(defs)) {
    if (values[name] !== undefined) continue;
    if (def.type === 'boolean') values[name] = false;
    else if (def.multiple) values[name] = [];
  }
  if (values.help) return { args: parsed.positionals, values };
  const { min, max } = command.args;
  if (parsed.positionals.length < min) throw new UsageError(`missing ${command.synopsis}`);
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument: ${parsed.positionals[max]}`);
  return { args: parsed.positionals, values };
}

const optionLabel = (name: string, def: OptionDef): string =>
  `${def.short ? `-${def.short}, ` : ''}--${name}${def.type === 'string' ? ` <${def.value}>` : ''}${def.type === 'string' && def.multiple ? '...' : ''}`;

function optionLines(options: Record<string, OptionDef>): string[] {
  return formatTable(
    Object.entries(options),
    [
      { header: '', value: ([name, def]) => `  ${optionLabel(name, def)}` },
      { header: '', value: ([, def]) => def.description },
    ],
    { header: false },
  );
}

const usageLine = (command: LeafCommand): string =>
  `Usage: ${PROGRAM} ${command.name}${command.synopsis ? ` ${command.synopsis}` : ''} [options]`;

/** The short form printed after a usage error. */
export const commandUsage = (command: LeafCommand): string => `${usageLine(command)}
Run '${PROGRAM} ${command.name} --help' for its options.
`;

export function commandHelp(command: LeafCommand): string {
  const hasOptions = Object.keys(command.options).length > 0;
  const lines = [usageLine(command), '', `${command.summary}.`];
  if (hasOptions) lines.push('', 'Options:', ...optionLines(command.options));
  lines.push('', 'Global options:', ...optionLines(globalsOf(command)));
  if (command.notes) lines.push('', command.notes);
  return `${lines.join('\n')}\n`;
}

export function groupHelp(group: CommandGroup): string {
  const lines = [
    `Usage: ${PROGRAM} ${group.name} <command> [options]`,
    '',
    `${group.summary}.`,
    '',
    'Commands:',
    ...formatTable(
      group.commands,
      [
        { header: '', value: (c) => `  ${c.name.slice(group.name.length + 1)}${c.synopsis ? ` ${c.synopsis}` : ''}` },
        { header: '', value: (c) => c.summary },
      ],
      { header: false },
    ),
    '',
    `Run '${PROGRAM} ${group.name} <command> --help' for a command's options.`,
  ];
  return `${lines.join('\n')}\n`;
}

/** `value` if it is one of `choices`; a UsageError naming them otherwise. */
export function oneOf<T extends string>(option: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${option} must be one of ${choices.join(' ')}`);
}

/** A whole number from `min` up; a UsageError otherwise. */
export function integer(option: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${option} must be a whole number ≥ ${min}`);
  return n;
}

export const pageOptions = {
  limit: { type: 'string', value: 'N', description: 'at most N rows (1-100, default 20)' },
  offset: { type: 'string', value: 'N', description: 'skip the first N rows' },
} as const;

/** `--limit` and `--offset`, checked. */
export const pageQuery = (values: { limit: string | undefined; offset: string | undefined }): { limit?: number; offset?: number } => {
  const limit = integer('limit', values.limit, 1);
  const offset = integer('offset', values.offset, 0);
  return { ...(limit !== undefined ? { limit } : {}), ...(offset !== undefined ? { offset } : {}) };
};
