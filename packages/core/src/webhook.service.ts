import { batchRepository, generationRepository, projectRepository, webhookDeliveryRepository, type Db, type ProjectWithOrg, type WebhookDelivery } from '@banatie/db';
import { presentBatches } from './batch.service.js';
import type { Logger } from '@banatie/logger';
import { Webhook } from 'standardwebhooks';
import type { ProjectContext } from './auth.js';
import { NotFoundError, ValidationError } from './errors.js';
import { isUuid } from './alias.js';
import { presentGeneration } from './generation.service.js';
import { webhookSigningSecrets } from './project-secrets.js';
import type { Clock } from './ports.js';
import type { WebhookDeliveryJob } from './queue-port.js';
import { webhookMessageId } from './webhook-message.js';
import { sendWebhook, WEBHOOK_TIMEOUT_MS } from './webhook-sender.js';
import { WebhookHostUnresolvedError, WebhookUrlRefusedError, checkWebhookUrl, type HostLookup } from './webhook-url.js';

export interface WebhookDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  publicBaseUrl: string;
  allowPrivate: boolean;
  timeoutMs?: number;
  /** Tests resolve hostnames without a DNS server. */
  lookup?: HostLookup;
  /** Told about every recorded attempt (metrics); must be cheap and must not throw. */
  onAttempt?: (attempt: WebhookAttemptReport) => void;
}

/** One delivery attempt as metrics see it: `failed` is a non-2xx, a timeout or a network error. */
export interface WebhookAttemptReport {
  outcome: 'delivered' | 'failed' | 'refused' | 'unresolved';
  statusCode: number | null;
  durationMs: number | null;
}

/**
 * Standard Webhooks headers for one attempt. With several secrets (during a
 * rotation's grace period) `webhook-signature` carries one `v1,<sig>` per
 * secret, space-separated: a receiver verifies with whichever it has.
 */
export function signWebhook(secrets: string | readonly string[], webhookId: string, at: Date, body: string): Record<string, string> {
  const signatures = (typeof secrets === 'string' ? [secrets] : secrets).map((secret) => new Webhook(secret).sign(webhookId, at, body));
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}

/**
 * `delivered`: 2xx now or earlier (never sent twice); `skipped`: nothing to send
 * (no URL, generation gone or moved on); `retry`: failed (or the host did not
 * resolve), try later; `refused`: the URL can never be delivered to (SSRF guard,
 * malformed).
 */
export type WebhookOutcome = 'delivered' | 'skipped' | 'retry' | 'refused';

/** One delivery attempt of a generation event; every attempt that reaches the network is recorded. */
export async function deliverWebhook(deps: WebhookDeps, job: WebhookDeliveryJob, attempt: number): Promise<WebhookOutcome> {
  const webhookId = webhookMessageId(job);
  const log = deps.logger.child({ generationId: job.generationId, webhookId, attempt });
  if (await webhookDeliveryRepository.hasWebhookSucceeded(deps.db, webhookId)) return 'delivered';
  const message = job.event === 'batch.completed' ? await batchMessage(deps, job.generationId) : await generationMessage(deps, job);
  if (!message) return 'skipped';
  const { project, url, body } = message;
  const record = (r: { statusCode: number | null; error: string | null; durationMs: number | null }) =>
    webhookDeliveryRepository.recordWebhookAttempt(deps.db, {
      project_id: project.id,
      generation_id: message.generationId,
      batch_id: message.batchId,
      event: job.event,
      webhook_id: webhookId,
      url,
      attempt,
      status_code: r.statusCode,
      error: r.error,
      duration_ms: r.durationMs,
      succeeded: r.error === null,
      created_at: deps.clock.now(),
    });

  let target;
  try {
    target = await checkWebhookUrl(url, { allowPrivate: deps.allowPrivate, lookup: deps.lookup });
  } catch (err) {
    if (!(err instanceof WebhookUrlRefusedError || err instanceof WebhookHostUnresolvedError)) throw err;
    await record({ statusCode: null, error: err.message, durationMs: null });
    deps.onAttempt?.({ outcome: err instanceof WebhookUrlRefusedError ? 'refused' : 'unresolved', statusCode: null, durationMs: null });
    log.warn({ err: err.message }, 'webhook URL not deliverable');
    return err instanceof WebhookUrlRefusedError ? 'refused' : 'retry';
  }
  // Signed at send time with the secrets valid now, so a retry after a rotation carries the new secret's signature too.
  const now = deps.clock.now();
  const headers = signWebhook(webhookSigningSecrets(project, now), webhookId, now, body);
  const result = await sendWebhook(target, headers, body, deps.timeoutMs ?? WEBHOOK_TIMEOUT_MS);
  await record(result);
  deps.onAttempt?.({ outcome: result.error === null ? 'delivered' : 'failed', statusCode: result.statusCode, durationMs: result.durationMs });
  if (result.error === null) {
    log.info({ status: result.statusCode, ms: result.durationMs }, 'webhook delivered');
    return 'delivered';
  }
  log.warn({ status: result.statusCode, err: result.error }, 'webhook attempt failed');
  return 'retry';
}

interface OutgoingMessage {
  project: ProjectWithOrg;
  url: string;
  body: string;
  generationId: string | null;
  batchId: string | null;
}

/** A generation event's target and body; undefined when there is nothing to send (no URL, row gone, run moved on). */
async function generationMessage(deps: WebhookDeps, job: WebhookDeliveryJob): Promise<OutgoingMessage | undefined> {
  const row = await generationRepository.findGenerationById(deps.db, job.generationId);
  if (!row || row.run !== job.run) return undefined;
  const project = await projectRepository.findProjectById(deps.db, row.project_id);
  if (!project) return undefined;
  const url = row.webhook_url ?? project.settings.webhookUrl ?? null;
  if (!url) return undefined;
  const ctx = { keyId: '', projectId: project.id, organizationId: project.organizationId, orgSlug: project.orgSlug, projectSlug: project.slug };
  const data = await presentGeneration(deps, ctx, row);
  const body = JSON.stringify({ type: job.event, timestamp: (row.completed_at ?? row.updated_at).toISOString(), data });
  return { project, url, body, generationId: row.id, batchId: null };
}

/** `batch.completed`: to the batch's webhookUrl, else the project's. */
async function batchMessage(deps: WebhookDeps, batchId: string): Promise<OutgoingMessage | undefined> {
  const row = await batchRepository.findBatchById(deps.db, batchId);
  if (!row?.completed_at) return undefined;
  const project = await projectRepository.findProjectById(deps.db, row.project_id);
  if (!project) return undefined;
  const url = row.webhook_url ?? project.settings.webhookUrl ?? null;
  if (!url) return undefined;
  const [data] = await presentBatches(deps.db, [row]);
  const body = JSON.stringify({ type: 'batch.completed', timestamp: row.completed_at.toISOString(), data });
  return { project, url, body, generationId: null, batchId: row.id };
}

/**
 * Submit-time check of a webhook URL (the same guard runs again at every delivery).
 * A host that does not resolve now is accepted: DNS may be late, and delivery retries.
 */
export async function assertWebhookUrlAllowed(url: string, opts: { allowPrivate: boolean; lookup?: HostLookup }): Promise<void> {
  try {
    await checkWebhookUrl(url, opts);
  } catch (err) {
    if (err instanceof WebhookUrlRefusedError) throw new ValidationError(err.message, { field: 'webhookUrl' });
    if (err instanceof WebhookHostUnresolvedError) return;
    throw err;
  }
}

export interface WebhookAttemptDto {
  id: string;
  webhookId: string;
  event: string;
  url: string;
  attempt: number;
  statusCode: number | null;
  succeeded: boolean;
  error: string | null;
  durationMs: number | null;
  createdAt: string;
}

function toAttemptDto(row: WebhookDelivery): WebhookAttemptDto {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    event: row.event,
    url: row.url,
    attempt: row.attempt,
    statusCode: row.status_code,
    succeeded: row.succeeded,
    error: row.error,
    durationMs: row.duration_ms,
    createdAt: row.created_at.toISOString(),
  };
}

/** Every recorded attempt of a generation's webhooks, oldest first. */
export async function listWebhookAttempts(
  deps: { db: Db },
  ctx: ProjectContext,
  generationId: string,
  page: { limit: number; offset: number },
): Promise<{ items: WebhookAttemptDto[]; total: number }> {
  const row = isUuid(generationId)
    ? await generationRepository.findGeneration(deps.db, ctx.projectId, generationId, { includeDeleted: true })
    : undefined;
  if (!row) throw new NotFoundError('Generation not found');
  const { rows, total } = await webhookDeliveryRepository.listWebhookAttempts(deps.db, ctx.projectId, row.id, page);
  return { items: rows.map(toAttemptDto), total };
}
