import type { Executor } from '../database.js';
import type { ProjectSettings } from '../types.js';

export interface ProjectWithOrg {
  id: string;
  slug: string;
  organizationId: string;
  orgSlug: string;
  settings: ProjectSettings;
  webhookSecret: string;
  liveSigningSecret: string;
  /** The secret a rotation replaced and when it stops being accepted; null when none (the expiry may be past: compare with the clock). */
  previousWebhookSecret: string | null;
  previousWebhookSecretExpiresAt: Date | null;
  previousLiveSigningSecret: string | null;
  previousLiveSigningSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

function baseQuery(db: Executor) {
  return db
    .selectFrom('projects as p')
    .innerJoin('organizations as o', 'o.id', 'p.organization_id')
    .select([
      'p.id',
      'p.slug',
      'p.organization_id as organizationId',
      'o.slug as orgSlug',
      'p.settings',
      'p.webhook_secret as webhookSecret',
      'p.live_signing_secret as liveSigningSecret',
      'p.previous_webhook_secret as previousWebhookSecret',
      'p.previous_webhook_secret_expires_at as previousWebhookSecretExpiresAt',
      'p.previous_live_signing_secret as previousLiveSigningSecret',
      'p.previous_live_signing_secret_expires_at as previousLiveSigningSecretExpiresAt',
      'p.created_at as createdAt',
      'p.updated_at as updatedAt',
    ]);
}

export async function findProjectBySlugs(db: Executor, orgSlug: string, projectSlug: string): Promise<ProjectWithOrg | undefined> {
  return baseQuery(db).where('o.slug', '=', orgSlug).where('p.slug', '=', projectSlug).executeTakeFirst();
}

export async function findProjectById(db: Executor, id: string): Promise<ProjectWithOrg | undefined> {
  return baseQuery(db).where('p.id', '=', id).executeTakeFirst();
}

/** Returns the organization id, creating the row when missing (race-safe). */
export async function upsertOrganization(db: Executor, slug: string): Promise<string> {
  await db.insertInto('organizations').values({ slug }).onConflict((oc) => oc.column('slug').doNothing()).execute();
  const row = await db.selectFrom('organizations').select('id').where('slug', '=', slug).executeTakeFirstOrThrow();
  return row.id;
}

/** Creates the project when missing (race-safe); secrets are only used on creation. */
export async function upsertProject(
  db: Executor,
  values: { organizationId: string; slug: string; webhookSecret: string; liveSigningSecret: string },
): Promise<string> {
  await db
    .insertInto('projects')
    .values({
      organization_id: values.organizationId,
      slug: values.slug,
      settings: JSON.stringify({}),
      webhook_secret: values.webhookSecret,
      live_signing_secret: values.liveSigningSecret,
    })
    .onConflict((oc) => oc.columns(['organization_id', 'slug']).doNothing())
    .execute();
  const row = await db
    .selectFrom('projects')
    .select('id')
    .where('organization_id', '=', values.organizationId)
    .where('slug', '=', values.slug)
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function updateProjectSettings(db: Executor, id: string, settings: ProjectSettings): Promise<void> {
  await db
    .updateTable('projects')
    .set({ settings: JSON.stringify(settings), updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

/**
 * Replaces a secret, keeping the replaced one valid until `previousExpiresAt`
 * (null: not at all). One statement, so concurrent rotations serialise on the
 * row and each keeps the secret it actually replaced.
 */
export async function rotateProjectSecret(
  db: Executor,
  id: string,
  which: 'webhook' | 'live',
  secret: string,
  previousExpiresAt: Date | null,
): Promise<boolean> {
  const res =
    which === 'webhook'
      ? await db
          .updateTable('projects')
          .set((eb) => ({
            webhook_secret: secret,
            previous_webhook_secret: previousExpiresAt ? eb.ref('webhook_secret') : null,
            previous_webhook_secret_expires_at: previousExpiresAt,
            updated_at: new Date(),
          }))
          .where('id', '=', id)
          .executeTakeFirst()
      : await db
          .updateTable('projects')
          .set((eb) => ({
            live_signing_secret: secret,
            previous_live_signing_secret: previousExpiresAt ? eb.ref('live_signing_secret') : null,
            previous_live_signing_secret_expires_at: previousExpiresAt,
            updated_at: new Date(),
          }))
          .where('id', '=', id)
          .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
