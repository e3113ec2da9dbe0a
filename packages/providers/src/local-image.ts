import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { OverlayOptions } from 'sharp';
import { ProviderError } from '@banatie/core';
import type { InputImage } from '@banatie/core';
import { GEMINI_DEFAULT_IMAGE_SIZE, outputPixels, type ImageSize } from '@banatie/contracts';

const LONG_SIDE = 1024;
const MAX_TEXT_LINES = 14;
const THUMB_BORDER = 4;

export interface Size {
  width: number;
  height: number;
}

interface Layout extends Size {
  margin: number;
  thumbSize: number;
  fontSize: number;
}

/** Long side 1024 px, the other side rounded: 16:9 → 1024x576, 21:9 → 1024x439. */
export function sizeForAspectRatio(aspectRatio: string): Size {
  const match = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(aspectRatio);
  const w = Number(match?.[1]);
  const h = Number(match?.[2]);
  if (!match || !(w > 0) || !(h > 0)) {
    throw new ProviderError('PROVIDER_REJECTED', `Unsupported aspect ratio "${aspectRatio}"`, false);
  }
  return w >= h
    ? { width: LONG_SIDE, height: Math.max(1, Math.round((LONG_SIDE * h) / w)) }
    : { width: Math.max(1, Math.round((LONG_SIDE * w) / h)), height: LONG_SIDE };
}

/**
 * The size the real model returns (the capability table's pixel tables);
 * without a model (rows from before models were chosen), long side 1024.
 */
export function outputSize(aspectRatio: string, model?: string, imageSize: ImageSize = GEMINI_DEFAULT_IMAGE_SIZE): Size {
  return (model && outputPixels(model, imageSize, aspectRatio)) || sizeForAspectRatio(aspectRatio);
}

/** Deterministic PNG: gradient from the prompt's hash, the prompt text, references in a row at the bottom. */
export async function drawLocalImage(prompt: string, size: Size, references: InputImage[]): Promise<Buffer> {
  const layout = computeLayout(size, references.length);
  const digest = createHash('sha256').update(prompt, 'utf8').digest();
  const thumbs = await Promise.all(references.map((ref, i) => thumbnail(ref, i, layout)));
  const overlay: OverlayOptions = { input: Buffer.from(buildSvg(prompt, digest, layout)), top: 0, left: 0 };
  return sharp({ create: { width: layout.width, height: layout.height, channels: 3, background: '#000000' } })
    .composite([overlay, ...thumbs])
    .png()
    .toBuffer();
}

function computeLayout(size: Size, referenceCount: number): Layout {
  const margin = Math.round(size.width * 0.03);
  const fontSize = Math.max(12, Math.round(size.width / 30));
  const fitWidth = Math.floor((size.width - margin * (referenceCount + 1)) / Math.max(1, referenceCount));
  const thumbSize = referenceCount ? Math.max(8, Math.min(Math.round(size.height * 0.25), fitWidth)) : 0;
  return { ...size, margin, fontSize, thumbSize };
}

async function thumbnail(ref: InputImage, index: number, layout: Layout): Promise<OverlayOptions> {
  const inner = layout.thumbSize - 2 * THUMB_BORDER;
  try {
    const input = await sharp(ref.data)
      .rotate()
      .resize(inner, inner, { fit: 'cover' })
      .extend({ top: THUMB_BORDER, bottom: THUMB_BORDER, left: THUMB_BORDER, right: THUMB_BORDER, background: '#ffffff' })
      .png()
      .toBuffer();
    const left = layout.margin + index * (layout.thumbSize + layout.margin);
    return { input, left, top: layout.height - layout.thumbSize - layout.margin };
  } catch (err) {
    throw new ProviderError('PROVIDER_REJECTED', `Reference image ${index + 1} could not be decoded`, false, {
      cause: err,
    });
  }
}

function buildSvg(prompt: string, digest: Buffer, layout: Layout): string {
  const { width, height, margin, fontSize } = layout;
  const hue = (digest[0] * 256 + digest[1]) % 360;
  const from = hsl(hue, 65, 45);
  const to = hsl((hue + 60 + (digest[2] % 120)) % 360, 70, 25);
  const circles = [0, 1, 2].map((i) => circle(digest.subarray(3 + i * 4, 7 + i * 4), layout)).join('');
  const textBottom = height - margin - (layout.thumbSize ? layout.thumbSize + margin : 0);
  const lineHeight = Math.round(fontSize * 1.3);
  const maxLines = Math.max(1, Math.min(MAX_TEXT_LINES, Math.floor((textBottom - margin * 2) / lineHeight)));
  const maxChars = Math.max(4, Math.floor((width - margin * 4) / (fontSize * 0.6)));
  const lines = wrapText(cleanText(prompt), maxChars, maxLines);
  const boxHeight = lines.length * lineHeight + margin;
  const text = lines
    .map((line, i) => `<tspan x="${margin * 2}" y="${margin * 1.5 + fontSize + i * lineHeight}">${escapeXml(line)}</tspan>`)
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">`,
    `<stop offset="0" stop-color="${from}"/><stop offset="1" stop-color="${to}"/></linearGradient></defs>`,
    `<rect width="${width}" height="${height}" fill="url(#bg)"/>`,
    circles,
    `<rect x="${margin}" y="${margin}" width="${width - margin * 2}" height="${boxHeight}" rx="${margin / 2}" fill="#000000" fill-opacity="0.45"/>`,
    `<text font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#ffffff">${text}</text>`,
    `</svg>`,
  ].join('');
}

function circle(bytes: Buffer, { width, height }: Size): string {
  const cx = Math.round((bytes[0] / 255) * width);
  const cy = Math.round((bytes[1] / 255) * height);
  const r = Math.round(((bytes[2] / 255) * 0.3 + 0.05) * Math.min(width, height));
  return `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${hsl((bytes[3] * 360) / 256, 60, 60)}" fill-opacity="0.35"/>`;
}

function hsl(h: number, s: number, l: number): string {
  const sat = s / 100;
  const light = l / 100;
  const a = sat * Math.min(light, 1 - light);
  const channel = (n: number): string => {
    const k = (n + h / 30) % 12;
    const value = light - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

/** Drops what XML 1.0 cannot carry (control characters, lone surrogates) and collapses whitespace. */
function cleanText(text: string): string {
  return text
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Greedy wrap on grapheme clusters (so emoji sequences are never split); wide glyphs count double. */
function wrapText(text: string, maxChars: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  let lineWidth = 0;
  for (const { segment } of segmenter.segment(text)) {
    const w = glyphWidth(segment);
    if (lineWidth + w > maxChars) {
      const breakAt = line.lastIndexOf(' ');
      const carry = breakAt > maxChars / 2 ? line.slice(breakAt + 1) : '';
      lines.push(carry ? line.slice(0, breakAt) : line);
      if (lines.length === maxLines) return ellipsize(lines);
      line = carry;
      lineWidth = textWidth(carry);
    }
    if (line === '' && segment === ' ') continue;
    line += segment;
    lineWidth += w;
  }
  if (line) lines.push(line);
  return lines;
}

function ellipsize(lines: string[]): string[] {
  const last = Array.from(segmenter.segment(lines[lines.length - 1]), (s) => s.segment);
  lines[lines.length - 1] = `${last.slice(0, Math.max(0, last.length - 1)).join('')}…`;
  return lines;
}

function glyphWidth(segment: string): number {
  return (segment.codePointAt(0) ?? 0) >= 0x2e80 ? 2 : 1;
}

function textWidth(text: string): number {
  let width = 0;
  for (const { segment } of segmenter.segment(text)) width += glyphWidth(segment);
  return width;
}
