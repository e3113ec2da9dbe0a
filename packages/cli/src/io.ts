// The process's streams and environment as commands see them (tests pass their own).

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: OutStream;
  /** Progress, warnings and errors: never the command's result. */
  stderr: OutStream;
  /** Read only by the config loaders (and passed to child tools). */
  env: Record<string, string | undefined>;
  /**
   * Aborted on Ctrl-C, so a long wait can stop and say what is still running.
   * Only commands that read it handle Ctrl-C; for the others it ends the process as usual.
   */
  readonly signal: AbortSignal;
}

export function nodeIo(): Io {
  // `banatie images ls | head -1`: the reader went away; that ends the command quietly, as in other tools.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
  let interrupted: AbortController | undefined;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    get signal() {
      if (!interrupted) {
        const controller = (interrupted = new AbortController());
        process.once('SIGINT', () => controller.abort(new Error('interrupted')));
      }
      return interrupted.signal;
    },
  };
}

/** One line of human output on stdout. */
export const print = (io: Io, line: string): void => void io.stdout.write(`${line}\n`);

/** The one JSON value a `--json` command prints. */
export const printJson = (io: Io, value: unknown): void => void io.stdout.write(`${JSON.stringify(value)}\n`);

/** One line on stderr (hints, warnings). */
export const note = (io: Io, line: string): void => void io.stderr.write(`${line}\n`);
