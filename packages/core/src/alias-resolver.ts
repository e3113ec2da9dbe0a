import { flowRepository, imageRepository, type Db, type ImageRow, type ReferenceImage, type TechnicalAliasKind } from '@banatie/db';
import { MAX_REFERENCE_IMAGES } from '@banatie/contracts';
import { ALIAS_PATTERN, isUuid } from './alias.js';
import { NotFoundError } from './errors.js';

export type AliasScope = 'technical' | 'flow' | 'project';

export interface AliasResolution {
  image: ImageRow;
  alias: string;
  scope: AliasScope;
  /** The flow the alias was resolved in (null when resolved across the project). */
  flowId: string | null;
}

export interface ResolutionContext {
  /** The flow in context, if any: technical aliases are scoped to it and its aliases shadow project ones. */
  flowId: string | null;
  /** Never resolve a technical alias to this image (a generation's own output when it is regenerated). */
  excludeImageId?: string | null;
}

const TECHNICAL_ALIASES: Record<string, TechnicalAliasKind> = { '@last': 'last', '@first': 'first', '@upload': 'upload' };

export function technicalAliasKind(alias: string): TechnicalAliasKind | null {
  return TECHNICAL_ALIASES[alias.toLowerCase()] ?? null;
}

/** The three lookups resolution is made of; the database implements them, unit tests fake them. */
export interface AliasLookups {
  technical(kind: TechnicalAliasKind, ctx: ResolutionContext): Promise<ImageRow | undefined>;
  flowAlias(flowId: string, alias: string): Promise<ImageRow | undefined>;
  projectAlias(alias: string): Promise<ImageRow | undefined>;
}

/** Resolution order: technical → flow (when a flow is in context) → project. */
export async function resolveAliasWith(lookups: AliasLookups, alias: string, ctx: ResolutionContext): Promise<AliasResolution | null> {
  const kind = technicalAliasKind(alias);
  if (kind) {
    const image = await lookups.technical(kind, ctx);
    return image ? { image, alias, scope: 'technical', flowId: ctx.flowId } : null;
  }
  if (ctx.flowId) {
    const image = await lookups.flowAlias(ctx.flowId, alias);
    if (image) return { image, alias, scope: 'flow', flowId: ctx.flowId };
  }
  const image = await lookups.projectAlias(alias);
  return image ? { image, alias, scope: 'project', flowId: null } : null;
}

export function databaseAliasLookups(db: Db, projectId: string): AliasLookups {
  return {
    technical: (kind, ctx) => imageRepository.findTechnicalImage(db, projectId, kind, ctx),
    flowAlias: async (flowId, alias) => {
      const flow = await flowRepository.findFlow(db, projectId, flowId);
      const imageId = flow?.aliases[alias];
      return imageId ? imageRepository.findImage(db, projectId, imageId) : undefined;
    },
    projectAlias: (alias) => imageRepository.findImageByAlias(db, projectId, alias),
  };
}

export function resolveAlias(db: Db, projectId: string, alias: string, ctx: ResolutionContext): Promise<AliasResolution | null> {
  if (!ALIAS_PATTERN.test(alias)) return Promise.resolve(null);
  return resolveAliasWith(databaseAliasLookups(db, projectId), alias, ctx);
}

/** `@name` tokens written in a prompt (not parts of e-mail addresses), first occurrence order, no duplicates. */
export function aliasesInPrompt(prompt: string): string[] {
  const found = prompt.match(/(?<![A-Za-z0-9_@.-])@[A-Za-z0-9][A-Za-z0-9_-]{0,49}(?![A-Za-z0-9_-])/g) ?? [];
  return [...new Set(found)];
}

export { MAX_REFERENCE_IMAGES };

/** Distinct `@alias` tokens of one prompt that are looked up (SPEC §11); the rest stay plain text. */
export const MAX_PROMPT_ALIAS_LOOKUPS = 10;

/**
 * Reference images of a generation: explicit ids/aliases first (unknown → 404
 * `Image not found`), then aliases written in the prompt (unknown → a warning,
 * left as text; only the first MAX_PROMPT_ALIAS_LOOKUPS distinct ones are looked
 * up, the others stay text with a warning); duplicates removed. The model's limit is checked by the caller (models.ts).
 */
export async function resolveReferenceImages(
  db: Db,
  projectId: string,
  input: { explicit: string[]; prompt: string },
  ctx: ResolutionContext,
): Promise<{ references: ReferenceImage[]; warnings: string[] }> {
  const references: ReferenceImage[] = [];
  const warnings: string[] = [];
  const add = (imageId: string, alias: string | null) => {
    if (!references.some((r) => r.imageId === imageId)) references.push({ imageId, alias });
  };
  for (const ref of new Set(input.explicit)) {
    if (isUuid(ref)) {
      const image = await imageRepository.findImage(db, projectId, ref.toLowerCase());
      if (!image) throw new NotFoundError('Image not found');
      add(image.id, null);
      continue;
    }
    const resolved = await resolveAlias(db, projectId, ref, ctx);
    if (!resolved) throw new NotFoundError('Image not found');
    add(resolved.image.id, ref);
  }
  const inPrompt = aliasesInPrompt(input.prompt).filter((alias) => !input.explicit.includes(alias));
  for (const alias of inPrompt.slice(0, MAX_PROMPT_ALIAS_LOOKUPS)) {
    const resolved = await resolveAlias(db, projectId, alias, ctx);
    if (resolved) add(resolved.image.id, alias);
    else warnings.push(`Alias ${alias} in the prompt did not resolve to an image and was left as text`);
  }
  const skipped = inPrompt.slice(MAX_PROMPT_ALIAS_LOOKUPS);
  if (skipped.length) {
    warnings.push(`Only the first ${MAX_PROMPT_ALIAS_LOOKUPS} aliases of a prompt are looked up; left as text: ${skipped.join(', ')}`);
  }
  return { references, warnings };
}
