/*
 * Gemini sends images as base64 strings inside its JSON answer. Read with
 * `response.json()`, each image becomes two JavaScript strings of ~1.4× its size
 * (the decoded body, then the parsed value) before the base64 decode: strings that
 * large are allocated outside V8's young generation, on fresh pages, and on the
 * worker that cost more CPU than the rest of a job. Instead the large `"data"`
 * strings are lifted out of the body bytes and decoded straight into Buffers; the
 * SDK parses the rest of the answer with a short placeholder in their place.
 */

/** Smaller `"data"` values are left in the JSON: lifting them saves nothing. */
export const MIN_LIFTED_LENGTH = 16 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
/** Base64 is decoded in slices short enough to stay ordinary young-generation strings (a multiple of 4). */
const SLICE_CHARS = 48 * 1024;

/**
 * Returns `body` with every string value of a `"data"` key at least `minLength`
 * long, unescaped and valid padded base64, replaced by `place(decodedBytes)`.
 * Anything else (escapes, odd lengths, stray characters) stays in the JSON for the
 * ordinary path, so the answer means the same either way.
 */
export function liftInlineData(body: Buffer, minLength: number, place: (bytes: Buffer) => string): Buffer {
  const pieces: Buffer[] = [];
  let copiedUpTo = 0;
  let dataValueAt = -1;
  for (let open = body.indexOf(QUOTE); open !== -1; ) {
    const close = closingQuote(body, open + 1);
    if (close === -1) break;
    const after = skipWhitespace(body, close + 1);
    if (body[after] === COLON) {
      // A key: remember where the value of a "data" key would start.
      dataValueAt = close - open === 5 && body.toString('latin1', open + 1, close) === 'data' ? skipWhitespace(body, after + 1) : -1;
    } else if (open === dataValueAt && close - open - 1 >= minLength) {
      const bytes = decodeBase64(body, open + 1, close);
      if (bytes) {
        pieces.push(body.subarray(copiedUpTo, open + 1), Buffer.from(place(bytes)));
        copiedUpTo = close;
      }
    }
    open = body.indexOf(QUOTE, close + 1);
  }
  if (copiedUpTo === 0) return body;
  pieces.push(body.subarray(copiedUpTo));
  return Buffer.concat(pieces);
}

/** The quote that ends the string whose contents start at `from` (skipping escaped quotes). */
function closingQuote(body: Buffer, from: number): number {
  let at = body.indexOf(QUOTE, from);
  while (at !== -1 && isEscaped(body, at)) at = body.indexOf(QUOTE, at + 1);
  return at;
}

function isEscaped(body: Buffer, at: number): boolean {
  let backslashes = 0;
  while (body[at - 1 - backslashes] === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}

function skipWhitespace(body: Buffer, at: number): number {
  while (at < body.length && (body[at] === 0x20 || body[at] === 0x0a || body[at] === 0x0d || body[at] === 0x09)) at++;
  return at;
}

/** Padded base64 in body[start, end) decoded slice by slice; undefined unless every character decoded. */
function decodeBase64(body: Buffer, start: number, end: number): Buffer | undefined {
  const length = end - start;
  if (length % 4 !== 0 || body.subarray(start, end).includes(BACKSLASH)) return undefined;
  const padding = (body[end - 1] === 0x3d ? 1 : 0) + (body[end - 2] === 0x3d ? 1 : 0);
  const expected = (length / 4) * 3 - padding;
  const out = Buffer.allocUnsafe(expected);
  let written = 0;
  for (let at = start; at < end && written < expected; at += SLICE_CHARS) {
    written += out.write(body.toString('latin1', at, Math.min(end, at + SLICE_CHARS)), written, 'base64');
  }
  // The decoder skips characters outside the alphabet: fewer bytes means the value was not clean base64.
  return written === expected ? out : undefined;
}
