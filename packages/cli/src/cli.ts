// The dispatcher: finds the command among the arguments, parses its options,
// prints help, runs it and turns failures into one stderr line and an exit code.
// Command modules are imported only when used. This package holds the API
// commands (the SDK is all they need); the server's CLI (apps/cli) adds the
// operator commands, which work on the database, to the same dispatcher.
import { readFileSync } from 'node:fs';
import { commandHelp, commandUsage, groupHelp, parseCommandArgs, positionals, PROGRAM, valueOptionNames } from './args.js';
import { CliError, UsageError, type CommandGroup, type CommandNode, type LeafCommand } from './command.js';
import { formatTable } from './format.js';
import { print, type Io } from './io.js';

export interface CommandEntry {
  name: string;
  summary: string;
  section: 'api' | 'operator';
  load: () => Promise<CommandNode>;
}

/** The commands that call a running API (all this package ships). */
export const API_COMMANDS: readonly CommandEntry[] = [
  { name: 'generate', section: 'api', summary: 'Generate an image from a prompt', load: async () => (await import('./commands/generate.js')).generate },
  { name: 'upload', section: 'api', summary: 'Upload an image file', load: async () => (await import('./commands/upload.js')).upload },
  { name: 'images', section: 'api', summary: 'List, show and delete images', load: async () => (await import('./commands/images.js')).images },
  { name: 'generations', section: 'api', summary: 'List and show generations', load: async () => (await import('./commands/generations.js')).generations },
  { name: 'batch', section: 'api', summary: 'Submit, show and cancel batches', load: async () => (await import('./commands/batch.js')).batch },
  { name: 'live', section: 'api', summary: 'Signed live URLs', load: async () => (await import('./commands/live.js')).live },
];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function programHelp(commands: readonly CommandEntry[] = API_COMMANDS): string {
  const section = (s: CommandEntry['section']) =>
    formatTable(
      commands.filter((c) => c.section === s),
      [
        { header: '', value: (c) => `  ${c.name}` },
        { header: '', value: (c) => c.summary },
      ],
      { header: false },
    );
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Generate and manage images with a Banatie API.',
    '',
    'API commands (talk to a running API):',
    ...section('api'),
    '',
    ...(commands.some((c) => c.section === 'operator')
      ? ['Operator commands (work on the database, configured like the API: DATABASE_URL, REDIS_URL):', ...section('operator'), '']
      : []),
    'Options:',
    '  --json           print exactly one JSON value on stdout',
    '  --api-key <KEY>  API key for API commands (default: $BANATIE_API_KEY)',
    '  --api-url <URL>  API base URL (default: $BANATIE_API_URL, else http://localhost:3000)',
    '  -h, --help       show help',
    '  --version        print the version',
    '',
    `Run '${PROGRAM} <command> --help' for a command's options.`,
    '',
  ].join('\n');
}

/** A usage problem and the help of the command it concerns. */
class UsageProblem extends Error {
  constructor(
    readonly problem: UsageError,
    readonly help: string,
  ) {
    super(problem.message);
  }
}

const wantsHelp = (argv: readonly string[], before = argv.length): boolean => argv.slice(0, before).some((a) => a === '--help' || a === '-h');

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** Commands the user may have meant: those `typed` starts, else the ones a typo or two away. */
function didYouMean(typed: string, candidates: string[]): string[] {
  const started = candidates.filter((c) => c.startsWith(typed));
  if (started.length) return started;
  const allowed = Math.max(1, Math.floor(typed.length / 3));
  return candidates.filter((c) => distance(typed, c) <= allowed);
}

function unknownCommand(typed: string, prefix: string, candidates: string[], help: string): UsageProblem {
  const meant = didYouMean(typed, candidates).map((c) => `'${prefix}${c}'`);
  const hint = meant.length ? ` (did you mean ${meant.join(' or ')}?)` : '';
  return new UsageProblem(new UsageError(`unknown command: ${prefix}${typed}${hint}`), help);
}

async function loadNamed(name: string, commands: readonly CommandEntry[]): Promise<CommandNode> {
  const entry = commands.find((c) => c.name === name);
  if (!entry) throw unknownCommand(name, '', commands.map((c) => c.name), programHelp(commands));
  return entry.load();
}

function leafNamed(group: CommandGroup, name: string): LeafCommand {
  const command = group.commands.find((c) => c.name === `${group.name} ${name}` || c.aliases?.includes(name));
  if (command) return command;
  const names = group.commands.map((c) => c.name.slice(group.name.length + 1));
  throw unknownCommand(name, `${group.name} `, names, groupHelp(group));
}

/** Resolves the command named in `argv`; `undefined` when help was printed instead. */
async function resolve(argv: readonly string[], io: Io, commands: readonly CommandEntry[]): Promise<{ command: LeafCommand; rest: string[] } | undefined> {
  const [first] = positionals(argv, valueOptionNames());
  const terminator = argv.indexOf('--');
  const beforeFirst = first?.index ?? (terminator === -1 ? argv.length : terminator);
  if (!first) {
    if (argv.slice(0, beforeFirst).includes('--version')) return void print(io, version());
    if (argv.length === 0 || wantsHelp(argv, beforeFirst)) return void io.stdout.write(programHelp(commands));
    throw new UsageProblem(new UsageError('missing command'), programHelp(commands));
  }
  if (first.value === 'help') return void (await printHelpFor(argv.slice(first.index + 1), io, commands));
  const node = await loadNamed(first.value, commands);
  const without = (...indexes: number[]) => argv.filter((_, i) => !indexes.includes(i));
  if (node.kind === 'command') return { command: node, rest: without(first.index) };

  const second = positionals(argv, valueOptionNames(...node.commands.map((c) => c.options)))[1];
  if (!second) {
    if (wantsHelp(argv)) return void io.stdout.write(groupHelp(node));
    throw new UsageProblem(new UsageError(`missing ${node.name} command`), groupHelp(node));
  }
  const command = leafNamed(node, second.value);
  return { command, rest: without(first.index, second.index) };
}

/** `banatie help [command [subcommand]]`. */
async function printHelpFor(names: string[], io: Io, commands: readonly CommandEntry[]): Promise<void> {
  if (!names[0]) return void io.stdout.write(programHelp(commands));
  const node = await loadNamed(names[0], commands);
  if (node.kind === 'command') return void io.stdout.write(commandHelp(node));
  if (!names[1]) return void io.stdout.write(groupHelp(node));
  io.stdout.write(commandHelp(leafNamed(node, names[1])));
}

/** An error with a stable code, from the API (SDK), the CLI or the services behind operator commands. */
function codeOf(err: unknown): string | undefined {
  if (err instanceof CliError) return err.code;
  // The SDK's errors carry the HTTP status, core's a kind (core is not loaded here unless a command did).
  const e = err as { code?: unknown; status?: unknown; kind?: unknown };
  const fromService = typeof e?.code === 'string' && (typeof e.status === 'number' || typeof e.kind === 'string');
  return fromService ? (e.code as string) : undefined;
}

/** The message, with the innermost cause when it says more (`fetch failed` → `connect ECONNREFUSED 127.0.0.1:3000`). */
function describe(err: unknown): string {
  // Connecting to a host with several addresses fails with an AggregateError whose own message is empty.
  if (err instanceof AggregateError && !err.message && err.errors.length) return describe(err.errors[0]);
  const message = err instanceof Error ? err.message || err.name : String(err);
  let root: unknown = err;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  const rootMessage = root instanceof Error && root !== err ? root.message : '';
  return rootMessage && !message.includes(rootMessage) ? `${message} (${rootMessage})` : message;
}

/** Runs the CLI; returns the exit code: 0, 1 (the command failed) or 2 (wrong usage). */
export async function runCli(argv: readonly string[], io: Io, commands: readonly CommandEntry[] = API_COMMANDS): Promise<number> {
  try {
    const resolved = await resolve(argv, io, commands);
    if (!resolved) return 0;
    const { command, rest } = resolved;
    let parsed: ReturnType<typeof parseCommandArgs>;
    try {
      parsed = parseCommandArgs(command, rest);
      if (parsed.values.help) {
        io.stdout.write(commandHelp(command));
        return 0;
      }
      await command.run({ args: parsed.args, values: parsed.values as never, io });
    } catch (err) {
      if (err instanceof UsageError) throw new UsageProblem(err, commandUsage(command));
      throw err;
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageProblem) {
      io.stderr.write(`error: ${err.message}\n\n${err.help}`);
      return 2;
    }
    const code = codeOf(err);
    const message = describe(err);
    io.stderr.write(code ? `error ${code}: ${message}\n` : `error: ${message}\n`);
    return 1;
  }
}
