import { createHash } from 'node:crypto';
/** The one object-key scheme: keys are made by the server from ids, never from client input. */

/**
 * Storage key of an image's bytes, derived from ids so a retry of the same run
 * overwrites; each regeneration run of a generated image gets its own object.
 */
export const imageStorageKey = (projectId: string, imageId: string, run = 0): string =>
  run > 0 ? `${projectId}/${imageId}.r${run}` : `${projectId}/${imageId}`;

/** Variants (resized/converted renditions) live under this prefix and are removed with the image. */
export const imageVariantPrefix = (projectId: string, imageId: string): string => `${projectId}/variants/${imageId}/`;

/** Strong ETag of stored bytes: changes whenever the content does. */
export const contentEtag = (data: Buffer): string => `"${createHash('sha256').update(data).digest('hex').slice(0, 32)}"`;
