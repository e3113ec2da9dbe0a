// For the server's CLI (apps/cli), which adds operator commands to this dispatcher.
export { API_COMMANDS, programHelp, runCli, type CommandEntry } from './cli.js';
export { API_GLOBALS, CliError, defineCommand, LOCAL_GLOBALS, UsageError, type CommandGroup, type CommandNode, type LeafCommand, type Options, type OptionDef } from './command.js';
export { nodeIo, note, print, printJson, type Io } from './io.js';
export { loadCliClientConfig, ClientConfigError, type CliClientConfig } from './config.js';
export { formatTable } from './format.js';
