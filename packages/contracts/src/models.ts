/**
 * The Gemini image models Banatie knows (SPEC §13): one capability table, each
 * fact taken from Google's model documentation (sources per model below and in
 * docs/models.md). Pure data, so the server, the SDK and the Studio share it.
 *
 * Aspect ratios are those of SPEC §4 the model documents; Nano Banana 2's extra
 * ratios (1:4, 4:1, 1:8, 8:1) are documented but not part of the API contract yet.
 */

export const IMAGE_SIZES = ['512', '1K', '2K', '4K'] as const;
export type ImageSize = (typeof IMAGE_SIZES)[number];

/** The size Gemini uses when `imageConfig.imageSize` is absent, so it is not sent. */
export const GEMINI_DEFAULT_IMAGE_SIZE: ImageSize = '1K';

export const IMAGE_MODEL_IDS = ['gemini-2.5-flash-image', 'gemini-3-pro-image-preview', 'gemini-3.1-flash-image-preview'] as const;
export type ImageModelId = (typeof IMAGE_MODEL_IDS)[number];

export interface ImageModelCapabilities {
  id: ImageModelId;
  displayName: string;
  /** Smallest first: the smallest is the default when neither the request nor the project names one. */
  imageSizes: readonly ImageSize[];
  aspectRatios: readonly string[];
  maxReferenceImages: number;
  searchGrounding: boolean;
  /** Served by the Gemini Batch API (`models/{model}:batchGenerateContent`). */
  batch: boolean;
  /** Pages the facts above come from. */
  sources: readonly string[];
}

const TEN_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'] as const;

const IMAGE_GENERATION_GUIDE = 'https://ai.google.dev/gemini-api/docs/image-generation';
const BATCH_MODE_GUIDE = 'https://ai.google.dev/gemini-api/docs/batch-mode';

export const IMAGE_MODELS: Readonly<Record<ImageModelId, ImageModelCapabilities>> = {
  'gemini-2.5-flash-image': {
    id: 'gemini-2.5-flash-image',
    displayName: 'Nano Banana (Gemini 2.5 Flash Image)',
    // 1K only: the resolution table lists one size per aspect ratio (1024x1024 for 1:1).
    imageSizes: ['1K'],
    aspectRatios: TEN_RATIOS,
    // "Maximum images per prompt: 3"; no Google Search grounding; Batch API supported.
    maxReferenceImages: 3,
    searchGrounding: false,
    batch: true,
    sources: [
      'https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini/2-5-flash-image',
      'https://ai.google.dev/gemini-api/docs/models#gemini-2.5-flash-image',
      IMAGE_GENERATION_GUIDE,
      BATCH_MODE_GUIDE,
    ],
  },
  'gemini-3-pro-image-preview': {
    id: 'gemini-3-pro-image-preview',
    displayName: 'Nano Banana Pro (Gemini 3 Pro Image Preview)',
    imageSizes: ['1K', '2K', '4K'],
    aspectRatios: TEN_RATIOS,
    // "Maximum images per prompt: 14"; grounding with Google Search; Batch API supported.
    maxReferenceImages: 14,
    searchGrounding: true,
    batch: true,
    sources: [
      'https://docs.cloud.google.com/vertex-ai/generative-ai/docs/models/gemini/3-pro-image',
      'https://ai.google.dev/gemini-api/docs/models#gemini-3-pro-image-preview',
      IMAGE_GENERATION_GUIDE,
      BATCH_MODE_GUIDE,
    ],
  },
  'gemini-3.1-flash-image-preview': {
    id: 'gemini-3.1-flash-image-preview',
    displayName: 'Nano Banana 2 (Gemini 3.1 Flash Image Preview)',
    // "Supported resolutions: 512, 1K, 2K, 4K".
    imageSizes: ['512', '1K', '2K', '4K'],
    aspectRatios: TEN_RATIOS,
    maxReferenceImages: 14,
    searchGrounding: true,
    batch: true,
    sources: [
      'https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/gemini/3-1-flash-image-preview',
      'https://docs.cloud.google.com/vertex-ai/generative-ai/docs/models/gemini/3-1-flash-image',
      IMAGE_GENERATION_GUIDE,
      BATCH_MODE_GUIDE,
    ],
  },
};

/** The most references any known model takes (the request schema's bound; the model's own limit is checked after). */
export const MAX_REFERENCE_IMAGES_ANY_MODEL = Math.max(...Object.values(IMAGE_MODELS).map((m) => m.maxReferenceImages));

export const isImageModelId = (id: string): id is ImageModelId => (IMAGE_MODEL_IDS as readonly string[]).includes(id);

/**
 * Output pixels for the ten ratios at 1K, as the image-generation guide's
 * resolution tables give them for the Gemini 3 image models (2K doubles each
 * side, 4K quadruples it, 512 halves it). Gemini 2.5 Flash Image has its own 1K table.
 */
const GEMINI_3_1K: Record<string, readonly [number, number]> = {
  '1:1': [1024, 1024],
  '2:3': [848, 1264],
  '3:2': [1264, 848],
  '3:4': [896, 1200],
  '4:3': [1200, 896],
  '4:5': [928, 1152],
  '5:4': [1152, 928],
  '9:16': [768, 1376],
  '16:9': [1376, 768],
  '21:9': [1584, 672],
};
const GEMINI_25_1K: Record<string, readonly [number, number]> = {
  '1:1': [1024, 1024],
  '2:3': [832, 1248],
  '3:2': [1248, 832],
  '3:4': [864, 1184],
  '4:3': [1184, 864],
  '4:5': [896, 1152],
  '5:4': [1152, 896],
  '9:16': [768, 1344],
  '16:9': [1344, 768],
  '21:9': [1536, 672],
};
const SIZE_SCALE: Record<ImageSize, number> = { '512': 0.5, '1K': 1, '2K': 2, '4K': 4 };

/** Width and height of the image the model returns; undefined for a ratio outside the tables. */
export function outputPixels(model: string, imageSize: ImageSize, aspectRatio: string): { width: number; height: number } | undefined {
  const base = (model === 'gemini-2.5-flash-image' ? GEMINI_25_1K : GEMINI_3_1K)[aspectRatio];
  if (!base) return undefined;
  const scale = SIZE_SCALE[imageSize];
  return { width: Math.round(base[0] * scale), height: Math.round(base[1] * scale) };
}
