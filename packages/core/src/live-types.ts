import type { ProjectSettings } from '@banatie/db';
import type { LiveParams } from './live-cache.js';
import type { PromptTemplate } from './ports.js';

/** The query of a live URL after validation; omitted values take the project's defaults. */
export interface LiveQuery {
  prompt: string;
  aspectRatio?: string;
  autoEnhance?: boolean;
  template?: PromptTemplate;
  model?: string;
  imageSize?: string;
}

export interface LiveRequest {
  orgSlug: string;
  projectSlug: string;
  scope: string;
  query: LiveQuery;
  /** Request path, for the signature. */
  path: string;
  /** The query string as sent (without `?`); parsed only when a signature must be checked. */
  rawQuery: string;
  origin?: string;
  referer?: string;
  ip: string;
  /** HEAD never starts a generation. */
  headOnly?: boolean;
}

export interface LiveImage {
  cache: 'HIT' | 'MISS';
  imageId: string;
  generationId: string | null;
  hitCount: number | null;
  etag: string;
  mimeType: string;
  body: Buffer;
}

/** What live delivery needs of a project: ids, settings and the signing secrets. */
export interface LiveProject {
  id: string;
  organizationId: string;
  orgSlug: string;
  slug: string;
  settings: ProjectSettings;
  liveSigningSecret: string;
  /** The secret the last rotation replaced, valid until its expiry (SPEC §16). */
  previousLiveSigningSecret: string | null;
  previousLiveSigningSecretExpiresAt: Date | null;
}

/** One cache key of one project that a MISS wants filled, before `deadline` (epoch ms). */
export interface MissTarget {
  project: LiveProject;
  key: string;
  params: LiveParams;
  deadline: number;
}
