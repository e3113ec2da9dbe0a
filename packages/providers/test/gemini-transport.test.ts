import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { GeminiTransport } from '../src/gemini-transport.js';

let server: Server | undefined;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1beta/models/m:generateContent`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

const image = randomBytes(30 * 1024);
const answer = JSON.stringify({ candidates: [{ content: { parts: [{ inlineData: { mimeType: 'image/png', data: image.toString('base64') } }] } }] });

describe('GeminiTransport', () => {
  it('sends the SDK request as given and lifts the image of a successful answer', async () => {
    let received: { method?: string; key?: string; body: string } | undefined;
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received = { method: req.method, key: req.headers['x-goog-api-key'] as string, body };
        res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
      });
    });
    const call = new GeminiTransport().call();

    const res = await call.fetch(url, { method: 'POST', headers: new Headers({ 'x-goog-api-key': 'k' }), body: '{"contents":[]}' });

    expect(received).toEqual({ method: 'POST', key: 'k', body: '{"contents":[]}' });
    const parsed = (await res.json()) as { candidates: Array<{ content: { parts: Array<{ inlineData: { data: string } }> } }> };
    const data = parsed.candidates[0]!.content.parts[0]!.inlineData.data;
    expect(data.length).toBeLessThan(100);
    expect(call.take(data)?.equals(image)).toBe(true);
  });

  it('passes an error answer through untouched, for the SDK to read', async () => {
    const url = await serve((_req, res) => res.writeHead(429, 'Too Many Requests', { 'content-type': 'application/json' }).end(answer));

    const res = await new GeminiTransport().call().fetch(url, { method: 'POST', body: '{}' });

    expect([res.status, res.statusText]).toEqual([429, 'Too Many Requests']);
    expect(await res.text()).toBe(answer);
  });

  it("rejects with the signal's reason when aborted while the answer's body is arriving", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(answer.length) });
      res.write(answer.slice(0, 100));
    });
    const controller = new AbortController();

    const pending = new GeminiTransport().call().fetch(url, { method: 'POST', body: '{}', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);

    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
