// `key create|list|revoke`: API keys, straight in the database (SPEC §2 "CLI"; output tested by e2e/cli.test.ts).
import type { Config } from '@banatie/config';
import { KEY_ROLES, apiKeyService, systemClock } from '@banatie/core';
import { createRedis, publishApiKeyRevoked, waitForRedis } from '@banatie/queue';
import { defineCommand, LOCAL_GLOBALS, UsageError, type CommandGroup, note, print, printJson, type Io } from '@banatie/cli';
import { splitTarget, withDatabase } from './database.js';

const create = defineCommand({
  name: 'key create',
  summary: 'Create a project key (and the organization and project if missing), or a master key',
  synopsis: '(<org>/<project> [--role admin|standard] | --master)',
  args: { min: 0, max: 1 },
  options: {
    name: { type: 'string', value: 'N', description: 'a name to recognise the key by' },
    'expires-in-days': { type: 'string', value: 'D', description: 'the key stops working after D days' },
    role: {
      type: 'string',
      value: 'R',
      description: 'admin (everything, secrets included) or standard (default: no secrets, project settings or live scope changes)',
    },
    master: { type: 'boolean', description: 'a master key for the admin API instead of a project key' },
  },
  globals: LOCAL_GLOBALS,
  notes: 'The key is printed once; only its hash is stored.',
  async run({ args, values, io }) {
    const name = values.name;
    const expiresInDays = values['expires-in-days'] === undefined ? undefined : Number(values['expires-in-days']);
    if (expiresInDays !== undefined && !(expiresInDays > 0)) throw new UsageError('--expires-in-days must be a positive number');
    const role = values.role;
    if (role !== undefined && !(KEY_ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of: ${KEY_ROLES.join(', ')}`);
    if (values.master) {
      if (args.length) throw new UsageError('--master takes no <org>/<project>');
      if (role !== undefined) throw new UsageError('--role is for project keys (a master key opens the admin API only)');
      const created = await withDatabase(io, (db) => apiKeyService.createMasterKey({ db, clock: systemClock }, { name, expiresInDays }));
      if (values.json) return printJson(io, created);
      return print(io, `Master key (shown once): ${created.key}\nKey id: ${created.keyId}`);
    }
    const [orgSlug, projectSlug] = splitTarget(args[0]);
    const created = await withDatabase(io, (db) =>
      apiKeyService.createProjectKey({ db, clock: systemClock }, { orgSlug, projectSlug, name, expiresInDays, role }),
    );
    if (values.json) {
      const { key, keyId, organizationId, projectId } = created;
      return printJson(io, { key, keyId, organizationId, projectId, orgSlug, projectSlug });
    }
    print(io, `API key for ${orgSlug}/${projectSlug} (shown once): ${created.key}\nKey id: ${created.keyId}\nRole: ${created.role}`);
  },
});

const list = defineCommand({
  name: 'key list',
  aliases: ['ls'],
  summary: "List a project's keys: prefix, name, created, expires, last used, revoked, role",
  synopsis: '<org>/<project>',
  args: { min: 1, max: 1 },
  options: {},
  globals: LOCAL_GLOBALS,
  async run({ args, values, io }) {
    const [org, project] = splitTarget(args[0]);
    const keys = await withDatabase(io, (db) => apiKeyService.listProjectKeys(db, org, project));
    if (values.json) return printJson(io, keys);
    // Tab-separated, as SPEC §2 has always printed it (scripts cut it on tabs): new columns go at the end.
    const d = (x: Date | null) => (x ? x.toISOString() : '-');
    print(io, ['id', 'prefix', 'name', 'created', 'expires', 'last used', 'revoked', 'role'].join('\t'));
    for (const k of keys) print(io, [k.id, k.prefix, k.name ?? '-', d(k.createdAt), d(k.expiresAt), d(k.lastUsedAt), d(k.revokedAt), k.role].join('\t'));
  },
});

/** Running API instances drop the key from their caches at once; without Redis they do within the cache TTL. */
async function broadcastRevocation(io: Io, config: Config, keyId: string): Promise<void> {
  const redis = createRedis(config, 'producer');
  redis.on('error', () => undefined);
  try {
    await waitForRedis(redis, 3000);
    await publishApiKeyRevoked(redis, config.queuePrefix, keyId);
  } catch (err) {
    note(io, `warning: could not tell running API instances (${err instanceof Error ? err.message : String(err)}); they stop accepting the key within 15 s`);
  } finally {
    redis.disconnect();
  }
}

const revoke = defineCommand({
  name: 'key revoke',
  summary: 'Revoke a key; running API instances refuse it at once',
  synopsis: '<keyId>',
  args: { min: 1, max: 1 },
  options: {},
  globals: LOCAL_GLOBALS,
  async run({ args, values, io }) {
    const keyId = args[0]!;
    await withDatabase(io, (db, config) =>
      apiKeyService.revokeKey({ db, clock: systemClock, onApiKeyRevoked: (id) => broadcastRevocation(io, config, id) }, keyId),
    );
    if (values.json) return printJson(io, { keyId, revoked: true });
    print(io, `Revoked ${keyId}`);
  },
});

export const key: CommandGroup = { kind: 'group', name: 'key', summary: 'Create, list and revoke API keys', commands: [create, list, revoke] };
