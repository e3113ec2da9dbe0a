export { Banatie } from './client.js';
export type { BanatieOptions, CallOptions, FetchLike } from './transport.js';
export { PageList } from './pagination.js';
export { BanatieError, isBanatieError, type BanatieErrorCode, type BanatieErrorInit } from './errors.js';
export { liveUrl, signLiveUrl, type LiveUrlParams, type SignOptions } from './live.js';
export { verifyWebhook, signWebhook, WEBHOOK_TOLERANCE_SECONDS, type VerifyWebhookOptions, type WebhookHeaders } from './webhooks.js';
export { parseServerSentEvents, type ServerSentEvent } from './sse.js';
export type { UploadSource } from './upload-body.js';
export type { CancelAfter, CreateOptions, CreateResult, WaitCallOptions, WaitOptions } from './resources/generations.js';
export type { UploadOptions } from './resources/images.js';
export type { Generations } from './resources/generations.js';
export type { Images } from './resources/images.js';
export type { Flows } from './resources/flows.js';
export type { Live, LiveScopes } from './resources/live.js';
export type { ProjectResource } from './resources/project.js';
export type { UsageResource } from './resources/usage.js';
export type { Models } from './resources/models.js';
export type { Batches } from './resources/batches.js';
export {
  ASPECT_RATIOS,
  PROMPT_TEMPLATES,
  IMAGE_SIZES,
  IMAGE_MODEL_IDS,
  GENERATION_STATUSES,
  TERMINAL_STATUSES,
  MAX_UPLOAD_BYTES,
  KEY_ROLES,
  DEFAULT_SECRET_GRACE_SECONDS,
  MAX_SECRET_GRACE_SECONDS,
  isTerminal,
  parseCancelAfter,
} from '@banatie/contracts';
export type {
  AspectRatio,
  PromptTemplate,
  GenerationStatus,
  ProjectSecretKind,
  KeyRole,
  SecretRotation,
  Generation,
  ImageModel,
  Batch,
  BatchWebhookEvent,
  GenerationError,
  GenerationUsage,
  UsageReport,
  UsageFigures,
  UsageQuery,
  ProjectLimitsUsage,
  ReferenceImage,
  Image,
  ResolvedImage,
  Flow,
  LiveScope,
  Project,
  ProjectSettings,
  WebhookAttempt,
  WebhookEvent,
  WebhookEventType,
  Deleted,
  Page,
  Pagination,
  ErrorBody,
  CreateGenerationInput,
  CreateBatchInput,
  UpdateGenerationInput,
  ListGenerationsQuery,
  ListImagesQuery,
  UpdateImageInput,
  PageQuery,
  SignLiveInput,
  CreateScopeInput,
  UpdateScopeInput,
  UpdateProjectInput,
  RotateSecretInput,
} from '@banatie/contracts';
