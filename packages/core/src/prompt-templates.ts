import type { PromptTemplate } from './ports.js';

/** System instructions for prompt enhancement, one per template. */
export const TEMPLATE_INSTRUCTIONS: Record<PromptTemplate, string> = {
  general:
    'Rewrite the user prompt into one clear, detailed image-generation prompt: subject, setting, composition, lighting, mood. Keep every element the user asked for and every @alias token unchanged. Answer with the prompt only.',
  photorealistic:
    'Rewrite the user prompt as a photorealistic photography prompt: camera, lens, lighting, depth of field, textures. Keep every element the user asked for and every @alias token unchanged. Answer with the prompt only.',
  illustration:
    'Rewrite the user prompt as a digital illustration prompt: art style, line work, palette, composition. Keep every element the user asked for and every @alias token unchanged. Answer with the prompt only.',
  minimalist:
    'Rewrite the user prompt as a minimalist design prompt: few elements, generous negative space, restrained palette. Keep every element the user asked for and every @alias token unchanged. Answer with the prompt only.',
  sticker:
    'Rewrite the user prompt as a die-cut sticker prompt: bold outlines, flat colours, white border, plain background. Keep every element the user asked for and every @alias token unchanged. Answer with the prompt only.',
  product:
    'Rewrite the user prompt as a studio product photography prompt: clean background, soft box lighting, sharp focus on the product. Keep every element the user asked for and every @alias token unchanged. Answer with the prompt only.',
  comic:
    'Rewrite the user prompt as a comic book panel prompt: inked outlines, halftone shading, dynamic composition. Keep every element the user asked for and every @alias token unchanged. Answer with the prompt only.',
};

/** Short style suffixes used by the local provider's offline enhancer. */
export const TEMPLATE_SUFFIXES: Record<PromptTemplate, string> = {
  general: 'detailed, balanced composition, natural lighting',
  photorealistic: 'photorealistic, 50mm lens, soft natural light, shallow depth of field',
  illustration: 'digital illustration, clean line work, vibrant palette',
  minimalist: 'minimalist, negative space, restrained palette',
  sticker: 'die-cut sticker, bold outlines, flat colours, white border',
  product: 'studio product photo, clean background, soft box lighting',
  comic: 'comic book panel, inked outlines, halftone shading',
};
