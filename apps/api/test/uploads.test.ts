import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { call, cdnPath, png, storedKeys, upload } from './image-helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local', worker: false });
});
afterAll(async () => stack?.close());

const FIVE_MB = 5 * 1024 * 1024;

async function imageCount(): Promise<number> {
  const r = await stack.db.selectFrom('images').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A valid PNG padded with a trailing chunk-free tail to an exact size (decoders ignore bytes after IEND). */
async function pngOfSize(bytes: number): Promise<Buffer> {
  const base = await png(8, 8);
  return Buffer.concat([base, Buffer.alloc(bytes - base.length, 0)]);
}

/** A small, well-formed PNG whose header declares width × height (a decompression bomb's shape). */
function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(4096))), pngChunk('IEND', Buffer.alloc(0))]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
  return Buffer.concat([len, Buffer.from(type), data, crc]);
}

/** The EXIF GPS IFD pointer tag (0x8825), in either byte order. */
function hasGpsIfd(bytes: Buffer | undefined): boolean {
  return !!bytes && (bytes.includes(Buffer.from([0x88, 0x25])) || bytes.includes(Buffer.from([0x25, 0x88])));
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('POST /api/v1/images/upload', () => {
  it('stores a PNG: 201 with the image object, bytes served at its url, a new flow', async () => {
    const data = await png(40, 30);
    const res = await upload(stack, { alias: '@logo', meta: '{"team":"brand"}' }, { data });
    expect(res.statusCode).toBe(201);
    const img = res.json().data;
    expect(img).toMatchObject({ source: 'uploaded', mimeType: 'image/png', width: 40, height: 30, alias: '@logo', generationId: null, meta: { team: 'brand' }, version: 1, flowAliases: [], focalPoint: null });
    expect(img.flowId).toMatch(/^[0-9a-f-]{36}$/);
    expect(img.url).toBe(`http://cdn.test/cdn/acme/site/img/${img.id}`);
    const served = await stack.app.inject({ method: 'GET', url: cdnPath(img.url) });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/png');
    expect(served.rawPayload.length).toBe(img.fileSize);
    expect(await storedKeys(stack)).toContain(`${img.projectId}/${img.id}`);
  });

  it('accepts JPEG and WebP by their bytes, whatever the declared type', async () => {
    const jpeg = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#00f' } }).jpeg().toBuffer();
    const webp = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#0f0' } }).webp().toBuffer();
    const a = await upload(stack, { flowId: 'null' }, { data: jpeg, contentType: 'application/octet-stream', filename: 'x.bin' });
    const b = await upload(stack, { flowId: 'null' }, { data: webp, contentType: 'image/png' });
    expect([a.statusCode, a.json().data.mimeType, a.json().data.flowId]).toEqual([201, 'image/jpeg', null]);
    expect([b.statusCode, b.json().data.mimeType]).toEqual([201, 'image/webp']);
  });

  it('with flowId and flowAlias: joins the flow and sets the flow alias', async () => {
    const first = (await upload(stack, {}, { data: await png() })).json().data;
    const res = await upload(stack, { flowId: first.flowId, flowAlias: '@bg' }, { data: await png(10, 10) });
    expect(res.statusCode).toBe(201);
    expect(res.json().data).toMatchObject({ flowId: first.flowId, flowAliases: ['@bg'] });
    const flow = (await call(stack, 'GET', `/api/v1/flows/${first.flowId}`)).json().data;
    expect(flow.aliases).toEqual({ '@bg': res.json().data.id });
  });

  it('strips EXIF/GPS and applies the orientation', async () => {
    const withGps = await sharp({ create: { width: 60, height: 20, channels: 3, background: '#888' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .withExifMerge({ IFD0: { Make: 'SpyCam' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 7/1' } })
      .toBuffer();
    const before = await sharp(withGps).metadata();
    expect(hasGpsIfd(before.exif)).toBe(true);
    expect(withGps.includes(Buffer.from('SpyCam'))).toBe(true);
    expect(before.orientation).toBe(6);

    const res = await upload(stack, {}, { data: withGps, contentType: 'image/jpeg', filename: 'photo.jpg' });
    expect(res.statusCode).toBe(201);
    const img = res.json().data;
    const stored = (await stack.app.inject({ method: 'GET', url: cdnPath(img.url) })).rawPayload;
    const after = await sharp(stored).metadata();
    expect(after.exif).toBeUndefined();
    expect(hasGpsIfd(stored)).toBe(false);
    expect(after.orientation).toBeUndefined();
    expect(stored.includes(Buffer.from('SpyCam'))).toBe(false);
    // Orientation 6 (rotate 90°) applied: 60×20 becomes 20×60.
    expect([after.width, after.height, img.width, img.height]).toEqual([20, 60, 20, 60]);
  });

  it('ignores a path-traversal filename: the key is made by the server', async () => {
    const before = await storedKeys(stack);
    const res = await upload(stack, {}, { data: await png(), filename: '../../../../etc/passwd.png' });
    expect(res.statusCode).toBe(201);
    const img = res.json().data;
    const after = await storedKeys(stack);
    expect(after.filter((k) => !before.includes(k))).toEqual([`${img.projectId}/${img.id}`]);
    expect(after.every((k) => !k.startsWith('..') && !k.includes('passwd'))).toBe(true);
  });

  const bad: Array<[string, () => Promise<{ data: Buffer; contentType?: string }>, number, string, RegExp]> = [
    ['5 MB + 1 byte', async () => ({ data: await pngOfSize(FIVE_MB + 1) }), 413, 'FILE_TOO_LARGE', /^File too large$/],
    ['an empty file', async () => ({ data: Buffer.alloc(0) }), 400, 'VALIDATION_ERROR', /empty/],
    ['HTML labelled image/png', async () => ({ data: Buffer.from('<!doctype html><html><script>alert(1)</script></html>') }), 415, 'UNSUPPORTED_MEDIA_TYPE', /PNG, JPEG and WebP/],
    ['SVG labelled image/png', async () => ({ data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>') }), 415, 'UNSUPPORTED_MEDIA_TYPE', /PNG, JPEG and WebP/],
    ['a GIF', async () => ({ data: await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } }).gif().toBuffer(), contentType: 'image/gif' }), 415, 'UNSUPPORTED_MEDIA_TYPE', /PNG, JPEG and WebP/],
    ['a truncated PNG', async () => ({ data: (await sharp({ create: { width: 200, height: 200, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 50 } } }).png().toBuffer()).subarray(0, 400) }), 400, 'VALIDATION_ERROR', /corrupt or truncated/],
    ['a PNG declaring 20000×20000', async () => ({ data: pngDeclaring(20000, 20000) }), 400, 'VALIDATION_ERROR', /dimensions too large/],
    ['a PNG declaring 8000×6000 (48 MP)', async () => ({ data: pngDeclaring(8000, 6000) }), 400, 'VALIDATION_ERROR', /dimensions too large/],
  ];

  it.each(bad)('%s → %i %s, nothing stored', async (_name, make, status, code, message) => {
    const keysBefore = await storedKeys(stack);
    const imagesBefore = await imageCount();
    const file = await make();
    const res = await upload(stack, { alias: '@never' }, { data: file.data, contentType: file.contentType ?? 'image/png' });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(res.json().error.message).toMatch(message);
    expect(await storedKeys(stack)).toEqual(keysBefore);
    expect(await imageCount()).toBe(imagesBefore);
  });

  it('exactly 5 MB is accepted', async () => {
    const res = await upload(stack, { flowId: 'null' }, { data: await pngOfSize(FIVE_MB) });
    expect(res.statusCode).toBe(201);
  });

  const badForms: Array<[string, Record<string, string>, boolean, number, string]> = [
    ['no file', { alias: '@x' }, false, 400, 'file is required'],
    ['a bad alias', { alias: 'logo' }, true, 400, 'Invalid alias format: must match @name (letters, digits, _ and -, up to 50 characters)'],
    ['a reserved alias', { alias: '@last' }, true, 400, 'Alias @last is reserved'],
    ['flowAlias with flowId null', { flowId: 'null', flowAlias: '@a' }, true, 400, 'flowAlias cannot be used with flowId: null'],
    ['a malformed flowId', { flowId: 'abc' }, true, 400, 'flowId must be a UUID or null'],
    ['an unknown flowId', { flowId: '00000000-0000-4000-8000-000000000000' }, true, 404, 'Flow not found'],
    ['meta that is not JSON', { meta: '{nope' }, true, 400, 'meta must be a JSON object'],
    ['meta with a NUL character', { meta: '{"a":"\\u0000"}' }, true, 400, 'meta must not contain NUL characters'],
    ['an unknown field', { colour: 'red' }, true, 400, 'Unknown field "colour"'],
  ];

  it.each(badForms)('%s → %i', async (_name, fields, withFile, status, message) => {
    const keysBefore = await storedKeys(stack);
    const res = await upload(stack, fields, withFile ? { data: await png() } : undefined);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.message).toBe(message);
    expect(await storedKeys(stack)).toEqual(keysBefore);
  });

  it.each([
    ['no boundary', 'multipart/form-data', 'garbage'],
    ['no parts', 'multipart/form-data; boundary=x', 'garbage'],
    ['a file cut off mid-part', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc'],
    ['a malformed part header', 'multipart/form-data; boundary=x', '--x\r\nno header here\r\n\r\nabc\r\n--x--\r\n'],
  ])('a malformed form (%s) is 400, never 500', async (_n, contentType, body) => {
    const res = await stack.app.inject({ method: 'POST', url: '/api/v1/images/upload', headers: { 'x-api-key': stack.key.key, 'content-type': contentType }, payload: body });
    expect([res.statusCode, res.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
  });

  it('a JSON body is 415, no key is 401', async () => {
    const json = await call(stack, 'POST', '/api/v1/images/upload', { file: 'x' });
    expect([json.statusCode, json.json().error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const noKey = await upload(stack, {}, { data: await png() }, 'bnt_wrong');
    expect(noKey.statusCode).toBe(401);
  });

  it('an upload alias takes over the alias from its previous holder', async () => {
    const a = (await upload(stack, { alias: '@brand' }, { data: await png(5, 5) })).json().data;
    const b = (await upload(stack, { alias: '@brand' }, { data: await png(6, 6) })).json().data;
    expect(b.alias).toBe('@brand');
    expect((await call(stack, 'GET', `/api/v1/images/${a.id}`)).json().data.alias).toBeNull();
  });
});

describe('over a real socket', () => {
  it('an oversized upload is answered 413 without reading it all, and the server keeps serving', async () => {
    const address = await stack.app.listen({ port: 0, host: '127.0.0.1' });
    const keysBefore = await storedKeys(stack);
    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc(FIVE_MB * 3, 1)], { type: 'image/png' }), 'big.png');
    const res = await fetch(`${address}/api/v1/images/upload`, { method: 'POST', headers: { 'x-api-key': stack.key.key }, body: form });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: unknown }).error).toEqual({ code: 'FILE_TOO_LARGE', message: 'File too large' });
    expect(await storedKeys(stack)).toEqual(keysBefore);
    const okForm = new FormData();
    okForm.append('file', new Blob([await png()], { type: 'image/png' }), 'ok.png');
    const ok = await fetch(`${address}/api/v1/images/upload`, { method: 'POST', headers: { 'x-api-key': stack.key.key }, body: okForm });
    expect(ok.status).toBe(201);
  });
});
