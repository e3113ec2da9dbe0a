import { pageWithTotal } from './paging.js';
import { sql, type Insertable } from 'kysely';
import type { Executor } from '../database.js';
import type { WebhookDeliveriesTable, WebhookDelivery } from '../types.js';

/** Records one attempt. A second success for the same webhook-id is dropped (unique partial index). */
export async function recordWebhookAttempt(db: Executor, values: Insertable<WebhookDeliveriesTable>): Promise<void> {
  await db
    .insertInto('webhook_deliveries')
    .values(values)
    .onConflict((oc) => oc.column('webhook_id').where('succeeded', '=', true).doNothing())
    .execute();
}

export async function hasWebhookSucceeded(db: Executor, webhookId: string): Promise<boolean> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('webhook_id', '=', webhookId)
    .where('succeeded', '=', true)
    .executeTakeFirst();
  return row !== undefined;
}

/** Attempts of one generation, oldest first (the order they happened). */
export async function listWebhookAttempts(
  db: Executor,
  projectId: string,
  generationId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: WebhookDelivery[]; total: number }> {
  const base = db.selectFrom('webhook_deliveries').where('project_id', '=', projectId).where('generation_id', '=', generationId);
  return pageWithTotal(base.selectAll().orderBy('created_at', 'asc').orderBy('attempt', 'asc').limit(page.limit).offset(page.offset), page.offset, async () =>
    (await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
  );
}

/** Terminal generations settled in [from, to] with a webhook target and no attempt recorded since (a lost enqueue). */
export async function findUndeliveredTerminalGenerations(
  db: Executor,
  window: { from: Date; to: Date; limit: number },
): Promise<Array<{ id: string; run: number; status: string }>> {
  return db
    .selectFrom('generations as g')
    .innerJoin('projects as p', 'p.id', 'g.project_id')
    .select(['g.id', 'g.run', 'g.status'])
    .where('g.status', 'in', ['success', 'failed', 'cancelled'])
    .where('g.updated_at', '>=', window.from)
    .where('g.updated_at', '<=', window.to)
    .where(sql<boolean>`coalesce(g.webhook_url, p.settings->>'webhookUrl') is not null`)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb.selectFrom('webhook_deliveries as d').select('d.id').whereRef('d.generation_id', '=', 'g.id').whereRef('d.created_at', '>=', 'g.updated_at'),
        ),
      ),
    )
    .limit(window.limit)
    .execute();
}
