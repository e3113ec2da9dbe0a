import { ASPECT_RATIOS, IMAGE_SIZES, LIVE_SCOPE_SLUG, MAX_PROMPT_LENGTH, PROMPT_TEMPLATES, hasNul, livePublicParams, livePublicQuery, type PromptTemplate } from '@banatie/contracts';
import type { z } from 'zod';

/**
 * The public live URL's parameters and query checked by hand: zod costs more than
 * the rest of a HIT. These accept only what the contract's schemas accept and
 * return the same values; undefined means "not sure", and the caller falls back to
 * the schema, so every 400 keeps its message.
 */
export function quickLivePublicParams(params: Record<string, unknown>): z.output<typeof livePublicParams> | undefined {
  const { org, project, scope } = params;
  if (typeof org !== 'string' || org.length > 64 || typeof project !== 'string' || project.length > 64) return undefined;
  if (typeof scope !== 'string' || !LIVE_SCOPE_SLUG.test(scope)) return undefined;
  return { org, project, scope };
}

const PUBLIC_QUERY_KEYS = new Set(Object.keys(livePublicQuery.shape));
const BOOL_PARAM: Record<string, boolean> = { true: true, '1': true, false: false, '0': false };

export function quickLivePublicQuery(query: Record<string, unknown>): z.output<typeof livePublicQuery> | undefined {
  for (const key in query) if (!PUBLIC_QUERY_KEYS.has(key) || typeof query[key] !== 'string') return undefined;
  const q = query as Record<string, string | undefined>;
  const prompt = q.prompt?.trim();
  if (!prompt || prompt.length > MAX_PROMPT_LENGTH || hasNul(prompt)) return undefined;
  const out: z.output<typeof livePublicQuery> = { prompt };
  if (q.aspectRatio !== undefined) {
    if (!(ASPECT_RATIOS as readonly string[]).includes(q.aspectRatio)) return undefined;
    out.aspectRatio = q.aspectRatio as (typeof ASPECT_RATIOS)[number];
  }
  if (q.autoEnhance !== undefined) {
    if (!Object.hasOwn(BOOL_PARAM, q.autoEnhance)) return undefined;
    out.autoEnhance = BOOL_PARAM[q.autoEnhance];
  }
  if (q.template !== undefined) {
    if (!(PROMPT_TEMPLATES as readonly string[]).includes(q.template)) return undefined;
    out.template = q.template as PromptTemplate;
  }
  if (q.model !== undefined) {
    if (q.model.length === 0 || q.model.length > 100) return undefined;
    out.model = q.model;
  }
  if (q.imageSize !== undefined) {
    if (!(IMAGE_SIZES as readonly string[]).includes(q.imageSize)) return undefined;
    out.imageSize = q.imageSize as (typeof IMAGE_SIZES)[number];
  }
  if (q.exp !== undefined) {
    if (q.exp.length > 20) return undefined;
    out.exp = q.exp;
  }
  if (q.sig !== undefined) {
    if (q.sig.length > 200) return undefined;
    out.sig = q.sig;
  }
  return out;
}
