/** Bounds on any image the service decodes or makes: uploads, CDN renditions and every intermediate of theirs. */
export const MAX_UPLOAD_SIDE = 8192;
export const MAX_UPLOAD_PIXELS = 40_000_000;

/** True when a width×height image stays inside the upload limits. */
export const withinImageLimits = (width: number, height: number): boolean =>
  width >= 1 && height >= 1 && width <= MAX_UPLOAD_SIDE && height <= MAX_UPLOAD_SIDE && width * height <= MAX_UPLOAD_PIXELS;
