import { apiKeyRepository, projectRepository, type Db } from '@banatie/db';
import { DEFAULT_KEY_ROLE, SLUG_PATTERN, type KeyRole } from '@banatie/contracts';
import { API_KEY_PATTERN, generateApiKey, generateLiveSigningSecret, generateWebhookSecret, hashApiKey, type AuthContext } from './auth.js';
import type { ApiKeyCache } from './api-key-cache.js';
import { NotFoundError, ValidationError } from './errors.js';
import { parseKeyRole } from './key-roles.js';
import type { Clock } from './ports.js';

export interface CreatedKey {
  key: string;
  keyId: string;
  organizationId: string;
  projectId: string;
  orgSlug: string;
  projectSlug: string;
  role: KeyRole;
}

export interface ApiKeyView {
  id: string;
  type: 'master' | 'project';
  role: KeyRole;
  name: string | null;
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export function assertSlug(value: string, what: string): void {
  if (!SLUG_PATTERN.test(value)) throw new ValidationError(`Invalid ${what} slug: must match ${SLUG_PATTERN.source}`);
}

/** Creates the organization and project when missing (with their secrets). */
export async function ensureProject(db: Db, orgSlug: string, projectSlug: string): Promise<{ organizationId: string; projectId: string }> {
  assertSlug(orgSlug, 'organization');
  assertSlug(projectSlug, 'project');
  return db.transaction().execute(async (tx) => {
    const organizationId = await projectRepository.upsertOrganization(tx, orgSlug);
    const projectId = await projectRepository.upsertProject(tx, {
      organizationId,
      slug: projectSlug,
      webhookSecret: generateWebhookSecret(),
      liveSigningSecret: generateLiveSigningSecret(),
    });
    return { organizationId, projectId };
  });
}

function expiry(clock: Clock, expiresInDays: number | null | undefined): Date | null {
  if (expiresInDays === null || expiresInDays === undefined) return null;
  if (!Number.isFinite(expiresInDays) || expiresInDays <= 0) throw new ValidationError('expiresInDays must be a positive number');
  return new Date(clock.now().getTime() + expiresInDays * 86_400_000);
}

export async function createProjectKey(
  deps: { db: Db; clock: Clock },
  input: { orgSlug: string; projectSlug: string; name?: string | null; expiresInDays?: number | null; role?: string },
): Promise<CreatedKey> {
  const expiresAt = expiry(deps.clock, input.expiresInDays);
  const role = parseKeyRole(input.role ?? DEFAULT_KEY_ROLE);
  const { organizationId, projectId } = await ensureProject(deps.db, input.orgSlug, input.projectSlug);
  const { key, prefix, hash } = generateApiKey();
  const row = await apiKeyRepository.insertApiKey(deps.db, {
    projectId,
    type: 'project',
    role,
    name: input.name ?? null,
    prefix,
    keyHash: hash,
    expiresAt,
  });
  return { key, keyId: row.id, organizationId, projectId, orgSlug: input.orgSlug, projectSlug: input.projectSlug, role };
}

export async function createMasterKey(
  deps: { db: Db; clock: Clock },
  input: { name?: string | null; expiresInDays?: number | null } = {},
): Promise<{ key: string; keyId: string }> {
  const expiresAt = expiry(deps.clock, input.expiresInDays);
  const { key, prefix, hash } = generateApiKey();
  const row = await apiKeyRepository.insertApiKey(deps.db, {
    projectId: null,
    type: 'master',
    role: 'admin',
    name: input.name ?? 'master',
    prefix,
    keyHash: hash,
    expiresAt,
  });
  return { key, keyId: row.id };
}

/**
 * Every problem (malformed, unknown, expired, revoked) gives the same answer: null.
 * With `keyCache`, a verified key is not looked up again until its entry expires
 * or a revocation broadcast drops it.
 */
export async function authenticateKey(
  deps: { db: Db; clock: Clock; keyCache?: ApiKeyCache },
  rawKey: string | undefined,
): Promise<AuthContext | null> {
  if (!rawKey || !API_KEY_PATTERN.test(rawKey)) return null;
  const hash = hashApiKey(rawKey);
  const cached = deps.keyCache?.get(hash);
  if (cached) return cached.expiresAt && cached.expiresAt <= deps.clock.now() ? null : cached.auth;
  const epoch = deps.keyCache?.epoch ?? 0;
  const row = await apiKeyRepository.findApiKeyByHash(deps.db, hash);
  const now = deps.clock.now();
  if (!row || row.revoked_at || (row.expires_at && row.expires_at <= now)) return null;
  const auth: AuthContext = {
    keyId: row.id,
    type: row.type,
    role: row.role,
    projectId: row.project_id,
    organizationId: row.organization_id,
    orgSlug: row.org_slug,
    projectSlug: row.project_slug,
  };
  deps.keyCache?.set(hash, auth, row.expires_at, epoch);
  return auth;
}

export async function listProjectKeys(db: Db, orgSlug: string, projectSlug: string): Promise<ApiKeyView[]> {
  const project = await projectRepository.findProjectBySlugs(db, orgSlug, projectSlug);
  if (!project) throw new NotFoundError('Project not found');
  const rows = await apiKeyRepository.listApiKeys(db, project.id);
  return rows.map((r) => ({
    id: r.id,
    type: r.type,
    role: r.role,
    name: r.name,
    prefix: r.prefix,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  }));
}

/** `onApiKeyRevoked` tells every API instance to drop the key from its cache. */
export async function revokeKey(
  deps: { db: Db; clock: Clock; onApiKeyRevoked?: (keyId: string) => Promise<void> },
  keyId: string,
): Promise<void> {
  const ok = /^[0-9a-f-]{36}$/i.test(keyId) && (await apiKeyRepository.revokeApiKey(deps.db, keyId, deps.clock.now()));
  if (!ok) throw new NotFoundError('Key not found');
  await deps.onApiKeyRevoked?.(keyId);
}
