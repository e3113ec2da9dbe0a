import { describe, expect, it } from 'vitest';
import { commandHelp, integer, oneOf, parseCommandArgs, positionals, valueOptionNames } from '../src/args.js';
import { API_GLOBALS, defineCommand, UsageError, type LeafCommand } from '../src/command.js';

const command: LeafCommand = defineCommand({
  name: 'demo run',
  summary: 'Run a demo',
  synopsis: '<prompt>',
  args: { min: 1, max: 1 },
  options: {
    ratio: { type: 'string', value: 'R', description: 'aspect ratio' },
    ref: { type: 'string', value: 'IMAGE', multiple: true, description: 'reference' },
    'no-enhance': { type: 'boolean', description: 'as written' },
    out: { type: 'string', value: 'FILE', short: 'o', description: 'output file' },
  },
  globals: API_GLOBALS,
  async run() {},
});

const usageError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('no UsageError');
};

describe('positionals', () => {
  it('skips the values of options that take one', () => {
    const argv = ['--api-url', 'http://x', 'images', '--limit', '5', 'ls'];
    expect(positionals(argv, valueOptionNames({ limit: { type: 'string', value: 'N', description: '' } })).map((p) => p.value)).toEqual(['images', 'ls']);
    // Without knowing --limit takes a value, 5 would look like the command.
    expect(positionals(argv, valueOptionNames()).map((p) => p.value)).toEqual(['images', '5', 'ls']);
  });

  it('takes everything after -- as positional, with its index', () => {
    expect(positionals(['generate', '--', '--not-a-flag'], valueOptionNames())).toEqual([
      { index: 0, value: 'generate' },
      { index: 2, value: '--not-a-flag' },
    ]);
  });
});

describe('parseCommandArgs', () => {
  it('parses options anywhere, repeats, shorts, and fills defaults', () => {
    const { args, values } = parseCommandArgs(command, ['--ref', '@a', 'a cat', '--ref', '@b', '-o', 'x.png', '--json']);
    expect(args).toEqual(['a cat']);
    expect(values).toMatchObject({ ref: ['@a', '@b'], out: 'x.png', json: true, 'no-enhance': false, help: false });
    expect(values.ratio).toBeUndefined();
    expect(parseCommandArgs(command, ['a cat']).values.ref).toEqual([]);
  });

  it('accepts --opt=value, and a value starting with "-" only that way', () => {
    expect(parseCommandArgs(command, ['x', '--ratio=16:9']).values.ratio).toBe('16:9');
    expect(usageError(() => parseCommandArgs(command, ['x', '--out', '-weird']))).toMatch(/^option --out needs a value/);
    expect(parseCommandArgs(command, ['x', '--out=-weird']).values.out).toBe('-weird');
  });

  it('refuses unknown options, missing values and flags given values', () => {
    expect(usageError(() => parseCommandArgs(command, ['x', '--colour', 'red']))).toBe('unknown option --colour');
    expect(usageError(() => parseCommandArgs(command, ['x', '-z']))).toBe('unknown option -z');
    expect(usageError(() => parseCommandArgs(command, ['x', '--ratio']))).toBe('option --ratio needs a value');
    expect(usageError(() => parseCommandArgs(command, ['x', '--json=yes']))).toBe('option --json does not take a value');
  });

  it('only accepts the global options the command lists', () => {
    const local = defineCommand({ ...command, globals: ['json', 'help'] as const });
    expect(usageError(() => parseCommandArgs(local, ['x', '--api-key', 'k']))).toBe('unknown option --api-key');
    expect(parseCommandArgs(command, ['x', '--api-key', 'k']).values['api-key']).toBe('k');
  });

  it('checks the number of positional arguments, except for --help', () => {
    expect(usageError(() => parseCommandArgs(command, []))).toBe('missing <prompt>');
    expect(usageError(() => parseCommandArgs(command, ['a', 'b']))).toBe('unexpected argument: b');
    expect(parseCommandArgs(command, ['--help']).values.help).toBe(true);
  });
});

describe('option value checks', () => {
  it('oneOf names the choices', () => {
    expect(oneOf('ratio', '16:9', ['1:1', '16:9'])).toBe('16:9');
    expect(oneOf('ratio', undefined, ['1:1'])).toBeUndefined();
    expect(usageError(() => oneOf('ratio', '7:1', ['1:1', '16:9']))).toBe('--ratio must be one of 1:1 16:9');
  });

  it('integer takes whole numbers from min', () => {
    expect(integer('limit', '20', 1)).toBe(20);
    expect(integer('offset', '0', 0)).toBe(0);
    for (const bad of ['0', '-1', '1.5', 'ten', '', '1e3']) expect(usageError(() => integer('limit', bad, 1))).toBe('--limit must be a whole number ≥ 1');
  });
});

describe('commandHelp', () => {
  it('shows the synopsis, the options with placeholders, and the global options', () => {
    const help = commandHelp(command);
    expect(help).toMatch(/^Usage: banatie demo run <prompt> \[options\]\n\nRun a demo\.\n/);
    expect(help).toMatch(/^ {2}--ref <IMAGE>\.\.\. +reference$/m);
    expect(help).toMatch(/^ {2}-o, --out <FILE> +output file$/m);
    expect(help).toMatch(/^Global options:\n {2}--json +print exactly one JSON value/m);
    expect(help).toMatch(/^ {2}--api-key <KEY> /m);
  });
});
