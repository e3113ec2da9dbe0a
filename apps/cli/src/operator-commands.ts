// The operator commands: they work on the database and Redis with the server's configuration.
import type { CommandEntry } from '@banatie/cli';

export const OPERATOR_COMMANDS: CommandEntry[] = [
  { name: 'migrate', section: 'operator', summary: 'Apply pending database migrations', load: async () => (await import('./commands/migrate.js')).migrate },
  { name: 'key', section: 'operator', summary: 'Create, list and revoke API keys', load: async () => (await import('./commands/key.js')).key },
  { name: 'project', section: 'operator', summary: "Show a project's ids, settings and secrets", load: async () => (await import('./commands/project.js')).project },
  { name: 'limits', section: 'operator', summary: "Show and set a project's limits", load: async () => (await import('./commands/limits.js')).limits },
  { name: 'usage', section: 'operator', summary: 'Generations, provider calls, tokens and cost, grouped', load: async () => (await import('./commands/usage.js')).usage },
];
