import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { liftInlineData } from '../src/inline-data.js';

const MIN = 64;

/** Lifts with numbered placeholders and returns the parsed rest plus what was lifted. */
function lift(json: string, min = MIN): { parsed: unknown; lifted: Buffer[]; same: boolean } {
  const body = Buffer.from(json);
  const lifted: Buffer[] = [];
  const out = liftInlineData(body, min, (bytes) => {
    lifted.push(bytes);
    return `lifted:${lifted.length - 1}`;
  });
  return { parsed: JSON.parse(out.toString()), lifted, same: out === body };
}

function answer(parts: unknown[], space?: number): string {
  return JSON.stringify({ candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP' }] }, null, space);
}

describe('liftInlineData', () => {
  const image = randomBytes(300);
  const base64 = image.toString('base64');

  it('replaces a large data value by a placeholder and decodes its bytes', () => {
    const { parsed, lifted } = lift(answer([{ inlineData: { mimeType: 'image/png', data: base64 } }]));
    expect(lifted).toHaveLength(1);
    expect(lifted[0]!.equals(image)).toBe(true);
    expect(parsed).toEqual(JSON.parse(answer([{ inlineData: { mimeType: 'image/png', data: 'lifted:0' } }])));
  });

  it('reads pretty-printed JSON as Gemini sends it, and every part of it', () => {
    const draft = randomBytes(200);
    const json = answer(
      [
        { inlineData: { mimeType: 'image/png', data: draft.toString('base64') }, thought: true },
        { text: 'Here is the image' },
        { inlineData: { mimeType: 'image/png', data: base64 } },
      ],
      2,
    );
    expect(json).toContain('"data": "');
    const { parsed, lifted } = lift(json);
    expect(lifted.map((b) => b.toString('hex'))).toEqual([draft.toString('hex'), image.toString('hex')]);
    const parts = (parsed as { candidates: Array<{ content: { parts: Array<{ inlineData?: { data: string } }> } }> }).candidates[0]!.content.parts;
    expect(parts.map((p) => p.inlineData?.data)).toEqual(['lifted:0', undefined, 'lifted:1']);
  });

  it('decodes a value longer than one decoding slice (49 152 characters) byte for byte', () => {
    const big = randomBytes(200 * 1024 + 1);
    const { lifted } = lift(answer([{ inlineData: { mimeType: 'image/png', data: big.toString('base64') } }]));
    expect(lifted).toHaveLength(1);
    expect(lifted[0]!.equals(big)).toBe(true);
  });

  it('leaves short values, other keys and non-string values alone', () => {
    const short = randomBytes(30).toString('base64');
    for (const json of [
      answer([{ inlineData: { mimeType: 'image/png', data: short } }]),
      JSON.stringify({ other: base64 }),
      JSON.stringify({ data: [base64] }),
      JSON.stringify({ data: { data2: base64 } }),
      JSON.stringify({ metadata: base64 }),
    ]) {
      const { lifted, same } = lift(json);
      expect(lifted).toHaveLength(0);
      expect(same).toBe(true);
    }
  });

  it('does not mistake "data" inside a text value for a key', () => {
    const json = answer([{ text: `the "data": "${base64}" field` }]);
    const { lifted, parsed } = lift(json);
    expect(lifted).toHaveLength(0);
    expect(parsed).toEqual(JSON.parse(json));
  });

  it('leaves escaped, unpadded and non-base64 values to the ordinary parser', () => {
    const escaped = JSON.stringify({ data: base64 }).replaceAll('/', '\\/');
    const unpadded = JSON.stringify({ data: randomBytes(301).toString('base64').replace(/=+$/, '') });
    const stray = JSON.stringify({ data: `${base64.slice(0, 100)}!!!!${base64.slice(104)}` });
    for (const json of [escaped, unpadded, stray]) {
      const { lifted, parsed } = lift(json);
      expect(lifted).toHaveLength(0);
      expect(parsed).toEqual(JSON.parse(json));
    }
  });

  it('keeps a value after an escaped quote in the text that precedes it', () => {
    const json = JSON.stringify({ text: 'say \\"hi\\" and "bye"', data: base64 });
    const { lifted, parsed } = lift(json);
    expect(lifted[0]!.equals(image)).toBe(true);
    expect(parsed).toEqual({ text: 'say \\"hi\\" and "bye"', data: 'lifted:0' });
  });
});
