/** Values the server enforces and clients need (pure data: safe in any runtime). */

export const ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];

export const PROMPT_TEMPLATES = ['general', 'photorealistic', 'illustration', 'minimalist', 'sticker', 'product', 'comic'] as const;
export type PromptTemplate = (typeof PROMPT_TEMPLATES)[number];

export const GENERATION_STATUSES = ['pending', 'processing', 'success', 'failed', 'cancelled'] as const;
export type GenerationStatus = (typeof GENERATION_STATUSES)[number];
export const TERMINAL_STATUSES: readonly GenerationStatus[] = ['success', 'failed', 'cancelled'];
export const isTerminal = (status: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(status);

export const IMAGE_SOURCES = ['generated', 'uploaded'] as const;
export type ImageSource = (typeof IMAGE_SOURCES)[number];

export const MAX_PROMPT_LENGTH = 4000;
export const MAX_META_BYTES = 16 * 1024;
export const MAX_REFERENCE_IMAGES = 3;
/** Largest accepted upload (bytes). */
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
/** Bounded work per request (SPEC §11): the largest list `offset`, and the most entries of one `PUT /flows/:id/aliases`. */
export const MAX_LIST_OFFSET = 10_000;
export const MAX_FLOW_ALIASES_PER_REQUEST = 50;
/** `Prefer: wait=N` is capped at this many seconds by the server. */
export const MAX_WAIT_SECONDS = 60;

/** `@name`: letters, digits, `_` and `-`, up to 50 characters after the `@`. */
export const ALIAS_PATTERN = /^@[A-Za-z0-9][A-Za-z0-9_-]{0,49}$/;
export const RESERVED_ALIASES = ['@last', '@first', '@upload'] as const;

export const LIVE_SCOPE_SLUG = /^[A-Za-z0-9_-]{1,64}$/;
/** Organisation and project slugs (admin API). */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const VARIANT_FITS = ['cover', 'contain', 'inside'] as const;
export const VARIANT_FORMATS = ['webp', 'jpeg', 'png', 'avif'] as const;
export const MAX_VARIANT_SIDE = 4096;

export const PROJECT_SECRETS = ['webhook', 'live'] as const;
export type ProjectSecretKind = (typeof PROJECT_SECRETS)[number];

/** What a project key may do on /api/v1 (SPEC §16): `standard` keys cannot read or rotate the secrets, change project settings or manage live scopes. */
export const KEY_ROLES = ['admin', 'standard'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];
export const DEFAULT_KEY_ROLE: KeyRole = 'standard';

/** How long a rotated-out secret stays valid (`graceSeconds` of a rotation): default one day, at most 30 days. */
export const DEFAULT_SECRET_GRACE_SECONDS = 86_400;
export const MAX_SECRET_GRACE_SECONDS = 30 * 86_400;

/** Settings given to live scopes that a public MISS creates (SPEC §11 `live.scopeDefaults`). */
export interface LiveScopeDefaults {
  allowNewGenerations: boolean;
  newGenerationsLimit: number;
  allowedOrigins: string[];
  requireSignature: boolean;
}

/** The project live policy (SPEC §11), `settings.live` of a project. */
export interface LivePolicy {
  /** false: every public live MISS is refused (HITs are still served). */
  enabled: boolean;
  /** false: a MISS on a scope that does not exist is 404; nothing is created. */
  autoCreateScopes: boolean;
  scopeDefaults: LiveScopeDefaults;
  /** Auto-creation stops at this many scopes. */
  maxScopes: number;
  /** Project-wide public live MISS generations per UTC day; null: no cap. */
  newGenerationsPerDay: number | null;
}

export const DEFAULT_LIVE_POLICY: LivePolicy = Object.freeze({
  enabled: true,
  autoCreateScopes: true,
  scopeDefaults: Object.freeze({ allowNewGenerations: true, newGenerationsLimit: 30, allowedOrigins: [], requireSignature: false }),
  maxScopes: 100,
  newGenerationsPerDay: 100,
}) as LivePolicy;
