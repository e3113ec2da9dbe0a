import { IMAGE_MODELS, IMAGE_SIZES, isImageModelId, type ImageModelCapabilities, type ImageModelId, type ImageSize } from '@banatie/contracts';
import type { ProjectSettings } from '@banatie/db';
import { BUILT_IN_PRICES, modelPricing } from './pricing.js';
import { ValidationError } from './errors.js';

/** The operator's choice of models (`GEMINI_IMAGE_MODELS`, `GEMINI_IMAGE_MODEL`). */
export interface ModelSettings {
  allowed: readonly string[];
  defaultModel: string;
}

export const DEFAULT_MODEL_SETTINGS: ModelSettings = { allowed: Object.keys(IMAGE_MODELS), defaultModel: 'gemini-2.5-flash-image' };

/** What a request may say about the model; every field optional. */
export interface ModelOptions {
  model?: string;
  imageSize?: string;
  groundWithSearch?: boolean;
  aspectRatio?: string;
}

export interface ModelChoice {
  model: ImageModelId;
  imageSize: ImageSize;
  groundWithSearch: boolean;
}

export interface ModelDto {
  id: string;
  displayName: string;
  default: boolean;
  imageSizes: string[];
  aspectRatios: string[];
  maxReferenceImages: number;
  searchGrounding: boolean;
  batch: boolean;
  /** Filled from the pricing table (issue 12) when it is wired; null until then. */
  pricing: unknown;
}

/** The allowed models' capabilities, allow-list order. */
export function allowedModels(settings: ModelSettings): ImageModelCapabilities[] {
  return settings.allowed.filter(isImageModelId).map((id) => IMAGE_MODELS[id]);
}

/** GET /api/v1/models. `pricingOf` gives each model's prices (null while no pricing table is wired). */
export function listModels(settings: ModelSettings, pricingOf: (model: string) => unknown = (model) => modelPricing(BUILT_IN_PRICES, model)): ModelDto[] {
  return allowedModels(settings).map((m) => ({
    id: m.id,
    displayName: m.displayName,
    default: m.id === settings.defaultModel,
    imageSizes: [...m.imageSizes],
    aspectRatios: [...m.aspectRatios],
    maxReferenceImages: m.maxReferenceImages,
    searchGrounding: m.searchGrounding,
    batch: m.batch,
    pricing: pricingOf(m.id),
  }));
}

/** An allowed model by id, else a 400 naming the allowed ones. */
export function requireAllowedModel(settings: ModelSettings, model: string): ImageModelCapabilities {
  if (!settings.allowed.includes(model) || !isImageModelId(model)) {
    throw new ValidationError(`Unknown model "${model}"; allowed models: ${settings.allowed.join(', ')}`, { field: 'model', allowed: settings.allowed });
  }
  return IMAGE_MODELS[model];
}

/** The project's default model when still allowed, else the operator's default. */
export function defaultModelFor(settings: ModelSettings, project: ProjectSettings | null): ImageModelId {
  const preferred = project?.defaultModel;
  const id = preferred && settings.allowed.includes(preferred) ? preferred : settings.defaultModel;
  return requireAllowedModel(settings, id).id;
}

/** The project's default size when the model has it, else the model's smallest. */
export function defaultImageSizeFor(model: ImageModelCapabilities, project: ProjectSettings | null): ImageSize {
  const preferred = project?.defaultImageSize;
  return model.imageSizes.find((s) => s === preferred) ?? model.imageSizes[0]!;
}

/**
 * Resolves and checks a request's model options against the model's
 * capabilities: each unsupported option is a 400 naming the option and the model.
 */
export function chooseModel(settings: ModelSettings, project: ProjectSettings | null, options: ModelOptions): ModelChoice {
  const model = options.model !== undefined ? requireAllowedModel(settings, options.model) : IMAGE_MODELS[defaultModelFor(settings, project)];
  let imageSize: ImageSize;
  if (options.imageSize === undefined) {
    imageSize = defaultImageSizeFor(model, project);
  } else {
    if (!model.imageSizes.includes(options.imageSize as ImageSize)) {
      const valid = (IMAGE_SIZES as readonly string[]).includes(options.imageSize);
      throw new ValidationError(
        valid
          ? `imageSize ${options.imageSize} is not supported by model ${model.id} (supported: ${model.imageSizes.join(', ')})`
          : `Invalid image size; model ${model.id} supports ${model.imageSizes.join(', ')}`,
        { field: 'imageSize', model: model.id, supported: model.imageSizes },
      );
    }
    imageSize = options.imageSize as ImageSize;
  }
  if (options.groundWithSearch && !model.searchGrounding) {
    throw new ValidationError(`groundWithSearch is not supported by model ${model.id}`, { field: 'groundWithSearch', model: model.id });
  }
  if (options.aspectRatio !== undefined && !model.aspectRatios.includes(options.aspectRatio)) {
    throw new ValidationError(`aspectRatio ${options.aspectRatio} is not supported by model ${model.id}`, { field: 'aspectRatio', model: model.id });
  }
  return { model: model.id, imageSize, groundWithSearch: options.groundWithSearch ?? false };
}

/** At most the model's limit of references (explicit and from the prompt together). */
export function checkReferenceCount(model: string, count: number): void {
  const limit = isImageModelId(model) ? IMAGE_MODELS[model].maxReferenceImages : IMAGE_MODELS['gemini-2.5-flash-image'].maxReferenceImages;
  if (count > limit) {
    throw new ValidationError(`At most ${limit} reference images are allowed for model ${model}`, { field: 'referenceImages', model, limit });
  }
}

/** PUT /project: the defaults must be usable (an allowed model; a size some allowed model has). */
export function checkProjectModelDefaults(settings: ModelSettings, patch: { defaultModel?: string | null; defaultImageSize?: string | null }): void {
  if (patch.defaultModel) requireAllowedModel(settings, patch.defaultModel);
  if (patch.defaultImageSize && !allowedModels(settings).some((m) => m.imageSizes.includes(patch.defaultImageSize as ImageSize))) {
    throw new ValidationError(`defaultImageSize ${patch.defaultImageSize} is not supported by any allowed model`, { field: 'defaultImageSize' });
  }
}
