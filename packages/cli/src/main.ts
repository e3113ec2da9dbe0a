#!/usr/bin/env node
// `banatie` (npx @banatie/cli …): the API commands; see cli.ts.
import { runCli } from './cli.js';
import { nodeIo } from './io.js';

process.exitCode = await runCli(process.argv.slice(2), nodeIo());
