#!/usr/bin/env node
// `banatie` (npx banatie …, npm run cli -- …): see cli.ts.
import { runCli } from './cli.js';
import { nodeIo } from './io.js';

process.exitCode = await runCli(process.argv.slice(2), nodeIo());
