/*
 * Gemini sends images as base64 strings inside its JSON answer. Read with
 * `response.json()`, each image becomes two JavaScript strings of ~1.4× its size
 * (the decoded body, then the parsed value) before the base64 decode: strings that
 * large are allocated outside V8's young generation, on fresh pages, and on the
 * worker that cost more CPU than the rest of a job. This fetch wrapper lifts the
 * large `"data"` strings out of the body bytes, decodes them straight into
 * Buffers, and hands the SDK the rest of the answer with a short placeholder in
 * their place; `take` turns a placeholder back into the bytes.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
/** Smaller `"data"` values are left in the JSON: lifting them saves nothing. */
const DEFAULT_MIN_LENGTH = 16 * 1024;
/** Base64 is decoded in slices short enough to stay ordinary young-generation strings (a multiple of 4). */
const SLICE_CHARS = 48 * 1024;
const PLACEHOLDER_PREFIX = 'banatie-inline-data:';

export interface InlineDataCapture {
  /** A fetch for the SDK's `httpOptions.fetch`: successful answers come back with their large inline data lifted. */
  fetch: typeof fetch;
  /** The bytes behind a placeholder, or undefined when `data` is ordinary base64 left in the JSON. */
  take(data: string): Buffer | undefined;
}

/** One capture per call: the lifted bytes live as long as the call's answer. */
export function captureInlineData(minLength = DEFAULT_MIN_LENGTH): InlineDataCapture {
  const lifted = new Map<string, Buffer>();
  return {
    fetch: async (input, init) => {
      const response = await fetch(input, { ...init, dispatcher: NO_TIMEOUT_DISPATCHER } as RequestInit);
      if (!response.ok) return response;
      const body = Buffer.from(await response.arrayBuffer());
      const rewritten = liftInlineData(body, minLength, (bytes) => {
        const placeholder = `${PLACEHOLDER_PREFIX}${lifted.size}`;
        lifted.set(placeholder, bytes);
        return placeholder;
      });
      return new Response(rewritten, { status: response.status, statusText: response.statusText, headers: response.headers });
    },
    take: (data) => lifted.get(data),
  };
}

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

/**
 * What the SDK gives its own requests when it brings the fetch: no undici header
 * or body timeout (GEMINI_TIMEOUT_MS bounds the call). Passing our own fetch
 * turns the SDK's off, so this restores it.
 */
const NO_TIMEOUT_DISPATCHER = {
  dispatch(options: object, handler: unknown): boolean {
    const global = (globalThis as Record<symbol, { dispatch(o: object, h: unknown): boolean } | undefined>)[
      Symbol.for('undici.globalDispatcher.1')
    ];
    if (!global) throw new Error('undici global dispatcher is not available');
    return global.dispatch({ ...options, headersTimeout: 0, bodyTimeout: 0 }, handler);
  },
};
