import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, T | string, T | string>;

export type GenerationStatus = 'pending' | 'processing' | 'success' | 'failed' | 'cancelled';

export interface ReferenceImage {
  imageId: string;
  alias: string | null;
}

export interface ProjectSettings {
  stylePrompt?: string | null;
  defaultAspectRatio?: string | null;
  webhookUrl?: string | null;
  autoEnhanceDefault?: boolean | null;
  defaultModel?: string | null;
  defaultImageSize?: string | null;
  /** The project live policy (SPEC §11) as set: only the fields the owner gave; the rest take the defaults. */
  live?: StoredLivePolicy | null;
}

export interface StoredLivePolicy {
  enabled?: boolean;
  autoCreateScopes?: boolean;
  scopeDefaults?: { allowNewGenerations?: boolean; newGenerationsLimit?: number; allowedOrigins?: string[]; requireSignature?: boolean };
  maxScopes?: number;
  newGenerationsPerDay?: number | null;
}

export type KeyRole = 'admin' | 'standard';

export interface OrganizationsTable {
  id: Generated<string>;
  slug: string;
  created_at: Timestamp;
}

export interface ProjectsTable {
  id: Generated<string>;
  organization_id: string;
  slug: string;
  settings: Json<ProjectSettings>;
  webhook_secret: string;
  live_signing_secret: string;
  previous_webhook_secret: ColumnType<string | null, string | null | undefined, string | null>;
  previous_webhook_secret_expires_at: NullableTimestamp;
  previous_live_signing_secret: ColumnType<string | null, string | null | undefined, string | null>;
  previous_live_signing_secret_expires_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApiKeysTable {
  id: Generated<string>;
  project_id: string | null;
  type: 'master' | 'project';
  /** What a project key may do on /api/v1 (SPEC §16); master keys are always `admin`. */
  role: ColumnType<KeyRole, KeyRole | undefined, KeyRole>;
  name: string | null;
  prefix: string;
  key_hash: string;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface FlowsTable {
  id: Generated<string>;
  project_id: string;
  aliases: Json<Record<string, string>>;
  meta: Json<Record<string, unknown>>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GenerationsTable {
  id: Generated<string>;
  project_id: string;
  flow_id: string | null;
  status: ColumnType<GenerationStatus, GenerationStatus | undefined, GenerationStatus>;
  prompt: string;
  original_prompt: string;
  auto_enhance: boolean;
  template: string;
  aspect_ratio: string;
  reference_images: Json<ReferenceImage[]>;
  requested_references: Json<string[]>;
  alias: string | null;
  flow_alias: string | null;
  output_image_id: string | null;
  error_code: string | null;
  error_message: string | null;
  attempts: Generated<number>;
  run: Generated<number>;
  processing_time_ms: number | null;
  meta: Json<Record<string, unknown>>;
  webhook_url: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: Timestamp;
  started_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  live_scope_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** null on rows made before models were chosen per generation (the provider's default model, 1K). */
  model: ColumnType<string | null, string | null | undefined, string | null>;
  image_size: ColumnType<string | null, string | null | undefined, string | null>;
  ground_with_search: ColumnType<boolean, boolean | undefined, boolean>;
  batch_id: ColumnType<string | null, string | null | undefined, string | null>;
  gemini_batch_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Past it an unfinished run fails (DEADLINE_EXCEEDED, or RATE_LIMITED while waiting for quota); null: none. */
  deadline_at: NullableTimestamp;
  waiting_for_quota: Generated<boolean>;
  usage_provider_calls: Generated<number>;
  usage_input_tokens: Generated<number>;
  usage_output_tokens: Generated<number>;
  usage_thought_tokens: Generated<number>;
  /** numeric: a string from pg, a number when the row was read as jsonb. */
  usage_cost_usd: ColumnType<string | number, never, never>;
  provider_batch: ColumnType<boolean, boolean | undefined, boolean>;
}

export type BatchTier = 'standard' | 'batch';

export interface BatchesTable {
  id: Generated<string>;
  project_id: string;
  tier: BatchTier;
  total: number;
  webhook_url: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  cancelled_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type GeminiBatchState = 'submitting' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

export interface GeminiBatchesTable {
  id: Generated<string>;
  model: string;
  name: string | null;
  state: ColumnType<GeminiBatchState, GeminiBatchState | undefined, GeminiBatchState>;
  item_count: number;
  lease_until: ColumnType<Date, Date | string | undefined, Date | string>;
  submit_attempts: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  submitted_at: NullableTimestamp;
  completed_at: NullableTimestamp;
}

export type UsageSource = 'api' | 'live' | 'batch';

export interface UsageRecordsTable {
  id: Generated<number>;
  project_id: string;
  generation_id: string | null;
  source: UsageSource;
  operation: string;
  model: string;
  image_size: string | null;
  tier: 'standard' | 'batch';
  input_tokens: number;
  output_tokens: number;
  thought_tokens: number;
  cost_usd: ColumnType<string, string | number, string | number>;
  created_at: Timestamp;
}

export interface ProjectLimitsTable {
  project_id: string;
  generations_per_day: number | null;
  /** numeric: a string from pg. */
  monthly_cost_usd: ColumnType<string | null, string | number | null, string | number | null>;
  max_concurrency: number | null;
  updated_at: Timestamp;
}

export interface ProjectUsageDaysTable {
  project_id: string;
  day: ColumnType<Date, string, string>;
  cost_usd: ColumnType<string, string | number | undefined, string | number>;
  /** Admitted generations of the day while the project has limits; null: not counted. */
  generations: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface ImagesTable {
  id: Generated<string>;
  project_id: string;
  flow_id: string | null;
  generation_id: string | null;
  source: 'generated' | 'uploaded';
  storage_key: string;
  mime_type: string;
  file_size: number;
  width: number;
  height: number;
  alias: string | null;
  focal_point: Json<{ x: number; y: number } | null>;
  meta: Json<Record<string, unknown>>;
  version: Generated<number>;
  etag: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** One stored CDN rendition of an image (SPEC §11: counted against CDN_VARIANTS_PER_IMAGE). */
export interface ImageVariantsTable {
  image_id: string;
  variant_id: string;
  created_at: Timestamp;
}

export interface LiveScopesTable {
  id: Generated<string>;
  project_id: string;
  slug: string;
  allow_new_generations: Generated<boolean>;
  new_generations_limit: Generated<number>;
  allowed_origins: Json<string[]>;
  require_signature: Generated<boolean>;
  meta: Json<Record<string, unknown>>;
  current_generations: Generated<number>;
  last_generated_at: NullableTimestamp;
  hit_count: Generated<number>;
  miss_count: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface LiveEntriesTable {
  id: Generated<string>;
  project_id: string;
  scope_id: string;
  cache_key: string;
  params: Json<Record<string, unknown>>;
  generation_id: string | null;
  image_id: string | null;
  hit_count: Generated<number>;
  created_at: Timestamp;
  last_hit_at: NullableTimestamp;
}

/** Public live MISS generations of a project on one UTC day (SPEC §11). */
export interface LiveDailyUsageTable {
  project_id: string;
  /** `YYYY-MM-DD`, UTC. */
  day: ColumnType<string, string, never>;
  generations: number;
}

export interface WebhookDeliveriesTable {
  id: Generated<string>;
  project_id: string;
  generation_id: string | null;
  batch_id: ColumnType<string | null, string | null | undefined, string | null>;
  event: string;
  webhook_id: string;
  url: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  succeeded: Generated<boolean>;
  created_at: Timestamp;
}

export interface Database {
  organizations: OrganizationsTable;
  projects: ProjectsTable;
  api_keys: ApiKeysTable;
  flows: FlowsTable;
  generations: GenerationsTable;
  images: ImagesTable;
  image_variants: ImageVariantsTable;
  live_scopes: LiveScopesTable;
  live_entries: LiveEntriesTable;
  live_daily_usage: LiveDailyUsageTable;
  webhook_deliveries: WebhookDeliveriesTable;
  batches: BatchesTable;
  gemini_batches: GeminiBatchesTable;
  usage_records: UsageRecordsTable;
  project_usage_days: ProjectUsageDaysTable;
  project_limits: ProjectLimitsTable;
}

export type Organization = Selectable<OrganizationsTable>;
export type Project = Selectable<ProjectsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type Flow = Selectable<FlowsTable>;
export type GenerationRow = Selectable<GenerationsTable>;
export type NewGeneration = Insertable<GenerationsTable>;
export type GenerationUpdate = Updateable<GenerationsTable>;
export type ImageRow = Selectable<ImagesTable>;
export type NewImage = Insertable<ImagesTable>;
export type LiveScope = Selectable<LiveScopesTable>;
export type LiveEntry = Selectable<LiveEntriesTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;
export type BatchRow = Selectable<BatchesTable>;
export type GeminiBatchRow = Selectable<GeminiBatchesTable>;
