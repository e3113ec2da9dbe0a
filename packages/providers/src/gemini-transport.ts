import http from 'node:http';
import https from 'node:https';
import { MIN_LIFTED_LENGTH, liftInlineData } from './inline-data.js';
const PLACEHOLDER_PREFIX = 'banatie-inline-data:';
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export interface InlineDataCall {
  /** For the SDK's `httpOptions.fetch`: a successful answer comes back with its large inline data lifted. */
  fetch: typeof fetch;
  /** The bytes behind a placeholder, or undefined when `data` is ordinary base64 left in the JSON. */
  take(data: string): Buffer | undefined;
}

interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  body: Buffer;
}

/**
 * How the Gemini SDK reaches the API: node:http(s) over keep-alive agents, the
 * whole answer read into one Buffer, and its large inline data lifted before the
 * SDK parses it (inline-data.ts). For a ~270 KB answer undici's fetch spent about
 * twice the CPU, reading the body through web streams. The SDK still builds the
 * request, checks the status and converts the answer.
 */
export class GeminiTransport {
  private readonly agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

  /** One per call: the lifted bytes live as long as the call's answer. */
  call(): InlineDataCall {
    const lifted = new Map<string, Buffer>();
    const place = (bytes: Buffer): string => {
      const placeholder = `${PLACEHOLDER_PREFIX}${lifted.size}`;
      lifted.set(placeholder, bytes);
      return placeholder;
    };
    return {
      fetch: async (input, init) => {
        if (input instanceof Request || !isSimpleBody(init?.body)) return fetch(input, init);
        const answer = await this.send(new URL(input), init ?? {}).catch((err: unknown) => {
          // Like fetch: an aborted call rejects with the signal's reason, also while the body is read
          // (node:http reports that as a reset connection).
          throw init?.signal?.aborted ? init.signal.reason : err;
        });
        const ok = answer.status >= 200 && answer.status < 300;
        const body = NULL_BODY_STATUSES.has(answer.status) ? null : ok ? liftInlineData(answer.body, MIN_LIFTED_LENGTH, place) : answer.body;
        return new Response(body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
      },
      take: (data) => lifted.get(data),
    };
  }

  private async send(url: URL, init: RequestInit): Promise<Answer> {
    const agent = this.agents[url.protocol as keyof GeminiTransport['agents']];
    if (!agent) throw new TypeError(`Unsupported protocol ${url.protocol}`);
    const body = init.body as string | Uint8Array | null | undefined;
    const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers));
    if (body != null) headers['content-length'] = String(Buffer.byteLength(body));
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: init.method ?? 'GET',
      headers,
      agent,
      signal: init.signal ?? undefined,
    });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      request.on('error', reject);
    });
    request.end(body ?? undefined);
    const res = await response;
    return { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: headersOf(res.rawHeaders), body: await readAll(res) };
  }
}

/** Chunks joined once (node:stream/consumers' `buffer` goes through a Blob: two more copies). */
async function readAll(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function isSimpleBody(body: unknown): boolean {
  return body == null || typeof body === 'string' || body instanceof Uint8Array;
}

function headersOf(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}
