import { createHash } from 'node:crypto';
import {
  flowRepository,
  generationRepository,
  imageRepository,
  limitsRepository,
  projectRepository,
  type Db,
  type Executor,
  type GenerationRow,
  type GenerationStatus,
  type NewGeneration,
  type ProjectSettings,
  type ReferenceImage,
} from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { checkAssignedAliases, isUuid } from './alias.js';
import { MAX_REFERENCE_IMAGES, aliasesInPrompt, resolveReferenceImages } from './alias-resolver.js';
import { DEFAULT_MODEL_SETTINGS, allowedModels, checkReferenceCount, chooseModel, type ModelChoice, type ModelSettings } from './models.js';
import type { ProjectContext } from './auth.js';
import { IdempotencyMismatchError, NotFoundError, ServiceUnavailableError } from './errors.js';
import type { Clock, PromptTemplate } from './ports.js';
import type { JobQueue } from './queue-port.js';
import { assertAdmitted, QuotaExceededError } from './limits.service.js';
import { toGenerationDto, toImageDto, type GenerationDto } from './presenters.js';

export { MAX_REFERENCE_IMAGES };
export const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

export interface GenerationDeps {
  db: Db;
  queue: JobQueue;
  clock: Clock;
  publicBaseUrl: string;
  logger?: Logger;
  /** Called after a committed status change made here (cancel): events and webhooks. */
  onStatusChange?: (row: GenerationRow) => Promise<void>;
  /** SSRF guard for webhookUrl at submit (throws ValidationError); checked again at delivery. */
  checkWebhookUrl?: (url: string) => Promise<void>;
  /** The allowed image models and the default (config); default: every known model, gemini-2.5-flash-image. */
  models?: ModelSettings;
  /** GENERATION_DEADLINE_MS: how long after submit an unfinished run fails (default DEFAULT_GENERATION_DEADLINE_MS). */
  generationDeadlineMs?: number;
}

export const DEFAULT_GENERATION_DEADLINE_MS = 600_000;

/** When a run started at `now` must be finished: the configured deadline, or sooner when the client asked (`Cancel-After`). */
export function deadlineFor(deps: Pick<GenerationDeps, 'generationDeadlineMs'>, now: Date, requestedMs?: number): Date {
  const limit = deps.generationDeadlineMs ?? DEFAULT_GENERATION_DEADLINE_MS;
  return new Date(now.getTime() + Math.min(requestedMs ?? limit, limit));
}

/** Per-request options of a submit. */
export interface SubmitOptions {
  idempotencyKey?: string;
  liveScopeId?: string;
  generationId?: string;
  /** `Cancel-After`, in ms: a deadline sooner than the configured one. */
  deadlineMs?: number;
  /** Someone waits for it (live MISS, `Prefer: wait`): taken before the project's plain submits. */
  interactive?: boolean;
  /** An item of this batch (SPEC §13). */
  batchId?: string;
}

export interface SubmitGenerationInput {
  prompt: string;
  aspectRatio?: string;
  referenceImages?: string[];
  /** undefined: start a new flow; null: no flow. */
  flowId?: string | null;
  alias?: string;
  flowAlias?: string;
  autoEnhance?: boolean;
  enhancementOptions?: { template?: PromptTemplate };
  meta?: Record<string, unknown>;
  webhookUrl?: string;
  model?: string;
  imageSize?: string;
  groundWithSearch?: boolean;
}

export interface SubmitResult {
  generation: GenerationDto;
  created: boolean;
}

class DuplicateIdempotencyKey extends Error {}

export function requestHash(body: unknown): string {
  return createHash('sha256').update(stableStringify(body)).digest('hex');
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export const modelSettingsOf = (deps: Pick<GenerationDeps, 'models'>): ModelSettings => deps.models ?? DEFAULT_MODEL_SETTINGS;

export async function submitGeneration(
  deps: GenerationDeps,
  ctx: ProjectContext,
  input: SubmitGenerationInput,
  opts: SubmitOptions = {},
): Promise<SubmitResult> {
  checkAssignedAliases(input);
  if (input.webhookUrl !== undefined) await deps.checkWebhookUrl?.(input.webhookUrl);
  if (isPlainSubmit(input, opts)) return submitPlain(deps, ctx, input, opts);
  const { db } = deps;
  const project = await projectRepository.findProjectById(db, ctx.projectId);
  if (!project) throw new NotFoundError('Project not found');
  const prepared = await prepareGeneration(deps, ctx, project.settings, input);
  const { warnings } = prepared;
  const hash = opts.idempotencyKey ? requestHash(input) : null;
  const now = deps.clock.now();
  if (opts.idempotencyKey) {
    await generationRepository.expireIdempotencyKey(db, ctx.projectId, opts.idempotencyKey, new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS));
  }

  let row: GenerationRow;
  try {
    row = await db.transaction().execute(async (tx) => {
      // Serialises this project's admissions until the commit: racing submits at a limit cannot both pass.
      assertAdmitted(await limitsRepository.admitGeneration(tx, ctx.projectId, now), now);
      const values = await preparedValues(tx, ctx, project.settings, prepared, {
        ...opts,
        requestHash: hash,
        at: now,
        deadlineAt: deadlineFor(deps, now, opts.deadlineMs),
      });
      if (!opts.idempotencyKey) return generationRepository.insertGeneration(tx, values);
      const res = await generationRepository.insertGenerationIdempotent(tx, { ...values, idempotency_key: opts.idempotencyKey });
      if (!res.created) throw new DuplicateIdempotencyKey();
      return res.row;
    });
  } catch (err) {
    const replayable = err instanceof DuplicateIdempotencyKey || (err instanceof QuotaExceededError && opts.idempotencyKey);
    if (!replayable) throw err;
    const existing = await db
      .selectFrom('generations')
      .selectAll()
      .where('project_id', '=', ctx.projectId)
      .where('idempotency_key', '=', opts.idempotencyKey!)
      .executeTakeFirst();
    // A replay of a request admitted before the limit was reached answers as before; a new one is refused.
    if (!existing) throw err;
    if (existing.request_hash !== hash) throw new IdempotencyMismatchError();
    return { generation: await presentGeneration(deps, ctx, existing), created: false };
  }

  const queuePosition = await enqueueOrWithdraw(deps, row, input.flowId === undefined, opts.interactive);
  return { generation: { ...(await presentGeneration(withoutQueue(deps), ctx, row)), queuePosition, warnings }, created: true };
}

/** A submit checked and resolved, nothing written yet (a batch prepares all its items before creating any). */
export interface PreparedGeneration {
  input: SubmitGenerationInput;
  choice: ModelChoice;
  references: ReferenceImage[];
  warnings: string[];
}

/** The model options, the flow and the reference images of a submit, checked; reads only. */
export async function prepareGeneration(
  deps: GenerationDeps,
  ctx: ProjectContext,
  settings: ProjectSettings,
  input: SubmitGenerationInput,
): Promise<PreparedGeneration> {
  const choice = chooseModel(modelSettingsOf(deps), settings, input);
  checkReferenceCount(choice.model, new Set(input.referenceImages ?? []).size);
  if (input.flowId && !(await flowRepository.findFlow(deps.db, ctx.projectId, input.flowId))) {
    throw new NotFoundError('Flow not found');
  }
  // A new flow is empty, so its context adds nothing: aliases then resolve across the project.
  const { references, warnings } = await resolveReferenceImages(
    deps.db,
    ctx.projectId,
    { explicit: input.referenceImages ?? [], prompt: input.prompt },
    { flowId: input.flowId ?? null },
  );
  checkReferenceCount(choice.model, references.length);
  return { input, choice, references, warnings };
}

/** The row of a prepared generation; creates its new flow (flowId omitted) in `tx`. */
export async function preparedValues(
  tx: Executor,
  ctx: ProjectContext,
  settings: ProjectSettings,
  { input, choice, references }: PreparedGeneration,
  opts: SubmitOptions & { requestHash?: string | null; at: Date; providerBatch?: boolean; deadlineAt: Date | null },
): Promise<NewGeneration> {
  const flowId = input.flowId === undefined ? (await flowRepository.insertFlow(tx, ctx.projectId)).id : input.flowId;
  return {
    // Live URLs choose the id first: it is the single-flight lock's value.
    ...(opts.generationId && { id: opts.generationId }),
    project_id: ctx.projectId,
    flow_id: flowId,
    prompt: input.prompt,
    original_prompt: input.prompt,
    auto_enhance: input.autoEnhance ?? settings.autoEnhanceDefault ?? true,
    template: input.enhancementOptions?.template ?? 'general',
    aspect_ratio: input.aspectRatio ?? settings.defaultAspectRatio ?? '1:1',
    reference_images: JSON.stringify(references),
    requested_references: JSON.stringify(input.referenceImages ?? []),
    alias: input.alias ?? null,
    flow_alias: input.flowAlias ?? null,
    meta: JSON.stringify(input.meta ?? {}),
    webhook_url: input.webhookUrl ?? null,
    idempotency_key: opts.idempotencyKey ?? null,
    live_scope_id: opts.liveScopeId ?? null,
    model: choice.model,
    image_size: choice.imageSize,
    ground_with_search: choice.groundWithSearch,
    batch_id: opts.batchId ?? null,
    provider_batch: opts.providerBatch ?? false,
    request_hash: opts.requestHash ?? null,
    created_at: opts.at,
    updated_at: opts.at,
    deadline_at: opts.deadlineAt,
  };
}

/**
 * Nothing to look up first (references, @aliases in the prompt, flow, idempotency key, chosen id,
 * a size or grounding to check against a model the project picks): one statement.
 */
function isPlainSubmit(input: SubmitGenerationInput, opts: SubmitOptions): boolean {
  return (
    !opts.idempotencyKey &&
    !opts.generationId &&
    !opts.batchId &&
    (input.model !== undefined || (input.imageSize === undefined && !input.groundWithSearch)) &&
    !input.referenceImages?.length &&
    aliasesInPrompt(input.prompt).length === 0 &&
    (input.flowId === undefined || input.flowId === null)
  );
}

/** The common submit in one round trip to PostgreSQL and one to Redis; stores what the general path would. */
async function submitPlain(
  deps: GenerationDeps,
  ctx: ProjectContext,
  input: SubmitGenerationInput,
  opts: SubmitOptions,
): Promise<SubmitResult> {
  const at = deps.clock.now();
  const models = modelSettingsOf(deps);
  // An explicit model is checked here; the project's defaults are applied in the statement.
  if (input.model !== undefined) chooseModel(models, null, input);
  const { row, verdict } = await generationRepository.insertPlainGeneration(deps.db, {
    projectId: ctx.projectId,
    newFlow: input.flowId === undefined,
    prompt: input.prompt,
    autoEnhance: input.autoEnhance ?? null,
    template: input.enhancementOptions?.template ?? 'general',
    aspectRatio: input.aspectRatio ?? null,
    alias: input.alias ?? null,
    flowAlias: input.flowAlias ?? null,
    meta: JSON.stringify(input.meta ?? {}),
    webhookUrl: input.webhookUrl ?? null,
    liveScopeId: opts.liveScopeId ?? null,
    model: input.model ?? null,
    imageSize: input.imageSize ?? null,
    groundWithSearch: input.groundWithSearch ?? false,
    modelSizes: modelSizesOf(models),
    defaultModel: models.defaultModel,
    at,
    deadlineAt: deadlineFor(deps, at, opts.deadlineMs),
  });
  assertAdmitted(verdict, at);
  if (!row) throw new NotFoundError('Project not found');
  const queuePosition = await enqueueOrWithdraw(deps, row, input.flowId === undefined, opts.interactive);
  return { generation: { ...(await presentGeneration(withoutQueue(deps), ctx, row)), queuePosition, warnings: [] }, created: true };
}

/** Each allowed model's sizes, smallest first (the plain submit's defaults are chosen in SQL from these). */
function modelSizesOf(models: ModelSettings): Record<string, string[]> {
  return Object.fromEntries(allowedModels(models).map((m) => [m.id, [...m.imageSizes]]));
}

/** After the commit: a worker never sees a job whose row is missing. */
/** The enqueue already said where the new job stands: presenting it needs no second look at the queue. */
const withoutQueue = (deps: GenerationDeps) => ({ db: deps.db, publicBaseUrl: deps.publicBaseUrl });

/** Resolves with the job's queue position. */
async function enqueueOrWithdraw(deps: GenerationDeps, row: GenerationRow, flowCreated: boolean, interactive = false): Promise<number | null> {
  try {
    return await deps.queue.enqueueGeneration({ generationId: row.id, run: row.run, projectId: row.project_id, model: row.model ?? undefined, interactive });
  } catch (err) {
    deps.logger?.warn({ err, generationId: row.id }, 'enqueue failed; withdrawing the generation');
    await withdrawGeneration(deps.db, row, flowCreated).catch((e) =>
      deps.logger?.error({ err: e, generationId: row.id }, 'could not withdraw an unqueued generation'),
    );
    throw new ServiceUnavailableError('Queue unavailable, nothing was recorded; retry later');
  }
}

/** Undoes a submit whose job could not be queued, so the client's retry starts clean. */
async function withdrawGeneration(db: Db, row: GenerationRow, flowCreated: boolean): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('generations').where('id', '=', row.id).where('status', '=', 'pending').execute();
    if (flowCreated && row.flow_id) await tx.deleteFrom('flows').where('id', '=', row.flow_id).execute();
  });
}

export async function presentGeneration(
  deps: Pick<GenerationDeps, 'db' | 'publicBaseUrl'> & { queue?: Pick<JobQueue, 'queuePositions'> },
  ctx: ProjectContext,
  row: GenerationRow,
): Promise<GenerationDto> {
  const [dto] = await presentGenerations(deps, ctx, [row]);
  return dto!;
}

export async function presentGenerations(
  deps: Pick<GenerationDeps, 'db' | 'publicBaseUrl'> & { queue?: Pick<JobQueue, 'queuePositions'> },
  ctx: ProjectContext,
  rows: GenerationRow[],
): Promise<GenerationDto[]> {
  const ids = rows.map((r) => r.output_image_id).filter((id): id is string => id !== null);
  const images = new Map((await imageRepository.findImagesByIds(deps.db, ids)).map((i) => [i.id, i]));
  const flowAliases = await imageRepository.flowAliasesOfImages(deps.db, ctx.projectId, ids);
  const positions = await queuePositionsOf(deps, rows);
  const urlCtx = { publicBaseUrl: deps.publicBaseUrl, orgSlug: ctx.orgSlug, projectSlug: ctx.projectSlug };
  return rows.map((row) => {
    const image = row.output_image_id ? images.get(row.output_image_id) : undefined;
    const dto = toGenerationDto(urlCtx, row, image ? toImageDto(urlCtx, image, flowAliases.get(image.id)) : null);
    return { ...dto, queuePosition: positions.get(row.id) ?? null };
  });
}

/**
 * Only pending rows have a place in the queue: the others cost no Redis call. A
 * hint, not the row: when the queue cannot tell within QUEUE_POSITION_TIMEOUT_MS
 * (Redis slow or down), the positions are null and the generation is still served.
 */
async function queuePositionsOf(deps: { queue?: Pick<JobQueue, 'queuePositions'> }, rows: GenerationRow[]): Promise<Map<string, number | null>> {
  const pending = rows.filter((r) => r.status === 'pending').map((r) => ({ generationId: r.id, run: r.run }));
  if (!deps.queue || !pending.length) return new Map();
  let timer: NodeJS.Timeout | undefined;
  const unknown = new Promise<Map<string, number | null>>((resolve) => (timer = setTimeout(() => resolve(new Map()), QUEUE_POSITION_TIMEOUT_MS)));
  try {
    return await Promise.race([deps.queue.queuePositions(pending).catch(() => new Map<string, number | null>()), unknown]);
  } finally {
    clearTimeout(timer);
  }
}

const QUEUE_POSITION_TIMEOUT_MS = 250;

export async function getGeneration(
  deps: Pick<GenerationDeps, 'db' | 'publicBaseUrl'> & { queue?: Pick<JobQueue, 'queuePositions'> },
  ctx: ProjectContext,
  id: string,
): Promise<GenerationDto> {
  const found = isUuid(id) ? await generationRepository.findGenerationWithOutputImage(deps.db, ctx.projectId, id) : undefined;
  if (!found) throw new NotFoundError('Generation not found');
  const urlCtx = { publicBaseUrl: deps.publicBaseUrl, orgSlug: ctx.orgSlug, projectSlug: ctx.projectSlug };
  const image = found.outputImage ? toImageDto(urlCtx, found.outputImage, found.outputImageFlowAliases) : null;
  const positions = await queuePositionsOf(deps, [found.row]);
  return { ...toGenerationDto(urlCtx, found.row, image), queuePosition: positions.get(found.row.id) ?? null };
}

export async function listGenerations(
  deps: Pick<GenerationDeps, 'db' | 'publicBaseUrl'> & { queue?: Pick<JobQueue, 'queuePositions'> },
  ctx: ProjectContext,
  filter: { flowId?: string; status?: GenerationStatus; includeDeleted?: boolean; limit: number; offset: number },
): Promise<{ items: GenerationDto[]; total: number }> {
  const { rows, total } = await generationRepository.listGenerations(deps.db, ctx.projectId, filter);
  return { items: await presentGenerations(deps, ctx, rows), total };
}

export { TERMINAL_STATUSES, isTerminal } from '@banatie/contracts';
