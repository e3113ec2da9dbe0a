#!/usr/bin/env node
// The server's CLI (`npm run cli -- …`, `node apps/cli/dist/main.js …`): the
// API commands of @banatie/cli plus the operator commands, which work on the
// database and Redis with the server's configuration and ship with the server.
import { API_COMMANDS, nodeIo, runCli } from '@banatie/cli';
import { OPERATOR_COMMANDS } from './operator-commands.js';

process.exitCode = await runCli(process.argv.slice(2), nodeIo(), [...API_COMMANDS, ...OPERATOR_COMMANDS]);
