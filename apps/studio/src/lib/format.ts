import type { Project } from './types.js';

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString();
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms == null) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const shortId = (id: string): string => id.slice(0, 8);

/** A CDN URL on this origin (the API serves /cdn itself), for images known only by id. */
export function cdnImageUrl(project: Pick<Project, 'orgSlug' | 'slug'>, idOrAlias: string): string {
  return `${location.origin}/cdn/${encodeURIComponent(project.orgSlug)}/${encodeURIComponent(project.slug)}/img/${encodeURIComponent(idOrAlias)}`;
}

/** A cover-cropped variant (`w=&h=&fit=cover`) of a CDN image URL (plain or a `versionedUrl`). */
export function variantUrl(url: string, w: number, h: number): string {
  return `${url}${url.includes('?') ? '&' : '?'}w=${w}&h=${h}&fit=cover`;
}

/**
 * A pending generation's place in line, counted from 1 (the API's `queuePosition`
 * counts the jobs ahead); null when it is not waiting in the queue or unknown.
 */
export const queuePlace = (g: { status: string; queuePosition: number | null }): number | null =>
  g.status === 'pending' && g.queuePosition !== null ? g.queuePosition + 1 : null;
