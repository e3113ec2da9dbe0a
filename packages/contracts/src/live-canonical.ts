/**
 * Live URL signatures (SPEC §7):
 * `sig = base64url(HMAC-SHA256(liveSigningSecret, canonical))`, where canonical is
 * the path (from `/cdn/`) + `?` + every query parameter except `sig`, sorted by
 * name (then value), each name and value URL-encoded with encodeURIComponent.
 * Shared by the server (verification) and the SDK (signing).
 */
export function liveCanonicalString(path: string, params: Iterable<[string, string]>): string {
  const start = path.indexOf('/cdn/');
  const canonicalPath = start >= 0 ? path.slice(start) : path;
  const sorted = [...params]
    .filter(([name]) => name !== 'sig')
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return `${canonicalPath}?${sorted.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
}

export interface LiveUrlParams {
  org: string;
  project: string;
  scope: string;
  prompt: string;
  aspectRatio?: string;
  autoEnhance?: boolean;
  template?: string;
  model?: string;
  imageSize?: string;
}

/**
 * The public live URL of a prompt (unsigned), with the parameters in the order
 * the server's own signing endpoint writes them.
 */
export function buildLiveUrl(baseUrl: string, p: LiveUrlParams): string {
  const path = `/cdn/${encodeURIComponent(p.org)}/${encodeURIComponent(p.project)}/live/${encodeURIComponent(p.scope)}`;
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}${path}`);
  url.searchParams.set('prompt', p.prompt);
  if (p.aspectRatio !== undefined) url.searchParams.set('aspectRatio', p.aspectRatio);
  if (p.autoEnhance !== undefined) url.searchParams.set('autoEnhance', String(p.autoEnhance));
  if (p.template !== undefined) url.searchParams.set('template', p.template);
  if (p.model !== undefined) url.searchParams.set('model', p.model);
  if (p.imageSize !== undefined) url.searchParams.set('imageSize', p.imageSize);
  return url.toString();
}
