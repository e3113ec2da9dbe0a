import { parseArgs } from 'node:util';
import { loadConfigOrExit, type Config } from '@banatie/config';
import { AppError, apiKeyService, projectService, systemClock } from '@banatie/core';
import { createDb, ensureDatabase, migrateToLatest, type Db } from '@banatie/db';
import { createRedis, publishApiKeyRevoked, waitForRedis } from '@banatie/queue';

const USAGE = `Usage: npm run cli -- <command>
  migrate
  key create <org>/<project> [--name N] [--expires-in-days D] [--json]
  key create --master [--name N] [--json]
  key list <org>/<project> [--json]
  key revoke <keyId>
  project show <org>/<project> [--json]`;

class UsageError extends Error {}

function splitTarget(target: string | undefined): [string, string] {
  const m = target ? /^([^/]+)\/([^/]+)$/.exec(target) : null;
  if (!m) throw new UsageError('expected <org>/<project>');
  return [m[1]!, m[2]!];
}

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function keyCreate(db: Db, positional: string[], v: Record<string, string | boolean | undefined>): Promise<void> {
  const name = typeof v.name === 'string' ? v.name : undefined;
  const expiresInDays = typeof v['expires-in-days'] === 'string' ? Number(v['expires-in-days']) : undefined;
  if (expiresInDays !== undefined && !(expiresInDays > 0)) throw new UsageError('--expires-in-days must be a positive number');
  if (v.master) {
    const created = await apiKeyService.createMasterKey({ db, clock: systemClock }, { name, expiresInDays });
    if (v.json) return print(JSON.stringify(created));
    print(`Master key (shown once): ${created.key}\nKey id: ${created.keyId}`);
    return;
  }
  const [orgSlug, projectSlug] = splitTarget(positional[0]);
  const created = await apiKeyService.createProjectKey({ db, clock: systemClock }, { orgSlug, projectSlug, name, expiresInDays });
  if (v.json) {
    const { key, keyId, organizationId, projectId } = created;
    return print(JSON.stringify({ key, keyId, organizationId, projectId, orgSlug, projectSlug }));
  }
  print(`API key for ${orgSlug}/${projectSlug} (shown once): ${created.key}\nKey id: ${created.keyId}`);
}

async function keyList(db: Db, positional: string[], json: boolean): Promise<void> {
  const [org, project] = splitTarget(positional[0]);
  const keys = await apiKeyService.listProjectKeys(db, org, project);
  if (json) return print(JSON.stringify(keys));
  const d = (x: Date | null) => (x ? x.toISOString() : '-');
  print(['id', 'prefix', 'name', 'created', 'expires', 'last used', 'revoked'].join('\t'));
  for (const k of keys) print([k.id, k.prefix, k.name ?? '-', d(k.createdAt), d(k.expiresAt), d(k.lastUsedAt), d(k.revokedAt)].join('\t'));
}

async function projectShow(db: Db, positional: string[], json: boolean): Promise<void> {
  const [org, project] = splitTarget(positional[0]);
  const p = await projectService.getProjectBySlugs(db, org, project);
  if (json) {
    return print(JSON.stringify({ projectId: p.id, organizationId: p.organizationId, orgSlug: p.orgSlug, projectSlug: p.slug, webhookSecret: p.webhookSecret, liveSigningSecret: p.liveSigningSecret, settings: p.settings }));
  }
  print(`Project ${p.orgSlug}/${p.slug}\n  id: ${p.id}\n  webhook secret: ${p.webhookSecret}\n  live signing secret: ${p.liveSigningSecret}\n  settings: ${JSON.stringify(p.settings)}`);
}

/** Running API instances drop the key from their caches at once; without Redis they do within the cache TTL. */
async function broadcastRevocation(config: Config, keyId: string): Promise<void> {
  const redis = createRedis(config.redisUrl, 'producer');
  redis.on('error', () => undefined);
  try {
    await waitForRedis(redis, 3000);
    await publishApiKeyRevoked(redis, config.queuePrefix, keyId);
  } catch (err) {
    process.stderr.write(`warning: could not tell running API instances (${err instanceof Error ? err.message : String(err)}); they stop accepting the key within 15 s\n`);
  } finally {
    redis.disconnect();
  }
}

async function run(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      'expires-in-days': { type: 'string' },
      json: { type: 'boolean', default: false },
      master: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, action, ...rest] = positionals;
  if (values.help || !group) return print(USAGE);
  const config = loadConfigOrExit();
  if (group === 'migrate') await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl, { max: 2 });
  try {
    if (group === 'migrate') {
      const applied = await migrateToLatest(db);
      print(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date');
    } else if (group === 'key' && action === 'create') await keyCreate(db, rest, values);
    else if (group === 'key' && action === 'list') await keyList(db, rest, values.json);
    else if (group === 'key' && action === 'revoke') {
      if (!rest[0]) throw new UsageError('expected <keyId>');
      await apiKeyService.revokeKey({ db, clock: systemClock, onApiKeyRevoked: (id) => broadcastRevocation(config, id) }, rest[0]);
      print(`Revoked ${rest[0]}`);
    } else if (group === 'project' && action === 'show') await projectShow(db, rest, values.json);
    else throw new UsageError(`unknown command: ${positionals.join(' ')}`);
  } finally {
    await db.destroy();
  }
}

run(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) process.stderr.write(`${err.message}\n\n${USAGE}\n`);
  else if (err instanceof AppError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
