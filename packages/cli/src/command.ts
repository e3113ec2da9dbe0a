// What a command is: its options (typed from their definitions), its
// positional arguments, its help, and how it runs.
import type { Io } from './io.js';

export interface StringOption {
  type: 'string';
  /** Placeholder shown in help: `--ratio <R>`. */
  value: string;
  description: string;
  multiple?: boolean;
  short?: string;
}

export interface BooleanOption {
  type: 'boolean';
  description: string;
  short?: string;
}

export type OptionDef = StringOption | BooleanOption;
export type Options = Record<string, OptionDef>;

type ValueOf<D extends OptionDef> = D extends StringOption ? (D['multiple'] extends true ? string[] : string | undefined) : boolean;

/** Parsed option values, keyed by option name (`no-enhance` stays `no-enhance`). */
export type Values<O extends Options> = { [K in keyof O]: ValueOf<O[K]> } & GlobalValues;

export interface GlobalValues {
  json: boolean;
  help: boolean;
  'api-key': string | undefined;
  'api-url': string | undefined;
}

/** Options shared by commands; each command lists the ones it takes (`globals`). */
export const GLOBAL_OPTIONS = {
  json: { type: 'boolean', description: 'print exactly one JSON value on stdout (and nothing else there)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  'api-key': { type: 'string', value: 'KEY', description: 'API key (default: $BANATIE_API_KEY)' },
  'api-url': { type: 'string', value: 'URL', description: 'API base URL (default: $BANATIE_API_URL or http://localhost:3000)' },
} as const satisfies Options;

/** API commands take all the shared options; operator commands (on the database) only --json and --help. */
export const API_GLOBALS = ['json', 'api-key', 'api-url', 'help'] as const;
export const LOCAL_GLOBALS = ['json', 'help'] as const;

export interface CommandContext<O extends Options> {
  /** Positional arguments after the command's name. */
  args: string[];
  values: Values<O>;
  io: Io;
}

export interface LeafCommand<O extends Options = Options> {
  kind: 'command';
  /** Full name as typed: `images ls`. */
  name: string;
  summary: string;
  /** Positional part of the synopsis: `<prompt>`, `<org>/<project>`. */
  synopsis: string;
  /** How many positional arguments the command takes. */
  args: { min: number; max: number };
  options: O;
  globals: readonly (keyof typeof GLOBAL_OPTIONS)[];
  /** Other names it answers to: `list` for `ls`. */
  aliases?: string[];
  /** Extra help text after the options. */
  notes?: string;
  run(ctx: CommandContext<O>): Promise<void>;
}

export interface CommandGroup {
  kind: 'group';
  name: string;
  summary: string;
  commands: LeafCommand[];
}

export type CommandNode = LeafCommand | CommandGroup;

/** Keeps the option types of `def` for its `run` while storing it as a plain LeafCommand. */
export function defineCommand<O extends Options>(def: Omit<LeafCommand<O>, 'kind'>): LeafCommand {
  return { kind: 'command', ...def } as unknown as LeafCommand;
}

/** Wrong invocation: the dispatcher prints the message and the command's usage on stderr, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the CLI itself detects, reported like an API error: `error CODE: message`, exit 1. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
