#!/usr/bin/env node
// The server's CLI (`npm run cli -- …`, `node apps/cli/dist/main.js …`): the
// API commands of @banatie/cli plus the operator commands, which work on the
// database and Redis with the server's configuration and ship with the server.
import { API_COMMANDS, nodeIo, runCli, type CommandEntry } from '@banatie/cli';

const OPERATOR_COMMANDS: CommandEntry[] = [
  { name: 'migrate', section: 'operator', summary: 'Apply pending database migrations', load: async () => (await import('./commands/migrate.js')).migrate },
  { name: 'key', section: 'operator', summary: 'Create, list and revoke API keys', load: async () => (await import('./commands/key.js')).key },
  { name: 'project', section: 'operator', summary: "Show a project's ids, settings and secrets", load: async () => (await import('./commands/project.js')).project },
];

process.exitCode = await runCli(process.argv.slice(2), nodeIo(), [...API_COMMANDS, ...OPERATOR_COMMANDS]);
